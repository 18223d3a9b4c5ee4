/**
 * Load against the real sshd:
 * - 1000 transfers of random sizes (1 B – 4 MiB, log-uniform so most are small), up and down,
 *   through -L, -R and -D, 50 at a time, each compared by SHA-256 at both ends: 0 lost, 0 corrupted.
 * - 1000 connections held open at once through one -L, each proven end to end, then closed: 0
 *   failures, and memory comes back (RSS before / peak / after is reported).
 *
 * FAULTS_SEED=<n> repeats a run's sizes and directions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { eventually, makeEngine, type Engine } from '../fixtures/engine';
import { recordFigures } from '../fixtures/figures';
import { startEchoServer, type TestServer } from '../fixtures/servers';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd';
import { delay, download, pool, seededRandom, sha256hex, skewedSizes, socketsOnPort, startHashSink, startHashSource, upload, type TransferResult, type Via } from './util';

const TRANSFERS = 1000;
const MAX_SIZE = 4 * 1024 * 1024;
const CONCURRENCY = 50;
const HELD = 1000;

const figures = recordFigures();
const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));

let sshd: Sshd;
let sink: TestServer;
let source: TestServer;
let echo: TestServer;
let engine: Engine;

before(async () => {
  [sshd, sink, source, echo] = await Promise.all([startSshd(), startHashSink(), startHashSource(), startEchoServer()]);
  engine = makeEngine(sshd);
});
after(async () => {
  await engine?.dispose();
  await Promise.all([sshd?.dispose(), sink?.close(), source?.close(), echo?.close()]);
});

async function add(spec: string): Promise<number> {
  const snap = await engine.manager.addForward({ host: 'fixture', spec });
  assert.equal(snap.state, 'listening', `${spec}: ${snap.error}`);
  return snap.listenPort!;
}

test(`${TRANSFERS} transfers of 1 B – 4 MiB through -L, -R and -D, ${CONCURRENCY} at a time: 0 lost, 0 corrupted`, async () => {
  const vias: Record<'L' | 'R' | 'D', { up: Via; down: Via }> = {
    L: { up: { kind: 'L', port: await add(`-L ${await freePort()}:127.0.0.1:${sink.port}`) }, down: { kind: 'L', port: await add(`-L ${await freePort()}:127.0.0.1:${source.port}`) } },
    R: { up: { kind: 'R', port: await add(`-R ${await freePort()}:127.0.0.1:${sink.port}`) }, down: { kind: 'R', port: await add(`-R ${await freePort()}:127.0.0.1:${source.port}`) } },
    D: { up: { kind: 'D', port: 0 }, down: { kind: 'D', port: 0 } },
  };
  const d = await add(`-D ${await freePort()}`);
  vias.D = { up: { kind: 'D', port: d }, down: { kind: 'D', port: d } };

  const rand = seededRandom(seed);
  const sizes = skewedSizes(TRANSFERS, MAX_SIZE, rand);
  const plan = sizes.map((size, i) => ({ size, kind: (['L', 'R', 'D'] as const)[i % 3], up: rand() < 0.5 }));
  const failures: string[] = [];
  let lost = 0;
  let corrupted = 0;
  let bytes = 0;
  const t0 = Date.now();
  await pool(plan, CONCURRENCY, async (p, i) => {
    let r: TransferResult;
    try {
      r = p.up ? await upload(vias[p.kind].up, sink, p.size) : await download(vias[p.kind].down, source, p.size);
    } catch (err) {
      lost++;
      failures.push(`#${i} ${p.up ? 'up' : 'down'} -${p.kind} ${p.size} B: ${(err as Error).message}`);
      return;
    }
    if (!r.ok) {
      corrupted++;
      failures.push(`#${i} ${p.up ? 'up' : 'down'} -${p.kind} ${p.size} B: ${r.problem}`);
      return;
    }
    bytes += r.bytes;
    figures.transfer(r.bytes);
  });
  const seconds = (Date.now() - t0) / 1000;
  figures.note('load: seed (FAULTS_SEED)', String(seed));
  figures.note('load: transfers lost / corrupted', `${lost} / ${corrupted}`);
  figures.note('load: payload', `${(bytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s (${(bytes / 1048576 / seconds).toFixed(1)} MiB/s)`);
  figures.note('load: largest / smallest transfer (B)', `${Math.max(...sizes)} / ${Math.min(...sizes)}`);
  assert.deepEqual(failures.slice(0, 20), [], `seed ${seed}: ${lost} lost, ${corrupted} corrupted`);
  assert.equal(lost + corrupted, 0);
  // Every connection of every forward was closed again.
  await eventually('no connection left open', () => engine.manager.snapshot().hosts[0].forwards.every((f) => f.connections.length === 0), 10_000);
  for (const f of engine.manager.snapshot().hosts[0].forwards) await engine.manager.removeForward(f.id);
});

function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  collect();
  collect();
}

const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`;

test(`${HELD} connections held open at once through one -L, then closed: 0 failures, memory comes back`, async () => {
  const port = await add(`-L ${await freePort()}:127.0.0.1:${echo.port}`);
  const id = engine.manager.snapshot().hosts[0].forwards.find((f) => f.listenPort === port)!.id;
  gc();
  await delay(200);
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const sockets: net.Socket[] = [];
  const failures: string[] = [];
  try {
    // Open them 100 at a time; each proves itself with an echo before the next batch.
    await pool(Array.from({ length: HELD }, (_, i) => i), 100, async (i) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', (e) => failures.push(`#${i}: ${e.message}`));
      sockets.push(s);
      await ping(s, i).catch((e: Error) => failures.push(`#${i} open: ${e.message}`));
    });
    const snap = engine.manager.forwardSnapshot(id);
    assert.equal(snap.connections.length, HELD, `${HELD} live connections in the forward's list`);
    // All open at the same time: the echo server holds one socket per connection.
    assert.ok(socketsOnPort(echo.port) >= HELD, `the server side holds ${socketsOnPort(echo.port)} sockets to the target`);
    peak = Math.max(peak, process.memoryUsage().rss);
    // Every one still works while all are open.
    await pool(sockets.map((s, i) => ({ s, i })), 200, ({ s, i }) => ping(s, i).catch((e: Error) => { failures.push(`#${i} held: ${e.message}`); }));
    figures.note('held: connections open at once', snap.connections.length);
    // Close them all.
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      if (s.closed) return resolve();
      s.once('close', () => resolve());
      s.end();
    })));
    await eventually('the forward lists no connection', () => engine.manager.forwardSnapshot(id).connections.length === 0, 15_000);
    await eventually('the server side let go of every target socket', () => socketsOnPort(echo.port) === 0 || socketsOnPort(echo.port) < 5, 15_000);
  } finally {
    clearInterval(sampler);
    sockets.forEach((s) => s.destroy());
  }
  await engine.manager.removeForward(id);
  await delay(500);
  gc();
  await delay(500);
  gc();
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;
  figures.note('held: RSS before / peak / after', `${mb(rssBefore)} / ${mb(peak)} / ${mb(rssAfter)}`);
  figures.note('held: JS heap before / after (after GC)', `${mb(heapBefore)} / ${mb(heapAfter)}`);
  figures.note('held: failures', failures.length);
  assert.deepEqual(failures.slice(0, 20), []);
  // Memory comes back: the heap returns to where it was (within 16 MB), RSS well below the peak's growth.
  assert.ok(heapAfter - heapBefore < 16 * 1048576, `JS heap grew by ${mb(heapAfter - heapBefore)} and stayed`);
  assert.ok(rssAfter - rssBefore < Math.max(64 * 1048576, (peak - rssBefore) * 0.75), `RSS ${mb(rssBefore)} → peak ${mb(peak)} → ${mb(rssAfter)}`);
});

/** Sends 32 random bytes and waits for the same 32 bytes back. */
function ping(s: net.Socket, i: number): Promise<void> {
  const data = randomBytes(32);
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => { cleanup(); reject(new Error(`#${i}: no echo within 30 s (${got.length} B)`)); }, 30_000);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (got.length < 32) return;
      cleanup();
      if (sha256hex(got) !== sha256hex(data)) reject(new Error(`#${i}: echo differs`));
      else {
        figures.transfer(32);
        resolve();
      }
    };
    const onClose = (): void => { cleanup(); reject(new Error(`#${i}: closed`)); };
    const cleanup = (): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
    };
    s.on('data', onData);
    s.on('close', onClose);
    s.write(data);
  });
}
