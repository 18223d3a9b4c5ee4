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
 * -R's target sockets, where they are net.Sockets (a target named other than by an address or
 * `localhost`, or a Node without the handle API; change 30), are read through it too and never
 * call `reuse()`: every read is copied at its size, because a channel write beyond the window keeps
 * the rest of the chunk. What they gain is the size — a read of a fast target brings up to 1 MiB
 * instead of 64 KiB, so fewer channel writes and corked turns per GB (change 17). -L's and -D's
 * accepted sockets get the same through `readAcceptedIntoSharedBuffer` (change 25) where this Node
 * does not let handleSocket.ts drive them (which reads into this buffer too, changes 29 and 31).
 */
import net = require('node:net');

const READ_BUFFER_BYTES = 1024 * 1024;
let sharedBuffer: Buffer | undefined;

/** The buffer every local socket of the engine reads into (copied at their size unless `reuse()`d). */
export function sharedReadBuffer(): Buffer {
  return (sharedBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
}

/**
 * `onread` options: reads land in the shared buffer and reach `socket`'s 'data' listeners, copied
 * at their size unless `views()` says the listeners take views on the buffer.
 */
function sharedReads(socket: () => net.Socket, views: () => boolean = () => false): net.OnReadOpts {
  return {
    buffer: sharedReadBuffer(),
    callback: (bytes: number, buf: Uint8Array): boolean => {
      const chunk = Buffer.from(buf.buffer, buf.byteOffset, bytes);
      socket().emit('data', views() ? chunk : Buffer.from(chunk));
      return true;
    },
  };
}

/** The parts of Node's net internals `readAcceptedIntoSharedBuffer` relies on. */
interface SocketInternals { _handle?: { reading?: boolean; useUserBuffer?: unknown } | null }

/**
 * A socket a server accepted with `pauseOnConnect`, as a socket that reads the way -R's target
 * sockets do: into the shared 1 MiB buffer, each read copied at its size (a channel write beyond
 * the window keeps its remainder). Node gives `onread` only to sockets made from options, so the
 * accepted socket's handle goes to a new Socket made with it — as net.Server itself makes the
 * sockets it accepts — paused as the accepted one was, and the emptied original is destroyed
 * (which closes nothing: it only takes it off the server's connection count). If this Node's
 * internals are not as expected (no handle, already reading, the handle or its options refused),
 * the accepted socket is returned as it is and reads Node's way.
 */
export function readAcceptedIntoSharedBuffer(accepted: net.Socket): net.Socket {
  const original = accepted as net.Socket & SocketInternals;
  const handle = original._handle;
  if (!handle || handle.reading || typeof handle.useUserBuffer !== 'function' || accepted.destroyed) return accepted;
  let socket: net.Socket;
  try {
    socket = new net.Socket({
      handle, allowHalfOpen: accepted.allowHalfOpen, readable: true, writable: true, pauseOnCreate: true,
      onread: sharedReads(() => socket),
    } as net.SocketConstructorOpts);
  } catch {
    return accepted;
  }
  if ((socket as net.Socket & SocketInternals)._handle !== handle) return accepted;
  original._handle = null;
  accepted.destroy();
  return socket;
}

export class ReusedReads {
  readonly socket: net.Socket;
  private reusing = false;

  constructor(options: net.TcpNetConnectOpts) {
    this.socket = net.connect({ ...options, onread: sharedReads(() => this.socket, () => this.reusing) });
  }

  /** From now on listeners get views on the reused buffer: nothing may keep one after it returns. */
  reuse(): void {
    this.reusing = true;
  }
}
