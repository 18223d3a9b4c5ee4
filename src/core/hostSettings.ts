/**
 * A host's effective settings: what the ssh config resolves (like `ssh -G`), with the extension's
 * own overrides applied. Shared by TunnelManager and EngineClient (which answers config questions
 * on the UI's thread without loading the rest of the engine).
 */
import { TunnelError } from './errors';
import type { ResolvedHost, SshConfig } from './sshConfig';

export interface HostOverrides {
  /** Replaces UserKnownHostsFile from the ssh config when set. */
  knownHostsFile?: string;
  /** Overrides StrictHostKeyChecking from the ssh config when set. */
  strictHostKeyChecking?: ResolvedHost['strictHostKeyChecking'];
  /** ServerAliveInterval (s) for hosts whose ssh config sets none. */
  keepaliveInterval?: number;
}

/** Throws a TunnelError (BAD_DESTINATION) for a destination that cannot be parsed. */
export function resolveHostSettings(config: SshConfig, host: string, o: HostOverrides): ResolvedHost {
  let resolved: ResolvedHost;
  try {
    resolved = config.resolve(host);
  } catch (err) {
    throw new TunnelError((err as Error).message, true, 'BAD_DESTINATION');
  }
  return {
    ...resolved,
    userKnownHostsFiles: o.knownHostsFile ? [o.knownHostsFile] : resolved.userKnownHostsFiles,
    strictHostKeyChecking: o.strictHostKeyChecking ?? resolved.strictHostKeyChecking,
    serverAliveInterval: resolved.serverAliveIntervalFromConfig ? resolved.serverAliveInterval : (o.keepaliveInterval ?? resolved.serverAliveInterval),
  };
}
