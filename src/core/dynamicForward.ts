/** -D: a SOCKS4/4a/5 proxy on a local port; the SSH server connects to whatever each client asks. */
import net = require('node:net');
import type { HandleSocket } from './handleSocket';
import { ListeningForward, formatHostPort, type Destination } from './listeningForward';
import { readSocksRequest } from './socks';

/** A client that has not finished its SOCKS handshake by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export class DynamicForward extends ListeningForward {
  protected async destinationFor(socket: net.Socket | HandleSocket): Promise<Destination> {
    socket.resume();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    try {
      const req = await readSocksRequest(socket);
      this.log.debug2(`SOCKS${req.version} connect to ${formatHostPort(req.host, req.port)}`);
      return { host: req.host, port: req.port, opened: (ok, reason) => req.reply(ok, reason) };
    } catch (err) {
      if (timedOut) throw new Error(`no complete SOCKS request within ${HANDSHAKE_TIMEOUT_MS / 1000} s; connection dropped`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  protected describe(address: string, port: number): string {
    return `Local connections to ${formatHostPort(address, port)} forwarded as a SOCKS proxy (dynamic forwarding)`;
  }
}
