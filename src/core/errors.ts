/**
 * Turns what Node, ssh2 and sshd report into messages that say the cause and the fix, worded like
 * OpenSSH where OpenSSH has a line for it. Every user-visible failure of the engine goes through here.
 */
import { findPortHolder, suggestFreePort } from './portHolder';

/** An engine failure with a message fit for a user. `fatal` ones are not retried automatically. */
export class TunnelError extends Error {
  /** Already written to the log (a failure seen by the session and all its forwards is logged once). */
  logged = false;

  constructor(message: string, readonly fatal: boolean, readonly code?: string) {
    super(message);
    this.name = 'TunnelError';
  }

  logOnce(log: { error(message: string): void }): void {
    if (this.logged) return;
    this.logged = true;
    log.error(this.message);
  }
}

interface NodeError extends Error {
  code?: string;
  level?: string;
  reason?: number | string;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A local listen() failure: EADDRINUSE names the holder and a free port; never remaps. */
export async function describeListenError(
  err: NodeError,
  address: string,
  port: number,
  example: (freePort: number) => string,
): Promise<TunnelError> {
  const where = `${address} port ${port}`;
  switch (err.code) {
    case 'EADDRINUSE': {
      const holder = findPortHolder(port);
      const free = await suggestFreePort(address, port);
      const who = holder ? `${holder.command} (pid ${holder.pid})` : 'another process';
      const fix = free !== undefined
        ? `Stop that process, or pick a free port such as ${free} (${example(free)}).`
        : 'Stop that process, or pick another port.';
      return new TunnelError(`bind [${address}]:${port}: Address already in use — ${where} is held by ${who}. ${fix}`, true, err.code);
    }
    case 'EACCES':
      return new TunnelError(
        `bind [${address}]:${port}: Permission denied — ports below 1024 need root. Use a port of 1024 or above.`,
        true, err.code);
    case 'EADDRNOTAVAIL':
      return new TunnelError(
        `bind [${address}]:${port}: Cannot assign requested address — ${address} is not an address of this machine. Use 127.0.0.1 (or ::1), or an address of one of this machine's interfaces.`,
        true, err.code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TunnelError(`Could not resolve the bind address "${address}". Use an IP address such as 127.0.0.1.`, true, err.code);
    default:
      return new TunnelError(`bind [${address}]:${port}: ${err.message}`, true, err.code);
  }
}

const OPEN_FAILURE_ADMIN = 1;
const OPEN_FAILURE_CONNECT = 2;

/**
 * A channel open failure (forwardOut) as OpenSSH logs it (`open failed: <reason>: <description>`),
 * plus the cause and the fix.
 */
export function describeOpenFailure(err: NodeError, server: string, host: string, port: number): TunnelError {
  const description = err.message.replace(/^\(SSH\) Channel open failure: /, '');
  const dest = hostPort(host, port);
  if (err.reason === OPEN_FAILURE_ADMIN) {
    return new TunnelError(
      `open failed: administratively prohibited: ${description} — sshd on ${server} does not allow forwarding to ${dest}. ` +
        'Check AllowTcpForwarding, PermitOpen and DisableForwarding in its sshd_config, and no-port-forwarding/permitopen in authorized_keys.',
      false, 'ADMINISTRATIVELY_PROHIBITED');
  }
  if (err.reason === OPEN_FAILURE_CONNECT) {
    if (/name|resolv|unknown host|nodename/i.test(description)) {
      return new TunnelError(
        `open failed: connect failed: ${description} — ${server} cannot resolve "${host}". Check the spelling, or use a name or address that ${server} can resolve.`,
        false, 'DESTINATION_UNRESOLVED');
    }
    return new TunnelError(
      `open failed: connect failed: ${description} (${dest} as seen from ${server}) — nothing accepts connections there. Check that the service runs and that host and port are right from the server's side.`,
      false, 'DESTINATION_REFUSED');
  }
  return new TunnelError(`open failed: ${description} (to ${dest} through ${server})`, false, 'OPEN_FAILED');
}

/** sshd refused a remote (-R) listener. */
export function describeRemoteBindFailure(server: string, bindAddress: string, port: number, reconnecting: boolean): TunnelError {
  const listen = hostPort(bindAddress, port);
  const causes = reconnecting
    ? `sshd on ${server} may still hold this port for the previous, lost connection (it frees it once it notices, see ClientAliveInterval in its sshd_config); retrying until it is free.`
    : `sshd on ${server} refused to listen on ${listen}: the port is in use there, or not permitted ` +
      '(ports below 1024 need root; a non-loopback address needs GatewayPorts yes or clientspecified; PermitListen or AllowTcpForwarding may forbid it).';
  return new TunnelError(`Error: remote port forwarding failed for listen port ${port} — ${causes}`, !reconnecting, 'REMOTE_BIND_FAILED');
}

/** A failure of the SSH connection itself, worded like `ssh` prints it. */
export function describeConnectionError(err: NodeError, hostName: string, port: number): TunnelError {
  const target = `host ${hostName} port ${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new TunnelError(`ssh: connect to ${target}: Connection refused — is sshd running there, and is the port right (Port in ~/.ssh/config)?`, false, err.code);
    case 'ENOTFOUND':
      return new TunnelError(`ssh: Could not resolve hostname ${hostName}: Name or service not known — check HostName in ~/.ssh/config or the spelling.`, false, err.code);
    case 'EAI_AGAIN':
      return new TunnelError(`ssh: Could not resolve hostname ${hostName}: Temporary failure in name resolution — is the network up?`, false, err.code);
    case 'ETIMEDOUT':
      return new TunnelError(`ssh: connect to ${target}: Connection timed out — the host does not answer; check the network, VPN or ConnectTimeout.`, false, err.code);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TunnelError(`ssh: connect to ${target}: No route to host — check the network or VPN.`, false, err.code);
    case 'ECONNRESET':
      return new TunnelError(`Connection reset by ${hostName} port ${port}`, false, err.code);
    case 'EPIPE':
      return new TunnelError(`Connection to ${hostName} closed (broken pipe)`, false, err.code);
  }
  if (err.level === 'client-timeout' && /keepalive/i.test(err.message)) {
    return new TunnelError(`Timeout, server ${hostName} not responding.`, false, 'KEEPALIVE_TIMEOUT');
  }
  if (err.level === 'client-timeout') {
    return new TunnelError(`ssh: connect to ${target}: Connection timed out during banner exchange — is it an SSH server?`, false, 'CONNECT_TIMEOUT');
  }
  if (/lost before handshake/i.test(err.message)) {
    // The server went away mid-handshake (restarting, overloaded): try again.
    return new TunnelError(`Connection to ${hostName} port ${port} closed during the SSH handshake — the server may be restarting.`, false, 'CLOSED');
  }
  if (err.level === 'protocol' || err.level === 'handshake') {
    // Nothing to agree on (algorithms) will not get better by retrying; other protocol errors might.
    const negotiation = /no matching|handshake failed/i.test(err.message);
    return new TunnelError(`ssh: ${hostName} port ${port}: ${err.message}`, negotiation, 'PROTOCOL');
  }
  return new TunnelError(`ssh: ${hostName} port ${port}: ${err.message}`, false, err.code);
}
