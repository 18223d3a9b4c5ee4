/**
 * Node's own cost per connection, for scale: a bare TCP server in a process of its own that
 * accepts, echoes what it reads and closes when the client does — the client-facing half of a -L
 * forwarder with no SSH at all. The bench measures its CPU per short connection next to the
 * forwarders'. Sends its port to the parent (IPC) once listening.
 *
 * argv[2] `handle`: the accepted connections are driven through their TCP handles by the engine's
 * own src/core/handleSocket.ts, as -L's are since change 29 — Node's floor for what -L pays now.
 */
import net = require('node:net');
import { acceptHandles } from '../src/core/handleSocket';

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => socket.end());
});
server.listen(0, '127.0.0.1', () => {
  if (process.argv[2] === 'handle' && !acceptHandles(server, (s) => {
    s.onData = (d) => s.write(d);
    s.onEnd = () => s.end();
    s.resume();
  })) {
    process.stderr.write('node echo: this Node does not let handleSocket.ts drive accepted connections\n');
    process.exit(1);
  }
  process.send!((server.address() as net.AddressInfo).port);
});
process.on('disconnect', () => process.exit(0));
