import { randomUUID } from 'node:crypto';
import {
  GatecacheError,
  invalidOption,
  type InvalidationBus,
  type InvalidationMessage,
} from '@gatecache/core';
import { Cluster } from 'ioredis';
import {
  closeOwned,
  resolveClient,
  type OwnedClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './client.ts';

export interface RedisBusOptions extends RedisConnectionOptions {
  /** Pub/sub channel shared by every instance of one cache. Default `'gc1:invalidate'`. */
  readonly channel?: string;
  /** This instance's id; messages carrying it are its own and are not delivered back. Default: a random UUID. */
  readonly instanceId?: string;
  /** Failures of the subscriber connection and malformed messages (never thrown). */
  readonly onError?: (error: Error) => void;
}

export interface RedisBus extends InvalidationBus {
  readonly instanceId: string;
  readonly channel: string;
  close(): Promise<void>;
}

/** What goes over the wire: versioned, with the sender's id. */
interface WireMessage {
  readonly v: 1;
  readonly src: string;
  readonly msg: InvalidationMessage;
}

type Listener = {
  readonly onMessage: (message: InvalidationMessage) => void;
  readonly onReset: () => void;
};

/**
 * Cross-instance invalidation over Redis pub/sub. Publishing uses the command connection;
 * receiving uses a connection of its own (a subscribed connection can do nothing else). Pub/sub
 * delivers at most once and only to connected subscribers, so whenever the subscriber has been
 * disconnected, `onReset` tells the instance to drop its local tier: anything published
 * meanwhile was lost.
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  const channel = options.channel ?? 'gc1:invalidate';
  if (typeof channel !== 'string' || channel.length === 0) {
    throw invalidOption('channel', options.channel, 'a non-empty string');
  }
  const instanceId = options.instanceId ?? randomUUID();
  if (typeof instanceId !== 'string' || instanceId.length === 0) {
    throw invalidOption('instanceId', options.instanceId, 'a non-empty string');
  }
  return new RedisPubSubBus(
    resolveClient(options, 'createRedisBus'),
    channel,
    instanceId,
    options.onError,
  );
}

class RedisPubSubBus implements RedisBus {
  readonly instanceId: string;
  readonly channel: string;
  readonly #publisher: OwnedClient;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #listeners = new Set<Listener>();
  #subscriber: RedisClient | undefined;
  #closed = false;

  constructor(
    publisher: OwnedClient,
    channel: string,
    instanceId: string,
    onError: ((error: Error) => void) | undefined,
  ) {
    this.#publisher = publisher;
    this.channel = channel;
    this.instanceId = instanceId;
    this.#onError = onError;
  }

  async publish(message: InvalidationMessage): Promise<void> {
    if (!isInvalidationMessage(message)) {
      throw invalidOption(
        'message',
        message,
        'an InvalidationMessage ({ type: "keys" | "tags" | "all", … })',
      );
    }
    const wire: WireMessage = { v: 1, src: this.instanceId, msg: message };
    try {
      await this.#publisher.client.publish(this.channel, JSON.stringify(wire));
    } catch (error) {
      throw new GatecacheError(
        'ERR_STORE',
        `[gatecache] could not publish an invalidation on "${this.channel}": ${describe(error)}; other instances keep their copies until they expire`,
        { cause: error },
      );
    }
  }

  subscribe(onMessage: (message: InvalidationMessage) => void, onReset: () => void): () => void {
    if (this.#closed)
      throw new GatecacheError('ERR_INVALID_OPTION', '[gatecache] the Redis bus is closed');
    const listener: Listener = { onMessage, onReset };
    this.#listeners.add(listener);
    this.#ensureSubscriber();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await closeOwned({ client: subscriber, owned: true });
    await closeOwned(this.#publisher);
  }

  #ensureSubscriber(): void {
    if (this.#subscriber) return;
    // Subscribing is done here on every `ready`, so that a reset is announced only once the
    // channel is subscribed again and nothing published after it can be missed.
    const publisher = this.#publisher.client;
    const subscriberOptions = {
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
    };
    const subscriber: RedisClient =
      publisher instanceof Cluster
        ? publisher.duplicate([], {
            enableOfflineQueue: true,
            redisOptions: {
              ...publisher.options.redisOptions,
              ...subscriberOptions,
              commandTimeout: undefined,
            },
          })
        : publisher.duplicate(subscriberOptions);
    // A subscriber waits for messages indefinitely: a command timeout would only cut it off.
    if (!(subscriber instanceof Cluster)) delete subscriber.options.commandTimeout;
    this.#subscriber = subscriber;
    let connectedBefore = false;
    let lostSinceReady = false;
    subscriber.on('error', (error: Error) => {
      lostSinceReady = true;
      this.#onError?.(error);
    });
    subscriber.on('close', () => {
      lostSinceReady = true;
    });
    subscriber.on('ready', () => {
      const wasReset = lostSinceReady;
      lostSinceReady = false;
      subscriber.subscribe(this.channel).then(
        () => {
          // The first connection is not a reset unless connecting failed first (Redis was down
          // at startup and this instance may already hold entries another one has purged).
          if (wasReset || connectedBefore) this.#reset();
          connectedBefore = true;
        },
        (error: unknown) => {
          this.#onError?.(error instanceof Error ? error : new Error(String(error)));
          // Force a reconnect so subscribing is tried again.
          subscriber.disconnect(true);
        },
      );
    });
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      this.#deliver(payload);
    });
  }

  #deliver(payload: string): void {
    let wire: unknown;
    try {
      wire = JSON.parse(payload);
    } catch {
      this.#onError?.(
        new GatecacheError(
          'ERR_CORRUPT_ENTRY',
          `[gatecache] ignored a malformed invalidation on "${this.channel}"`,
        ),
      );
      return;
    }
    if (!isWireMessage(wire)) {
      this.#onError?.(
        new GatecacheError(
          'ERR_CORRUPT_ENTRY',
          `[gatecache] ignored an unknown invalidation on "${this.channel}"`,
        ),
      );
      return;
    }
    if (wire.src === this.instanceId) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener.onMessage(wire.msg);
      } catch (error) {
        this.#onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  #reset(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.onReset();
      } catch (error) {
        this.#onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

function isWireMessage(value: unknown): value is WireMessage {
  if (typeof value !== 'object' || value === null) return false;
  const wire = value as Record<string, unknown>;
  return wire.v === 1 && typeof wire.src === 'string' && isInvalidationMessage(wire.msg);
}

/** Checks the fields every receiver relies on; optional fields pass through as sent. */
function isInvalidationMessage(value: unknown): value is InvalidationMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'keys':
      return isStringArray(message.keys);
    case 'tags':
      return isStringArray(message.tags);
    case 'all':
      return true;
    default:
      return false;
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
