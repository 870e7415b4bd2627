export { Warmer, createWarmer, trafficRecorder } from './warmer.ts';
export type {
  TrafficRecorderOptions,
  UserWarming,
  WarmableCache,
  WarmerOptions,
  WarmingLogger,
  WarmOutcome,
  WarmReport,
} from './warmer.ts';
export { parseCron } from './cron.ts';
export type { CronOptions, CronSchedule } from './cron.ts';
export { TopK } from './top-k.ts';
export type { TopKItem } from './top-k.ts';
export { fromConfig } from './from-config.ts';
export type { WarmingSettings } from './from-config.ts';
