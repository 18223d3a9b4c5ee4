/**
 * Who holds a local TCP port, and which nearby port is free. Linux exposes listening sockets in
 * /proc/net/tcp{,6} and their owners through /proc/<pid>/fd links; elsewhere (or without permission)
 * the holder is simply unknown. No shell, no `lsof`.
 */
import fs = require('node:fs');
import net = require('node:net');

export interface PortHolder {
  pid: number;
  command: string;
}

const TCP_LISTEN = '0A';

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1];
      if (cols[3] === TCP_LISTEN && local.endsWith(':' + hexPort)) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** The process listening on a local TCP port, when the OS lets us see it. */
export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1])) {
        let command = '';
        try {
          command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          /* the process may have exited */
        }
        return { pid: Number(pid), command: command || `pid ${pid}` };
      }
    }
  }
  return undefined;
}

/** Whether `port` can be bound on `address` right now (binds and closes at once). */
export function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port after `port` on `address` (a suggestion only; nothing is held). */
export async function suggestFreePort(address: string, port: number): Promise<number | undefined> {
  for (let p = port + 1; p <= Math.min(port + 50, 65535); p++) {
    if (await canListen(address, p)) return p;
  }
  return undefined;
}
