import { invalidOption } from '@gatecache/core';
import type { ConnectionOptions, NatsConnection, Subscription } from 'nats';
import { defaultLogger, handleMessage, type EventSource, type SourceOptions } from './source.ts';

export interface NatsSourceOptions extends SourceOptions {
  /** `nats://127.0.0.1:4222`, or a list. */
  readonly servers: string | readonly string[];
  /** Subject to subscribe to (`cache.events`, `cache.>`). */
  readonly subject: string;
  /** Queue group: each event is handled by one member of the group. */
  readonly queue?: string;
  /** Further connection options of the `nats` package. */
  readonly connection?: Omit<ConnectionOptions, 'servers'>;
}

/**
 * Subscribes to a NATS subject. Core NATS delivers at most once and has no acknowledgement: when
 * the publisher asks for a reply (`request`), the reply is sent once the purge is applied
 * (`{"ok":true}`), or `{"ok":false}` when it failed, so the publisher can retry.
 */
export function createNatsSource(options: NatsSourceOptions): EventSource {
  if (typeof options?.subject !== 'string' || options.subject === '')
    throw invalidOption('subject', options?.subject, 'a subject');
  const servers: readonly string[] =
    typeof options.servers === 'string' ? [options.servers] : options.servers;
  if (servers.length === 0 || !servers.every((s) => typeof s === 'string'))
    throw invalidOption('servers', options.servers, 'a nats:// URL or a list of them');
  const logger = options.logger ?? defaultLogger;
  let connection: NatsConnection | undefined;
  let subscription: Subscription | undefined;
  let loop: Promise<void> | undefined;

  return {
    name: 'nats',
    async start() {
      const nats = await import('nats');
      connection = await nats.connect({ ...options.connection, servers: [...servers] });
      const sub = connection.subscribe(
        options.subject,
        options.queue === undefined ? {} : { queue: options.queue },
      );
      subscription = sub;
      loop = (async () => {
        for await (const message of sub) {
          const handled = await handleMessage(options, message.data, logger);
          if (message.reply !== undefined && message.reply !== '') {
            message.respond(
              new TextEncoder().encode(
                JSON.stringify(
                  handled.ok ? { ok: true, outcome: handled.result.outcome } : { ok: false },
                ),
              ),
            );
          }
        }
      })();
      // The subscription is registered with the server once the connection has flushed.
      await connection.flush();
    },
    async close() {
      await subscription?.drain().catch(() => undefined);
      await loop?.catch(() => undefined);
      await connection?.close().catch(() => undefined);
      connection = undefined;
    },
  };
}
