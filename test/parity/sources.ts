import { Readable } from 'node:stream';
import type { ParityBody, ParityRequest } from '@gatecache/core/testing';

type StreamBody = Extract<ParityBody, { kind: 'stream' }>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The chunks of a stream body over time; fails after `failAfter` chunks when set. */
export async function* chunksOverTime(body: StreamBody): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < body.chunks.length; i++) {
    if (body.failAfter !== undefined && i === body.failAfter) {
      await sleep(body.gapMs);
      throw new Error('upstream failed mid-body');
    }
    if (i > 0) await sleep(body.gapMs);
    yield body.chunks[i]!;
  }
}

/** A Node Readable of a stream body (Express, Koa). */
export function nodeStream(body: StreamBody): Readable {
  return Readable.from(chunksOverTime(body), { objectMode: false });
}

/** A Web ReadableStream of a stream body (Hono). */
export function webStream(body: StreamBody): ReadableStream<Uint8Array> {
  const source = chunksOverTime(body);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await source.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await source.return(undefined);
    },
  });
}

/** Lower-cased request fields as a handler sees them. */
export function requestInfo(
  method: string,
  url: string,
  headers: Iterable<[string, string | string[] | undefined]>,
): ParityRequest {
  const record: Record<string, string | undefined> = {};
  for (const [name, value] of headers) {
    record[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method, url, headers: record };
}
