/**
 * bench/lib/proc.ts: the reads and sleeps the bench counts for sshd per connection are a process's
 * read system calls and the times any of its threads slept — a child that makes 40 reads and
 * sleeps 40 times, on a thread other than its main one, is counted at that; its preemptions are
 * the times a thread that could still run was taken off the CPU.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { procReadsAndSleeps, readsAndSleepsOf } from '../../bench/lib/proc';

const N = 40;

// On "go" (stdin): N one-byte reads of a file on the main thread, and N 2 ms sleeps on a worker
// thread (Atomics.wait: a futex wait, one voluntary context switch each); then "done", and wait.
const CHILD = `
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const fd = fs.openSync(process.execPath, 'r');
const buf = Buffer.alloc(1);
const worker = new Worker(\`
  const { parentPort } = require('node:worker_threads');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  parentPort.on('message', (n) => { for (let i = 0; i < n; i++) Atomics.wait(cell, 0, 0, 2); parentPort.postMessage('slept'); });
\`, { eval: true });
worker.once('online', () => process.stdout.write('ready\\n'));
process.stdin.once('data', () => {
  for (let i = 0; i < ${N}; i++) fs.readSync(fd, buf, 0, 1, i);
  worker.postMessage(${N});
  worker.once('message', () => process.stdout.write('done\\n'));
});
`;

function line(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.includes(`${text}\n`)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before "${text}"`)));
  });
}

test('a process\'s reads and sleeps, all threads counted', { skip: process.platform !== 'linux' }, async () => {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await line(child, 'ready');
    const pid = child.pid!;
    const before = procReadsAndSleeps(pid);

    const done = line(child, 'done');
    child.stdin!.write('go\n');
    await done;
    const after = readsAndSleepsOf([pid, 999_999_999]); // a pid that is gone counts nothing
    const reads = after.reads - before.reads;
    const sleeps = after.sleeps - before.sleeps;
    // Besides the N reads: the one that took "go" from stdin, and a few of the runtime's own.
    assert.ok(reads >= N && reads <= N + 10, `reads counted: ${reads}, expected ${N} and a few`);
    // Besides the N waits: the main thread waking for "go" and the message, the worker for its
    // message, and the runtime's helper threads now and then (more on a busy machine).
    assert.ok(sleeps >= N && sleeps <= N + 25, `sleeps counted: ${sleeps}, expected ${N} and a few`);
  } finally {
    child.kill();
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});

// On "go": the main thread and a worker thread (started and waiting before "ready", so that its
// start-up's own waits are not counted) both spin for 800 ms — on one CPU (taskset), so the
// scheduler keeps taking one of them off it to run the other; then "done".
const SPINNERS = `
const { Worker } = require('node:worker_threads');
const spin = 'const end = Date.now() + 800; while (Date.now() < end);';
const w = new Worker(\`
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', () => { \${spin} parentPort.postMessage('spun'); });
  parentPort.postMessage('waiting');
\`, { eval: true });
w.once('message', () => process.stdout.write('ready\\n'));
process.stdin.once('data', () => {
  w.postMessage('go');
  eval(spin);
  w.once('message', () => process.stdout.write('done\\n'));
});
`;

test('a process whose threads compete for one CPU is counted as preempted, not as sleeping', { skip: process.platform !== 'linux' }, async () => {
  // The first CPU this process may run on (a container's cpuset need not include CPU 0).
  const cpu = /^Cpus_allowed_list:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const child = spawn('taskset', ['-c', cpu, process.execPath, '-e', SPINNERS], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await line(child, 'ready');
    const before = procReadsAndSleeps(child.pid!);
    const done = line(child, 'done');
    child.stdin!.write('go\n');
    await done;
    const after = procReadsAndSleeps(child.pid!);
    const preemptions = after.preemptions - before.preemptions;
    // Two threads that never wait, one CPU, 800 ms: the scheduler's slices are a few ms each.
    assert.ok(preemptions >= 20, `preemptions counted: ${preemptions}, expected dozens`);
    assert.ok(after.sleeps - before.sleeps < preemptions, `sleeps ${after.sleeps - before.sleeps} vs preemptions ${preemptions}: spinning is not sleeping`);
  } finally {
    child.kill();
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});

test('a process that is gone counts as nothing, not as an error', () => {
  const r = procReadsAndSleeps(999_999_999);
  assert.ok(Number.isNaN(r.reads) && Number.isNaN(r.sleeps) && Number.isNaN(r.preemptions));
  assert.deepEqual(readsAndSleepsOf([999_999_999]), { reads: 0, sleeps: 0, preemptions: 0 });
});
