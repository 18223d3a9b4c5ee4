/**
 * The engine's public, plain-data model. Everything here is serialisable (no class instances, no
 * functions) so that the engine can run in a child process (or a worker thread) and talk to the UI
 * with messages: snapshots go out, commands and prompt answers come in.
 */

/** OpenSSH's three kinds of TCP forwarding: -L, -R and -D. */
export type ForwardKind = 'local' | 'remote' | 'dynamic';

/** A parsed forward, as OpenSSH's -L/-R/-D or LocalForward/RemoteForward/DynamicForward. */
export interface ForwardSpec {
  kind: ForwardKind;
  /**
   * The listen address as written. `undefined` = not given (loopback, like OpenSSH without -g);
   * `'*'` or `''` = every interface (needs confirmation); otherwise an address or host name, IPv6
   * without brackets.
   */
  bindAddress?: string;
  /** The listen port; 0 asks the OS (local) or the server (remote) to allocate one. */
  bindPort: number;
  /** Where connections go. Absent for dynamic (-D) and remote SOCKS (-R [bind:]port). */
  targetHost?: string;
  targetPort?: number;
}

export type ForwardState = 'stopped' | 'starting' | 'listening' | 'reconnecting' | 'error';
export type SessionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'error';

/** One live connection through a forward (a line of OpenSSH's `~#` list). */
export interface ConnectionSnapshot {
  id: number;
  /** Who connected: for -L/-D the local client, for -R the address sshd reports. */
  originAddress: string;
  originPort: number;
  /** Where it goes, as `host:port`. */
  destination: string;
  /** Bytes from the originator towards the destination. */
  bytesSent: number;
  /** Bytes from the destination back to the originator. */
  bytesReceived: number;
  openedAt: number;
}

export interface ForwardSnapshot {
  id: string;
  /** Host alias (from ssh config) or `user@host:port` destination this forward runs on. */
  host: string;
  kind: ForwardKind;
  spec: ForwardSpec;
  /** The OpenSSH form, e.g. `-L 127.0.0.1:9999:mailserver:110`. */
  sshFlag: string;
  label?: string;
  state: ForwardState;
  /** Why the forward is in `error` or `reconnecting`: cause and fix, in words. */
  error?: string;
  /** The last failure of a single connection (e.g. destination refused); the forward carries on. */
  lastConnectionError?: string;
  /** Where it actually listens (for -R the port the server allocated when 0 was asked). */
  listenAddress?: string;
  listenPort?: number;
  since: number;
  bytesSent: number;
  bytesReceived: number;
  totalConnections: number;
  connections: ConnectionSnapshot[];
  /** The caller confirmed a non-loopback bind (GatewayPorts / -g). */
  allowNonLoopback: boolean;
}

export interface HostSnapshot {
  /** The name the user knows: the ssh config alias or the typed destination. */
  alias: string;
  hostName: string;
  user: string;
  port: number;
  state: SessionState;
  error?: string;
  since: number;
  /** Next reconnect attempt (epoch ms) while reconnecting. */
  nextAttemptAt?: number;
  attempt?: number;
  forwards: ForwardSnapshot[];
}

export interface ManagerSnapshot {
  hosts: HostSnapshot[];
}

/** Whether a forward's engine is running it (so the action is "stop" rather than "start"). */
export function isActive(f: ForwardSnapshot): boolean {
  return f.state === 'starting' || f.state === 'listening' || f.state === 'reconnecting';
}

export function allForwards(hosts: readonly HostSnapshot[]): ForwardSnapshot[] {
  return hosts.flatMap((h) => h.forwards);
}

/** Requests the engine makes of whoever drives it (the VS Code UI, a test, a CLI). */
export interface PasswordRequest { host: string; user: string; attempt: number }
export interface PassphraseRequest { host: string; keyFile: string; attempt: number }
export interface KeyboardInteractiveRequest {
  host: string;
  user: string;
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}
export interface HostKeyRequest {
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:...` as OpenSSH prints it. */
  fingerprint: string;
  /** Where the key will be recorded when accepted. */
  knownHostsFile: string;
}

/**
 * Asks the user. Every method may return `undefined` (cancelled), which aborts that authentication
 * method (or the connection, for host keys). Secrets returned here are never logged.
 *
 * `withdrawn` aborts when the answer is no longer wanted: the connection attempt that asked ended
 * (the tunnel was stopped or the host disconnected, the server hung up, the engine stopped). The
 * question should then close (or, not shown yet, never show); whatever it returns is ignored.
 */
export interface Prompter {
  password(req: PasswordRequest, withdrawn?: AbortSignal): Promise<string | undefined>;
  passphrase(req: PassphraseRequest, withdrawn?: AbortSignal): Promise<string | undefined>;
  keyboardInteractive(req: KeyboardInteractiveRequest, withdrawn?: AbortSignal): Promise<string[] | undefined>;
  /** An unknown host key: accept (and record) it or not. Changed and revoked keys are never asked. */
  confirmHostKey(req: HostKeyRequest, withdrawn?: AbortSignal): Promise<boolean>;
}
