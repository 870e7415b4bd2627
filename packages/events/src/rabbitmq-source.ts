import { invalidOption } from '@gatecache/core';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { defaultLogger, handleMessage, type EventSource, type SourceOptions } from './source.ts';

export interface RabbitMqSourceOptions extends SourceOptions {
  /** `amqp://user:pass@host:5672/vhost` (the seed's `connection`). */
  readonly url: string;
  /** The seed's `queue` (`cache_events`). */
  readonly queue: string;
  /** Declared at start when set (durable by default); false to use an existing queue as it is. */
  readonly assertQueue?: Options.AssertQueue | false;
  /** Exchange bindings made at start: `{ exchange: 'events', routingKey: 'user.#' }`. */
  readonly bindings?: readonly { readonly exchange: string; readonly routingKey: string }[];
  /** Unacknowledged messages in flight. Default 10. */
  readonly prefetch?: number;
  /**
   * Malformed or unknown events: `ack` (default) drops them after logging; `dead-letter` rejects
   * them without requeue, so a queue with a dead-letter exchange keeps them for inspection.
   */
  readonly invalidMessages?: 'ack' | 'dead-letter';
  /** Reconnect after the broker goes away. Default true. */
  readonly reconnect?: boolean;
}

/**
 * Consumes a RabbitMQ queue. A message is acknowledged only after its purge was applied; a purge
 * that fails (the shared store is down) is requeued after `retryDelayMs`.
 */
export function createRabbitMqSource(options: RabbitMqSourceOptions): EventSource {
  if (typeof options?.url !== 'string' || options.url === '')
    throw invalidOption('url', options?.url, 'an amqp:// URL');
  if (typeof options.queue !== 'string' || options.queue === '')
    throw invalidOption('queue', options.queue, 'a queue name');
  const prefetch = options.prefetch ?? 10;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1)
    throw invalidOption('prefetch', prefetch, 'a positive integer');
  const invalidMessages = options.invalidMessages ?? 'ack';
  if (invalidMessages !== 'ack' && invalidMessages !== 'dead-letter') {
    throw invalidOption('invalidMessages', invalidMessages, '"ack" or "dead-letter"');
  }
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const logger = options.logger ?? defaultLogger;
  let connection: ChannelModel | undefined;
  let channel: Channel | undefined;
  let closing = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  const inFlight = new Set<Promise<void>>();

  async function onMessage(ch: Channel, message: ConsumeMessage): Promise<void> {
    const handled = await handleMessage(options, message.content, logger);
    if (ch !== channel) return; // The channel died meanwhile: the broker redelivers.
    try {
      if (!handled.ok) {
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
        if (ch === channel) ch.nack(message, false, true);
        return;
      }
      if (handled.result.outcome === 'rejected' && invalidMessages === 'dead-letter') {
        ch.nack(message, false, false);
        return;
      }
      ch.ack(message);
    } catch (error) {
      logger.warn('[gatecache] could not acknowledge an invalidation event', {
        error: (error as Error).message,
      });
    }
  }

  async function connect(): Promise<void> {
    const amqp = await import('amqplib');
    const conn = await amqp.connect(options.url);
    conn.on('error', (error: Error) =>
      logger.warn('[gatecache] RabbitMQ connection error', { error: error.message }),
    );
    conn.on('close', () => {
      if (connection !== conn) return;
      connection = undefined;
      channel = undefined;
      if (!closing && options.reconnect !== false) scheduleReconnect(500);
    });
    const ch = await conn.createChannel();
    ch.on('error', (error: Error) =>
      logger.warn('[gatecache] RabbitMQ channel error', { error: error.message }),
    );
    await ch.prefetch(prefetch);
    if (options.assertQueue !== false)
      await ch.assertQueue(options.queue, { durable: true, ...options.assertQueue });
    for (const binding of options.bindings ?? []) {
      await ch.bindQueue(options.queue, binding.exchange, binding.routingKey);
    }
    connection = conn;
    channel = ch;
    await ch.consume(
      options.queue,
      (message) => {
        if (message === null) return; // Consumer cancelled by the broker (queue deleted).
        const task = onMessage(ch, message).finally(() => inFlight.delete(task));
        inFlight.add(task);
      },
      { noAck: false },
    );
  }

  function scheduleReconnect(delay: number): void {
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (closing) return;
      connect().catch((error: unknown) => {
        logger.warn('[gatecache] RabbitMQ reconnect failed', { error: (error as Error).message });
        scheduleReconnect(Math.min(delay * 2, 30_000));
      });
    }, delay);
    reconnectTimer.unref?.();
  }

  return {
    name: 'rabbitmq',
    async start() {
      closing = false;
      await connect();
    },
    async close() {
      closing = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      await Promise.allSettled([...inFlight]);
      const conn = connection;
      connection = undefined;
      channel = undefined;
      await conn?.close().catch(() => undefined);
    },
  };
}
