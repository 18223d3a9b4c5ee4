/**
 * bench/lib/load.ts: a bulk transfer reports a rate only for bytes that arrived as they were sent.
 * Through a relay that changes, drops or adds one byte, each direction fails naming the offset.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bulk, startBulkServer, type Target } from '../../bench/lib/load';

/** 'flip+more': the byte changed, and one byte too many at the end of the same piece. */
type Fault = 'flip' | 'drop' | 'add' | 'flip+more';

/** A relay to `port` that, in the given direction, spoils the byte at `offset` of the stream after the 9-byte header. */
function faultyRelay(port: number, direction: 'up' | 'down', fault: Fault | undefined, offset: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { client.destroy(); upstream.destroy(); });
    }
    const pass = (from: net.Socket, to: net.Socket, spoil: boolean, skip: number): void => {
      let at = -skip;
      from.on('data', (d: Buffer) => {
        const i = offset - at; // where the spoiled byte falls in this chunk, if it does
        at += d.length;
        if (spoil && fault && i >= 0 && i < d.length) {
          if (fault === 'flip') d = Buffer.concat([d.subarray(0, i), Buffer.from([d[i]! ^ 0xff]), d.subarray(i + 1)]);
          else if (fault === 'drop') d = Buffer.concat([d.subarray(0, i), d.subarray(i + 1)]);
          else if (fault === 'add') d = Buffer.concat([d.subarray(0, i), Buffer.from([d[i]! ^ 0xff]), d.subarray(i)]);
          else d = Buffer.concat([d.subarray(0, i), Buffer.from([d[i]! ^ 0xff]), d.subarray(i + 1), Buffer.from([0])]);
        }
        to.write(d);
      });
      from.on('end', () => to.end());
    };
    pass(client, upstream, direction === 'up', 9);
    pass(upstream, client, direction === 'down', 0);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => { server.close(); for (const s of sockets) s.destroy(); },
  })));
}

describe('bench bulk transfers check every byte', () => {
  let target: Target;
  before(async () => { target = await startBulkServer(); });
  after(async () => { await target.close(); });

  const size = 3 * 1024 * 1024 + 123; // past the 1 MiB pattern's end, twice, and not a multiple of it
  for (const dir of ['to', 'from'] as const) {
    test(`${dir}: intact through a plain relay, a rate is reported`, async () => {
      const relay = await faultyRelay(target.port, dir === 'to' ? 'up' : 'down', undefined, 0);
      try {
        const r = await bulk({ port: relay.port }, dir, size, 20_000);
        assert.equal(r.bytes, size);
        assert.ok(r.mbps > 0);
      } finally {
        relay.close();
      }
    });
    for (const fault of ['flip', 'drop', 'add'] as const) {
      test(`${dir}: one byte ${fault === 'flip' ? 'changed' : fault === 'drop' ? 'lost' : 'added'} at 2 MiB + 5 fails, naming the offset`, async () => {
        const offset = 2 * 1024 * 1024 + 5;
        const relay = await faultyRelay(target.port, dir === 'to' ? 'up' : 'down', fault, offset);
        try {
          await assert.rejects(bulk({ port: relay.port }, dir, size, 20_000), new RegExp(`^Error: bulk ${dir}: the byte at offset ${offset} of ${size} is not the one sent`));
        } finally {
          relay.close();
        }
      });
    }
    test(`${dir}: a byte changed near the end and one too many behind it in the same piece: the changed byte is named`, async () => {
      const offset = size - 10;
      const relay = await faultyRelay(target.port, dir === 'to' ? 'up' : 'down', 'flip+more', offset);
      try {
        await assert.rejects(bulk({ port: relay.port }, dir, size, 20_000), new RegExp(`^Error: bulk ${dir}: the byte at offset ${offset} of ${size} is not the one sent`));
      } finally {
        relay.close();
      }
    });
  }
});
