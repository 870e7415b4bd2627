import { runAdapterParity } from '@gatecache/core/testing';
import { expressAdapter } from './express-app.ts';

runAdapterParity('express', expressAdapter);
