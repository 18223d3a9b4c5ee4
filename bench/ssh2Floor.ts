/**
 * ssh2's own cost per connection, for scale: a minimal -L forwarder on the same bundled ssh2 as the
 * engine (built with the shipped options: pure-JS crypto, no native addon), written the way ssh2's
 * documentation shows it — one Client, `forwardOut` for each accepted socket, the two piped — plus
 * TCP_NODELAY on the SSH socket, without which every connection waits ~40 ms. No manager, log,
 * reconnect, write coalescing or prompt ACKs: the engine's row minus this one is what those add.
 * It trusts the bench's loopback sshd without a host-key check (a measuring device, not a client).
 *
 * argv: sshPort user privateKeyFile cipher targetPort. Sends its listening port to the parent (IPC).
 */
import './lib/notShipped';
import fs = require('node:fs');
import net = require('node:net');
import { Client } from 'ssh2';

const [sshPort, user, keyFile, cipher, targetPort] = process.argv.slice(2) as [string, string, string, string, string];

const client = new Client();
client.on('error', (err) => {
  process.stderr.write(`ssh2 floor: ${err.message}\n`);
  process.exit(1);
});
client.on('ready', () => {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    client.forwardOut('127.0.0.1', socket.remotePort ?? 0, '127.0.0.1', Number(targetPort), (err, channel) => {
      if (err) return socket.destroy();
      channel.on('error', () => socket.destroy());
      socket.pipe(channel);
      channel.pipe(socket);
    });
  });
  server.on('error', (err) => {
    process.stderr.write(`ssh2 floor: listen: ${err.message}\n`);
    process.exit(1);
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send!((server.address() as net.AddressInfo).port));
});
const sock = net.connect({ host: '127.0.0.1', port: Number(sshPort), noDelay: true });
client.connect({ sock, username: user, privateKey: fs.readFileSync(keyFile), algorithms: { cipher: [cipher as 'aes128-gcm@openssh.com'] } });
process.on('disconnect', () => process.exit(0));
