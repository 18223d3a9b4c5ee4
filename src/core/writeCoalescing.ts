/**
 * Sends every write a socket gets within one turn of the event loop as one writev: corks on the
 * first write and uncorks in the loop's check phase (setImmediate), after every I/O callback of
 * that poll has run — the way OpenSSH's client writes once per select loop. ssh2 without its
 * native addon (as bundled) writes each SSH packet in three pieces (length, ciphertext, MAC); with
 * TCP_NODELAY each would be a syscall and a TCP segment of its own, and with many forwarded
 * connections active each one's packets would go out alone. `onWrite` is told of every write
 * (see promptAcks.ts).
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
      setImmediate(flush);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
  return sock;
}
