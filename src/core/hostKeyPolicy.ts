/**
 * Decides whether to trust a server's host key before any credential is sent, following the
 * host's StrictHostKeyChecking: known keys pass; changed and revoked keys are always refused (with
 * OpenSSH's warning and both fingerprints); unknown keys are refused (yes), recorded (accept-new,
 * no), or put to the user (ask) and recorded when accepted.
 */
import { KnownHosts, appendKnownHost, changedHostKeyWarning, revokedHostKeyMessage } from './knownHosts';
import { TunnelError } from './errors';
import type { Log } from './log';
import type { Prompter } from './model';
import type { ResolvedHost } from './sshConfig';

function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Resolves to undefined when the key is trusted, or to the error that refuses it. `withdrawn`
 * aborts when the connection attempt ends: the question is then withdrawn and the key not accepted.
 */
export async function checkHostKey(host: ResolvedHost, key: Buffer, log: Log, prompter: Prompter, withdrawn?: AbortSignal): Promise<TunnelError | undefined> {
  const files = [...host.userKnownHostsFiles, ...host.globalKnownHostsFiles];
  const name = host.hostKeyAlias ?? host.hostName;
  const result = new KnownHosts(files).check(name, host.port, key);
  const label = hostLabel(name, host.port);
  log.debug1(`Server host key: ${result.keyType} ${result.fingerprint}`);
  switch (result.status) {
    case 'known': {
      const m = result.matches[0];
      log.debug1(`Host '${label}' is known and matches the ${result.keyType} host key.`);
      if (m) log.debug1(`Found key in ${m.file}:${m.line}`);
      return undefined;
    }
    case 'revoked':
      return new TunnelError(revokedHostKeyMessage(name, host.port, result), true, 'HOST_KEY_REVOKED');
    case 'changed':
      return new TunnelError(changedHostKeyWarning(name, host.port, result), true, 'HOST_KEY_CHANGED');
    case 'unknown':
      break;
  }
  const file = host.userKnownHostsFiles[0];
  const record = (): void => {
    try {
      appendKnownHost(file, name, host.port, key, host.hashKnownHosts);
      log.info(`Warning: Permanently added '${label}' (${result.keyType}) to the list of known hosts.`);
    } catch (err) {
      log.error(`Failed to add the host to the list of known hosts (${file}): ${(err as Error).message}`);
    }
  };
  switch (host.strictHostKeyChecking) {
    case 'yes':
      return new TunnelError(
        `No ${result.keyType} host key is known for ${label} and you have requested strict checking. ` +
          `Host key verification failed. The server's key is ${result.fingerprint}; if that is right, add it with ` +
          `"ssh-keyscan -p ${host.port} ${name} >> ${file}" after checking it, or set StrictHostKeyChecking accept-new.`,
        true, 'HOST_KEY_UNKNOWN');
    case 'accept-new':
    case 'no':
    case 'off':
      record();
      return undefined;
    case 'ask': {
      const accepted = await prompter.confirmHostKey({
        host: name,
        port: host.port,
        keyType: result.keyType,
        fingerprint: result.fingerprint,
        knownHostsFile: file,
      }, withdrawn);
      if (!accepted || withdrawn?.aborted) {
        return new TunnelError(`Host key verification failed: the ${result.keyType} key ${result.fingerprint} of ${label} was not accepted.`, true, 'HOST_KEY_REJECTED');
      }
      record();
      return undefined;
    }
  }
}
