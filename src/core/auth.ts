/**
 * Client authentication in OpenSSH's order — agent, identity files (asking for a passphrase when a
 * key is encrypted), keyboard-interactive, password — driven through ssh2's `authHandler`. Every
 * question goes to the Prompter; every answer is registered with the log for redaction.
 */
import fs = require('node:fs');
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, Prompt } from 'ssh2';
import type { Log } from './log';
import type { Prompter } from './model';
import type { ResolvedHost } from './sshConfig';
import { fingerprintSha256 } from './knownHosts';
import { ssh2 } from './lazySsh2';

/** OpenSSH's NumberOfPasswordPrompts default. */
const PASSWORD_PROMPTS = 3;

type Step = () => Promise<AnyAuthMethod | undefined>;

export interface AuthState {
  readonly handler: AuthHandlerMiddleware;
  /** Methods offered so far, e.g. `publickey (/root/.ssh/id_ed25519)`. */
  readonly tried: string[];
  /** Identity files not offered, with why (`/path (no such file)`), for the failure message. */
  readonly skipped: string[];
  /** What the server said it accepts, from its last answer. */
  readonly serverMethods: string[];
  /** The method in flight; after `ready` it is the one that succeeded. */
  readonly current: string | undefined;
  /** The user cancelled a prompt. */
  readonly cancelled: boolean;
}

function isEncryptedKeyError(err: Error): boolean {
  return /passphrase|encrypted|decrypt/i.test(err.message);
}

/** `withdrawn`: aborts when the connection attempt ends; an open question is then withdrawn. */
export function createAuth(host: ResolvedHost, displayName: string, log: Log, prompter: Prompter, withdrawn?: AbortSignal): AuthState {
  const tried: string[] = [];
  const skipped: string[] = [];
  let serverMethods: string[] = [];
  let current: string | undefined;
  let cancelled = false;
  const username = host.user;

  const steps: { method: AuthenticationType; run: Step }[] = [];

  const agent = host.identityAgent;
  if (agent && agent !== 'none' && !host.identitiesOnly && fs.existsSync(agent)) {
    steps.push({
      method: 'publickey',
      run: async () => {
        current = 'publickey';
        tried.push('publickey (agent)');
        log.debug1(`Will attempt key: agent ${agent}`);
        return { type: 'agent', username, agent };
      },
    });
  }

  for (const file of host.identityFiles) {
    steps.push({ method: 'publickey', run: () => offerKeyFile(file) });
  }

  let kbdRounds = 0;
  steps.push(...Array.from({ length: PASSWORD_PROMPTS }, () => ({
    method: 'keyboard-interactive' as const,
    run: async (): Promise<AnyAuthMethod | undefined> => {
      kbdRounds++;
      current = 'keyboard-interactive';
      if (kbdRounds === 1) tried.push('keyboard-interactive');
      return {
        type: 'keyboard-interactive',
        username,
        prompt: (name: string, instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
          if (prompts.length === 0) return finish([]);
          if (withdrawn?.aborted) {
            cancelled = true;
            return finish([]);
          }
          prompter
            .keyboardInteractive({
              host: displayName,
              user: username,
              name,
              instructions,
              prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })),
            }, withdrawn)
            .then((answers) => {
              if (!answers) {
                cancelled = true;
                return finish([]);
              }
              answers.forEach((a) => log.redact(a));
              finish(answers);
            }, () => {
              cancelled = true;
              finish([]);
            });
        },
      };
    },
  })));

  let passwordAttempt = 0;
  steps.push(...Array.from({ length: PASSWORD_PROMPTS }, () => ({
    method: 'password' as const,
    run: async (): Promise<AnyAuthMethod | undefined> => {
      passwordAttempt++;
      if (withdrawn?.aborted) {
        cancelled = true;
        return undefined;
      }
      const password = await prompter.password({ host: displayName, user: username, attempt: passwordAttempt }, withdrawn);
      if (password === undefined) {
        cancelled = true;
        return undefined;
      }
      log.redact(password);
      current = 'password';
      if (passwordAttempt === 1) tried.push('password');
      else log.debug1('Permission denied, please try again.');
      return { type: 'password', username, password };
    },
  })));

  async function offerKeyFile(file: string): Promise<AnyAuthMethod | undefined> {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      log.debug1(`no such identity: ${file}: ${missing ? 'No such file or directory' : (err as Error).message}`);
      skipped.push(`${file} (${missing ? 'no such file' : (err as Error).message})`);
      return undefined;
    }
    let parsed = ssh2().parseKey(data);
    let passphrase: string | undefined;
    for (let attempt = 1; parsed instanceof Error && isEncryptedKeyError(parsed) && attempt <= PASSWORD_PROMPTS; attempt++) {
      if (withdrawn?.aborted) return undefined;
      passphrase = await prompter.passphrase({ host: displayName, keyFile: file, attempt }, withdrawn);
      if (passphrase === undefined) {
        log.debug1(`Skipping key ${file}: no passphrase given`);
        skipped.push(`${file} (no passphrase given)`);
        return undefined;
      }
      log.redact(passphrase);
      parsed = ssh2().parseKey(data, passphrase);
      if (parsed instanceof Error) log.info(`Bad passphrase for key ${file}.`);
    }
    if (parsed instanceof Error) {
      log.debug1(`Skipping key ${file}: ${parsed.message}`);
      skipped.push(`${file} (${parsed.message})`);
      return undefined;
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key.isPrivateKey()) {
      log.debug1(`Skipping key ${file}: not a private key`);
      skipped.push(`${file} (not a private key)`);
      return undefined;
    }
    current = 'publickey';
    tried.push(`publickey (${file})`);
    log.debug1(`Offering public key: ${file} ${key.type} ${fingerprintSha256(key.getPublicSSH())}`);
    return { type: 'publickey', username, key: data, passphrase };
  }

  let index = 0;
  const handler: AuthHandlerMiddleware = (methodsLeft, _partial, next) => {
    if (methodsLeft === null || methodsLeft === undefined) {
      // Ask with "none" first, as OpenSSH does, to learn what the server accepts.
      current = 'none';
      return next({ type: 'none', username });
    }
    serverMethods = methodsLeft;
    log.debug1(`Authentications that can continue: ${methodsLeft.join(',')}`);
    void (async () => {
      while (index < steps.length && !cancelled) {
        const step = steps[index++];
        if (!methodsLeft.includes(step.method)) continue;
        let method: AnyAuthMethod | undefined;
        try {
          method = await step.run();
        } catch (err) {
          log.debug1(`${step.method}: ${(err as Error).message}`);
          cancelled = true;
        }
        if (method) {
          log.debug1(`Next authentication method: ${step.method}`);
          return next(method);
        }
      }
      next(false as unknown as AuthenticationType);
    })();
  };

  return {
    handler,
    tried,
    skipped,
    get serverMethods() { return serverMethods; },
    get current() { return current; },
    get cancelled() { return cancelled; },
  };
}
