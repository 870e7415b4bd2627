import { KEY_VERSION } from '../key.ts';

/**
 * What can be read back from an engine key (`gc1:<namespace>[~<tenant hash>]:<host><target>[ p=<hash>]
 * [ v=<epoch>…][ h=<digest>]`) without any secret: the namespace, the tenant's hash and whether the
 * key belongs to a partition. The engine escapes spaces and control characters in targets, so
 * ` p=`, ` v=` and ` h=` only ever appear where the engine put them.
 */
export interface KeyParts {
  readonly namespace: string;
  /** The tenant's one-way hash, when the key lives in a tenant's namespace. */
  readonly tenant: string | undefined;
  /** True when the key is a partition's (` p=`). */
  readonly partitioned: boolean;
  /**
   * True when the key was too long and its tail was replaced by a digest (` h=`): whether it
   * belonged to a partition can no longer be seen.
   */
  readonly digested: boolean;
}

const PREFIX = `${KEY_VERSION}:`;

/** The parts of an engine key, or undefined for a key in another layout. */
export function parseKey(key: string): KeyParts | undefined {
  if (!key.startsWith(PREFIX)) return undefined;
  const end = key.indexOf(':', PREFIX.length);
  if (end === -1) return undefined;
  const space = key.slice(PREFIX.length, end);
  const tilde = space.indexOf('~');
  return {
    namespace: tilde === -1 ? space : space.slice(0, tilde),
    tenant: tilde === -1 ? undefined : space.slice(tilde + 1),
    partitioned: key.includes(' p='),
    digested: key.includes(' h='),
  };
}

/** The tenant hash of a key, or undefined for the shared (tenant-less) space. */
export function tenantOfKey(key: string): string | undefined {
  return parseKey(key)?.tenant;
}

/**
 * A variant key whose selecting values were replaced by a digest: the engine does that when the
 * response varies on a credential (Authorization, Cookie, X-Api-Key) or the values are long. The
 * entry then stores those raw values in its `vary` metadata, so it is treated as personal.
 */
const DIGESTED_VARIANT = / v=[\w-]{8}[\w-]{22}$/;

/**
 * Whether a key may hold personal data: a partition's key; a key shortened to a digest (its
 * partition marker may have been cut off); a variant selected by digested (possibly credential)
 * values.
 */
export function isPersonalKey(key: string): boolean {
  return key.includes(' p=') || key.includes(' h=') || DIGESTED_VARIANT.test(key);
}
