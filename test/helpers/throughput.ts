import { nodeIn } from './bridge-netns.ts';

// A TCP receiver that counts what arrives and a sender that writes zeros for a while: bounded in time and bytes.
const RECEIVER = `
const net = require('node:net');
const [port, address] = process.argv.slice(1);
const server = net.createServer((socket) => {
  let bytes = 0, first = 0, last = 0, skipped = 0;
  socket.on('data', (chunk) => {
    const now = performance.now();
    if (!first) { first = now; skipped = chunk.length; }
    bytes += chunk.length; last = now;
  });
  socket.on('close', () => { console.log(JSON.stringify({ bytes, seconds: (last - first) / 1000, skipped })); server.close(); });
});
server.listen(Number(port), address, () => console.log('listening'));
setTimeout(() => process.exit(3), 30000).unref();
`;
const SENDER = `
const net = require('node:net');
const [host, port, ms, max] = process.argv.slice(1);
const chunk = Buffer.alloc(16384);
let sent = 0;
const socket = net.connect(Number(port), host, () => {
  const end = performance.now() + Number(ms);
  const pump = () => {
    while (performance.now() < end && sent < Number(max)) {
      sent += chunk.length;
      if (!socket.write(chunk)) return socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
});
setTimeout(() => process.exit(3), 30000).unref();
`;

export interface Transfer {
  bytes: number;
  seconds: number;
  /** Bytes a second, from the first byte received to the last, the first chunk left out. */
  rate: number;
}

/**
 * Sends for `ms` milliseconds (at most `maxBytes`) from the namespace `from` to `to`'s address `address`:port,
 * each given as the argv prefix that enters it; resolves with what the receiver counted.
 */
export async function transfer(from: string[], to: string[], address: string, port: number, ms: number, maxBytes: number): Promise<Transfer> {
  const receiver = nodeIn(to, RECEIVER, [String(port), address]);
  let out = '';
  let err = '';
  let started = false;
  receiver.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<string>((resolve, reject) => {
    receiver.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening\n') && !started) {
        started = true;
        const sender = nodeIn(from, SENDER, [address, String(port), String(ms), String(maxBytes)]);
        sender.on('close', (code) => code !== 0 && reject(new Error(`sender exited with ${code}`)));
      }
    });
    receiver.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`receiver exited with ${code}: ${err}`))));
  });
  const result = JSON.parse((await done).split('\n').find((line) => line.startsWith('{'))!) as { bytes: number; seconds: number; skipped: number };
  return { bytes: result.bytes, seconds: result.seconds, rate: (result.bytes - result.skipped) / result.seconds };
}
