import http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { HttpTimeoutError, type HttpAnswer, type HttpExchange, type HttpRequest, type HttpStreamAnswer } from './http-exchange.ts';

/**
 * Requests over the local engine socket with Node's own HTTP client: nothing to load, which matters
 * because OpenNebula starts a process per action. Keep-alive connections, at most `connections` at once.
 */
export class UnixSocketExchange implements HttpExchange {
  private readonly agent: http.Agent;

  constructor(
    private readonly socketPath: string,
    connections = 16,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  send(request: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy(new HttpTimeoutError(request.timeoutMs));
      }, request.timeoutMs);
      const req = http.request(
        { socketPath: this.socketPath, agent: this.agent, method: request.method, path: request.path, headers: { host: 'docker', ...request.headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const bytes = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: bytes.toString('utf8'), bytes });
          });
        },
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const { body } = request;
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else (body as Readable).pipe(req);
    });
  }

  open(request: HttpRequest): Promise<HttpStreamAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new HttpTimeoutError(request.timeoutMs)), request.timeoutMs);
      const req = http.request(
        { socketPath: this.socketPath, agent: this.agent, method: request.method, path: request.path, headers: { host: 'docker', ...request.headers } },
        (res) => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        },
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(request.body as string | Buffer | undefined);
    });
  }

  upgrade(request: HttpRequest): Promise<{ status: number; text: string; connection?: Duplex }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new HttpTimeoutError(request.timeoutMs)), request.timeoutMs);
      // Its own connection, outside the keep-alive pool: once taken over it is never an HTTP connection again.
      const req = http.request({
        socketPath: this.socketPath,
        method: request.method,
        path: request.path,
        headers: { host: 'docker', connection: 'Upgrade', upgrade: 'tcp', ...request.headers },
      });
      req.on('upgrade', (res, connection, head) => {
        clearTimeout(timer);
        if (head.length) connection.unshift(head);
        resolve({ status: res.statusCode ?? 101, text: '', connection });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(request.body as string | Buffer | undefined);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
