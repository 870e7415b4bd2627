/** RFC 9211 Cache-Status values. `fwd` says why the request went forward to the origin. */
export type ForwardReason =
  'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial';

export interface CacheStatusParts {
  readonly hit?: boolean;
  readonly fwd?: ForwardReason | undefined;
  readonly fwdStatus?: number | undefined;
  /** Remaining freshness in seconds; negative when stale. */
  readonly ttl?: number | undefined;
  readonly stored?: boolean;
  readonly collapsed?: boolean;
  /** A token naming why (bypass reasons, stale-if-error, not-stored reasons). Never user data. */
  readonly detail?: string | undefined;
}

/** Serializes one Cache-Status member (RFC 9211 §2) for this cache. */
export function formatCacheStatus(name: string, parts: CacheStatusParts): string {
  let value = name;
  if (parts.hit === true) value += '; hit';
  if (parts.fwd !== undefined) value += `; fwd=${parts.fwd}`;
  if (parts.fwdStatus !== undefined) value += `; fwd-status=${parts.fwdStatus}`;
  if (parts.stored === true) value += '; stored';
  if (parts.collapsed === true) value += '; collapsed';
  if (parts.ttl !== undefined) value += `; ttl=${Math.trunc(parts.ttl)}`;
  if (parts.detail !== undefined) value += `; detail=${parts.detail}`;
  return value;
}
