/**
 * What a socket read costs Node, for changes 15 and 16 (src/core/reusedReads.ts): receives 2 GiB
 * over loopback from a child process with Node's default reads (a fresh 64 KiB buffer per read)
 * and into one reused `onread` buffer of 64 KiB and of 1 MiB, in turn, and prints the receiver's
 * CPU-seconds per GB and the mean bytes per read for each.
 * `node bench/build.mjs && node out/bench/readBuffer.js [rounds]`.
 */
import net = require('node:net');
import { startDevice } from './lib/forwarders';
import { median } from './lib/stats';

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

interface Receipt { cpuPerGB: number; bytesPerRead: number }

/** One receive into a fresh buffer per read (`reusedBytes` 0) or one reused buffer of that size. */
async function receive(reusedBytes: number): Promise<Receipt> {
  const sender = await startDevice('readBuffer.js', ['send']);
  try {
    return await new Promise<Receipt>((resolve, reject) => {
      let got = 0;
      let reads = 0;
      const count = (n: number): boolean => { got += n; reads++; return true; };
      const cpu = process.cpuUsage();
      const onread = reusedBytes ? { onread: { buffer: Buffer.allocUnsafe(reusedBytes), callback: count } } : {};
      const s = net.connect({ port: sender.port, host: '127.0.0.1', ...onread });
      if (!reusedBytes) s.on('data', (d: Buffer) => count(d.length));
      s.on('error', reject);
      s.on('end', () => {
        const used = process.cpuUsage(cpu);
        resolve({ cpuPerGB: (used.user + used.system) / 1e6 / (got / 1e9), bytesPerRead: got / reads });
      });
    });
  } finally {
    sender.stop();
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const ways: Array<[string, number]> = [
    ['fresh 64 KiB buffer per read', 0],
    ['one reused 64 KiB onread buffer', 64 * 1024],
    ['one reused 1 MiB onread buffer', 1024 * 1024],
  ];
  const results = new Map<string, Receipt[]>(ways.map(([what]) => [what, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [what, bytes] of ways) results.get(what)!.push(await receive(bytes));
  }
  for (const [what, rs] of results) {
    const cpu = rs.map((r) => r.cpuPerGB);
    console.log(`${what}: ${median(cpu).toFixed(3)} CPU-s/GB (${[...cpu].sort((a, b) => a - b).map((x) => x.toFixed(3)).join(', ')}), ` +
      `${Math.round(median(rs.map((r) => r.bytesPerRead)) / 1024)} KiB per read`);
  }
}

if (process.argv[2] === 'send') send();
else void main();
