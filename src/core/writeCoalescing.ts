/**
 * Sends every write a socket gets within one tick as one writev: corks on the first write and
 * uncorks on the next tick. ssh2 without its native addon (as bundled) writes each SSH packet in
 * three pieces (length, ciphertext, MAC); with TCP_NODELAY each would be a syscall and a TCP
 * segment of its own. `onWrite` is told of every write (see session.ts, promptAcks).
 */
import type { Socket } from 'node:net';

export function coalesceWrites(sock: Socket, onWrite?: () => void): Socket {
  const write = sock.write;
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: unknown[]): boolean {
    onWrite?.();
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
  return sock;
}
