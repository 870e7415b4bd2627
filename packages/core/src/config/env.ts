/** Variables for `${NAME}` interpolation; `process.env` unless the caller passes its own. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${NAME}`, `${NAME:-default}` (default when unset or empty, as in POSIX sh) and
 * `${NAME-default}` (default only when unset); `$${` is a literal `${`. Interpolation runs on each
 * parsed string value, never on the file text, so a variable's value cannot inject YAML.
 * Throws a plain Error (the validator adds the field path) for an unset variable without default.
 */
export function interpolateEnv(text: string, env: ConfigEnv): string {
  if (!text.includes('$')) return text;
  let out = '';
  let at = 0;
  while (at < text.length) {
    const dollar = text.indexOf('$', at);
    if (dollar === -1) {
      out += text.slice(at);
      break;
    }
    out += text.slice(at, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      at = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      at = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar);
    if (close === -1) throw new Error('has an unclosed "${"; write "$${" for a literal "${"');
    const expression = text.slice(dollar + 2, close);
    const operator = /:?-/.exec(expression);
    const name = operator === null ? expression : expression.slice(0, operator.index);
    if (!NAME.test(name)) {
      throw new Error(`has "\${${expression}}", which is not a variable name`);
    }
    const value = env[name];
    if (operator === null) {
      if (value === undefined) {
        throw new Error(
          `needs the environment variable ${name}, which is not set; set it or write "\${${name}:-default}"`,
        );
      }
      out += value;
    } else {
      const fallback = expression.slice(operator.index + operator[0].length);
      const useFallback =
        operator[0] === ':-' ? value === undefined || value === '' : value === undefined;
      out += useFallback ? fallback : (value ?? '');
    }
    at = close + 1;
  }
  return out;
}
