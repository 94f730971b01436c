import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesOf, request } from '../drivers/images/registry/http-request.ts';

/** A loopback server whose handler decides how it answers. */
async function serve(t: { teardown: (fn: () => void) => void }, handler: Parameters<typeof createServer>[1]): Promise<URL> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.closeAllConnections?.() ?? server.close());
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

test('a server that never answers fails the request after the timeout', async (t) => {
  const url = await serve(t, () => undefined);
  await t.throwsAsync(request(url, { method: 'GET', timeoutMs: 200 }), { message: 'no answer within 200 ms' });
});

test('a server that stops in the middle of a body fails the read after the timeout', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '10' });
    res.write('12345');
  });
  const response = await request(url, { method: 'GET', timeoutMs: 200 });
  await t.throwsAsync(bytesOf(response), { message: 'the server sent nothing for 200 ms' });
});

test('a body that keeps flowing outlasts the timeout', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '6' });
    let sent = 0;
    const tick = setInterval(() => {
      res.write('x');
      if (++sent === 6) (clearInterval(tick), res.end());
    }, 80);
  });
  const response = await request(url, { method: 'GET', timeoutMs: 200 });
  t.is((await bytesOf(response)).toString(), 'xxxxxx');
});

test('a reader that holds back longer than the timeout is not taken for a silent server', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(4 * 1024 * 1024) });
    res.end(Buffer.alloc(4 * 1024 * 1024));
  });
  const response = await request(url, { method: 'GET', timeoutMs: 200 });
  response.body.pause();
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.is((await bytesOf(response)).length, 4 * 1024 * 1024);
});
