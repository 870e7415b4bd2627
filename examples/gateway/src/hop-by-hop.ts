/**
 * Hop-by-hop header fields apply to one connection only and are never forwarded
 * (RFC 9110 §7.6.1): the fixed set below plus every field that `Connection` names.
 */
const ALWAYS_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Lower-cased names of the fields listed in `Connection` (RFC 9110 §7.6.1). */
export function connectionOptions(value: string | readonly string[] | undefined): Set<string> {
  const listed = new Set<string>();
  if (value === undefined) return listed;
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') listed.add(name);
    }
  }
  return listed;
}

/**
 * `Proxy-*` fields (Proxy-Authorization, Proxy-Authenticate, the non-standard Proxy-Connection)
 * address this proxy, not the next hop.
 */
export function isHopByHop(lowerName: string, listed: ReadonlySet<string>): boolean {
  return (
    ALWAYS_HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-') || listed.has(lowerName)
  );
}
