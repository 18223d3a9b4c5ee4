/**
 * What a socket read costs Node, for change 15 (src/core/reusedReads.ts): receives 2 GiB over
 * loopback from a child process, once with Node's default reads (a fresh 64 KiB buffer per read)
 * and once into one reused `onread` buffer, alternating, and prints the receiver's CPU-seconds per
 * GB for each. `node bench/build.mjs && node out/bench/readBuffer.js [rounds]`.
 */
import net = require('node:net');
import { startDevice } from './lib/forwarders';

const BYTES = 2 * 1024 ** 3;
const CHUNK = Buffer.alloc(256 * 1024, 7);

/** The child (a device for startDevice): serve BYTES to whoever connects, then exit. */
function send(): void {
  const server = net.createServer((s) => {
    s.on('error', () => process.exit(1));
    let sent = 0;
    const go = (): void => {
      while (sent < BYTES) {
        sent += CHUNK.length;
        if (!s.write(CHUNK)) return void s.once('drain', go);
      }
      s.end();
      server.close();
    };
    go();
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
}

/** One receive; resolves CPU-seconds per 10^9 bytes of this process. */
async function receive(reused: boolean): Promise<number> {
  const sender = await startDevice('readBuffer.js', ['send']);
  try {
    return await new Promise<number>((resolve, reject) => {
      let got = 0;
      const cpu = process.cpuUsage();
      const onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n: number): boolean => { got += n; return true; } };
      const s = net.connect({ port: sender.port, host: '127.0.0.1', ...(reused ? { onread } : {}) });
      if (!reused) s.on('data', (d: Buffer) => { got += d.length; });
      s.on('error', reject);
      s.on('end', () => {
        const used = process.cpuUsage(cpu);
        resolve((used.user + used.system) / 1e6 / (got / 1e9));
      });
    });
  } finally {
    sender.stop();
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const results: Record<string, number[]> = { 'fresh buffer per read': [], 'one reused onread buffer': [] };
  for (let i = 0; i < rounds; i++) {
    results['fresh buffer per read']!.push(await receive(false));
    results['one reused onread buffer']!.push(await receive(true));
  }
  for (const [what, xs] of Object.entries(results)) {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(`${what}: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} CPU-s/GB (${sorted.map((x) => x.toFixed(3)).join(', ')})`);
  }
}

if (process.argv[2] === 'send') send();
else void main();
