export { SizingController, createSizingController } from './sizing-controller.ts';
export type {
  MemoryReading,
  ResizeEvent,
  SizingDecision,
  SizingLogger,
  SizingOptions,
  SizingStats,
} from './sizing-controller.ts';
export { ResizableMemoryStore, createResizableMemoryStore } from './resizable-memory-store.ts';
export type { ResizableTier } from './resizable-memory-store.ts';
