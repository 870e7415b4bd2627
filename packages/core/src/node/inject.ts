import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { Duplex } from 'node:stream';

export interface InjectedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A socket that accepts what the response writes and throws it away. */
class DiscardSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;

  override _read(): void {}

  override _write(
    _chunk: unknown,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    callback();
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}

/**
 * Runs a request through a Node request handler (an Express app, a Koa `app.callback()`) with no
 * client: real `IncomingMessage` and `ServerResponse` objects over a socket that discards the
 * output, so every middleware sees an ordinary request. Resolves when the response finished or
 * closed. (Injection libraries that patch the framework's prototypes would break the real server
 * sharing them.)
 */
export function injectRequest(handler: NodeHandler, request: InjectedRequest): Promise<void> {
  const socket = new DiscardSocket();
  const req = new IncomingMessage(socket as never);
  req.method = request.method;
  req.url = request.url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.headers = { ...request.headers };
  const raw: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) raw.push(name, item);
    else raw.push(name, String(value));
  }
  req.rawHeaders = raw;
  req.complete = true;
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.detachSocket(socket as never);
      socket.destroy();
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch(done);
    } catch {
      done();
    }
  });
}
