export { createEventDispatcher } from './dispatcher.ts';
export type {
  DispatchResult,
  EventDispatcher,
  EventDispatcherOptions,
  EventLogger,
  InvalidationSink,
} from './dispatcher.ts';
export { parseCondition } from './condition.ts';
export type { Condition, Resolve } from './condition.ts';
export { parseTemplate, expandTemplate } from './template.ts';
export type { Template, TemplatePart } from './template.ts';
export type { EventSource, SourceOptions } from './source.ts';
export { createRabbitMqSource } from './rabbitmq-source.ts';
export type { RabbitMqSourceOptions } from './rabbitmq-source.ts';
export { createNatsSource } from './nats-source.ts';
export type { NatsSourceOptions } from './nats-source.ts';
export { createRedisEventSource } from './redis-source.ts';
export type { RedisEventSourceOptions } from './redis-source.ts';
