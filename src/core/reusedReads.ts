/**
 * The SSH server's TCP socket, read into one reused buffer. By default Node allocates a fresh
 * 64 KiB buffer for every read of a socket (malloc, page faults on fresh pages, then a realloc to
 * the bytes read and V8's bookkeeping of the external memory); receiving 2 GiB over loopback took
 * 0.39–0.59 CPU-s per GB that way and 0.20–0.23 with net's `onread` buffer (bench/readBuffer.ts;
 * bench/README.md change 15). A bulk download through a forward reads every byte from this socket.
 *
 * The buffer is 1 MiB, not Node's 64 KiB: during a download the engine is the slower end, so the
 * kernel holds more than 64 KiB whenever we read, and each read has a cost of its own besides its
 * bytes (a turn of the event loop, the read callback and 'data' dispatch, a corked write turn for
 * sshd). With 1 MiB a read brings 160–320 KiB instead of ~55 KiB and a download takes 9–30 %
 * less CPU per GB (bench/README.md change 16). One buffer serves every session of the process:
 * libuv reads one socket at a time and runs its callback before the next read, and the callback
 * hands the bytes on synchronously, so a read never lands in the buffer while another socket's
 * bytes are still being handled. So the buffer costs at most 1 MiB per process however many
 * sessions there are (an idle session's small reads touch only its first pages).
 *
 * The reads are delivered as ordinary 'data' events, so ssh2 and promptAcks.ts see no difference,
 * with one rule: a chunk is a view on the reused buffer, valid only while the 'data' listeners run.
 * ssh2's deciphers (AES-GCM, chacha20-poly1305, CTR/CBC + HMAC) copy or decrypt what they keep
 * into buffers of their own before returning — chacha20-poly1305 only since our ssh2 patch: it
 * kept a whole packet body as a view on the read while waiting for its MAC in the next one
 * (test/unit/ssh2Deciphers.test.ts feeds every cipher reads cut at every edge and overwrites them
 * after use). During the first key exchange ssh2 keeps slices of the raw reads (the server's
 * KEXINIT for the exchange hash, a split identification line), so every chunk is copied until
 * `reuse()` — called once the session is authenticated, long after the keys are in place.
 *
 * -R's target sockets are read through it too and never call `reuse()`: every read is copied at
 * its size, because a channel write beyond the window keeps the rest of the chunk. What they gain
 * is the size — a read of a fast target brings up to 1 MiB instead of 64 KiB, so fewer channel
 * writes and corked turns per GB (change 17). (Sockets a server accepts, -L and -D, cannot have
 * an `onread` buffer in Node.)
 */
import net = require('node:net');

const READ_BUFFER_BYTES = 1024 * 1024;
let sharedBuffer: Buffer | undefined;

export class ReusedReads {
  readonly socket: net.Socket;
  private reusing = false;

  constructor(options: net.TcpNetConnectOpts) {
    const buffer = (sharedBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
    this.socket = net.connect({
      ...options,
      onread: {
        buffer,
        callback: (bytes: number, buf: Uint8Array): boolean => {
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, bytes);
          this.socket.emit('data', this.reusing ? chunk : Buffer.from(chunk));
          return true;
        },
      },
    });
  }

  /** From now on listeners get views on the reused buffer: nothing may keep one after it returns. */
  reuse(): void {
    this.reusing = true;
  }
}
