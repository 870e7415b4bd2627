import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { invalidOption } from '@gatecache/core';

/** Idle time of a pooled upstream connection when the upstream announces none: below Node's 5 s default server keepAliveTimeout. */
export const DEFAULT_IDLE_TIMEOUT_MS = 4_000;
/** How long before the upstream's announced idle timeout a pooled connection is retired. */
export const DEFAULT_RETIRE_MARGIN_MS = 1_000;

export interface UpstreamAgentOptions {
  /** Idle time of a pooled connection when the upstream sends no `Keep-Alive: timeout=N`. */
  readonly idleTimeoutMs?: number;
  /** Retire a pooled connection this long before the upstream's announced timeout (at most half of it). */
  readonly retireMarginMs?: number;
  /** Connections per upstream host. */
  readonly maxSockets?: number;
}

/** The `Keep-Alive: timeout=N` hint of the last response read on each socket. */
const keepAliveHints = new WeakMap<Duplex, string>();

/**
 * Remembers the upstream's `Keep-Alive` hint for the socket that carried `response`, so the agent
 * can retire that socket before the upstream closes it. Call it when the response head arrives.
 */
export function recordKeepAliveHint(response: IncomingMessage): void {
  const socket = response.socket as Duplex | null;
  if (socket === null) return;
  const hint = response.headers['keep-alive'];
  if (hint === undefined) keepAliveHints.delete(socket);
  else keepAliveHints.set(socket, typeof hint === 'string' ? hint : hint.join(', '));
}

/**
 * How long a pooled connection may stay idle. A request written to a socket the upstream is
 * closing at the same moment fails with ECONNRESET, so idle sockets are retired a margin before
 * the upstream's announced timeout; 0 means "do not reuse".
 */
export function computeIdleTimeoutMs(
  keepAliveHint: string | undefined,
  defaultIdleMs: number = DEFAULT_IDLE_TIMEOUT_MS,
  marginMs: number = DEFAULT_RETIRE_MARGIN_MS,
): number {
  const match =
    keepAliveHint === undefined ? null : /(?:^|[\s,])timeout\s*=\s*(\d+)/i.exec(keepAliveHint);
  if (match?.[1] === undefined) return defaultIdleMs;
  const announcedMs = Number(match[1]) * 1000;
  if (announcedMs <= 0) return 0;
  // The margin is at most half the announced time, so a short upstream timeout still allows reuse.
  return announcedMs - Math.min(marginMs, announcedMs / 2);
}

function validatePositive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw invalidOption(name, value, 'a positive number of milliseconds');
  }
  return value;
}

/**
 * A keep-alive agent that sets each free socket's idle timeout from the upstream's last
 * `Keep-Alive` hint (Node's own agent does this too, but with a fixed 1 s margin that refuses
 * reuse against a 1 s upstream timeout and ignores hints on sockets from other agents).
 */
export function createUpstreamAgent(
  protocol: 'http:' | 'https:',
  options: UpstreamAgentOptions = {},
): http.Agent {
  const idleTimeoutMs = validatePositive(
    'idleTimeoutMs',
    options.idleTimeoutMs,
    DEFAULT_IDLE_TIMEOUT_MS,
  );
  const marginMs = validatePositive(
    'retireMarginMs',
    options.retireMarginMs,
    DEFAULT_RETIRE_MARGIN_MS,
  );
  const base = protocol === 'https:' ? https.Agent : http.Agent;
  class RetiringAgent extends base {
    override keepSocketAlive(socket: Duplex): boolean {
      const idle = computeIdleTimeoutMs(keepAliveHints.get(socket), idleTimeoutMs, marginMs);
      if (idle === 0) return false;
      const net = socket as Duplex & {
        setKeepAlive?(enable: boolean, delay: number): void;
        setTimeout?(ms: number): void;
        unref?(): void;
      };
      net.setKeepAlive?.(true, 1_000);
      // Idle pooled sockets must not keep the process alive.
      net.unref?.();
      // The agent destroys a free socket when its timeout fires.
      net.setTimeout?.(idle);
      return true;
    }
  }
  return new RetiringAgent({
    keepAlive: true,
    scheduling: 'lifo',
    ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
  });
}
