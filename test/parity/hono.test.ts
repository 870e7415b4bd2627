import { runAdapterParity } from '@gatecache/core/testing';
import { honoAdapter } from './hono-app.ts';

runAdapterParity('hono', honoAdapter);
