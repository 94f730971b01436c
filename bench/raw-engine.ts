import http from 'node:http';
import { ENGINE_API, ENGINE_SOCKET } from './settings.ts';

export interface RawAnswer {
  status: number;
  text: string;
}

/**
 * The Docker Engine API at its plainest: Node's HTTP client on the unix socket with keep-alive,
 * a fixed API version, no negotiation. The baseline's engine calls and the bench's own housekeeping
 * use it, so nothing of the driver's engine client is measured on the baseline side.
 */
export class RawEngine {
  private readonly agent: http.Agent;

  /** `maxSockets`: how many calls may be in flight at once; more wait for a free connection. */
  constructor(maxSockets = 4) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<RawAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: ENGINE_SOCKET,
          agent: this.agent,
          method,
          path: path.startsWith('/_ping') ? path : `/${ENGINE_API}${path}`,
          headers: payload === undefined ? { host: 'docker' } : { host: 'docker', 'content-type': 'application/json' },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`engine did not answer ${method} ${path} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request that must answer one of `expect`; anything else is an error naming the call. */
  async expect(method: string, path: string, expect: number[], body?: unknown): Promise<RawAnswer> {
    const answer = await this.request(method, path, body);
    if (!expect.includes(answer.status)) {
      throw new Error(`engine: ${method} ${path} answered ${answer.status}: ${answer.text.trim().slice(0, 300)}`);
    }
    return answer;
  }

  async json<T>(method: string, path: string, expect: number[], body?: unknown): Promise<T> {
    return JSON.parse((await this.expect(method, path, expect, body)).text) as T;
  }

  /** Force-removes a container and its anonymous volumes; a missing one is fine. */
  async removeContainer(name: string): Promise<void> {
    await this.expect('DELETE', `/containers/${encodeURIComponent(name)}?force=true&v=true`, [204, 404]);
  }

  /** Names (without the leading slash) of all containers, stopped ones included, that match the filters. */
  async containerNames(filters: Record<string, string[]>): Promise<{ name: string; labels: Record<string, string> }[]> {
    const query = new URLSearchParams({ all: 'true', filters: JSON.stringify(filters) });
    const list = await this.json<{ Names: string[]; Labels: Record<string, string> | null }[]>('GET', `/containers/json?${query}`, [200]);
    return list.map((c) => ({ name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {} }));
  }

  close(): void {
    this.agent.destroy();
  }
}
