/**
 * Sends every write a socket gets within one tick as one writev: corks on the first write and
 * uncorks on the next tick. ssh2 without its native addon (as bundled) writes each SSH packet in
 * three pieces (length, ciphertext, MAC) and a forward writes each 32 KiB channel packet on its
 * own; with TCP_NODELAY each write would be a syscall and a TCP segment of its own.
 */
import type { Socket } from 'node:net';

export function coalesceWrites(sock: Socket): Socket {
  const write = sock.write;
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
  return sock;
}
