import type { BackgroundRunner } from '@gatecache/core';
import { runThroughNodeApp } from '@gatecache/core/node';
import type { Request } from 'express';

/** A runner that replays `req` (as a GET) through its Express app with no client attached. */
export function backgroundFor(req: Request): BackgroundRunner {
  // Cheap to create on every request: the copy of the request is made only when a task runs.
  return {
    run: (call) => runThroughNodeApp(req.app, req.originalUrl, req.headers, call),
  };
}
