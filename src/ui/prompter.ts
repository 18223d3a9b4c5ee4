/**
 * The engine's Prompter for VS Code: passwords, key passphrases and keyboard-interactive questions
 * in input boxes, unknown host keys in a modal dialog. Questions are asked one at a time (a second
 * input box would close the first). Passwords are remembered in SecretStorage only when the user
 * turns on "remember" (key per user@host:port); a remembered password is offered once per
 * connection attempt and, when refused, forgotten and asked for again. A question the engine
 * withdraws (its connection attempt ended) closes; one still waiting its turn is never shown. The
 * host-key dialog is modal and VS Code cannot close it: withdrawn, its answer is ignored.
 */
import vscode = require('vscode');
import type {
  HostKeyRequest, KeyboardInteractiveRequest, PassphraseRequest, PasswordRequest, Prompter,
} from '../core/model';

/** Where an alias really goes, to key remembered passwords by user@hostname:port. */
export type HostResolver = (alias: string) => { hostName: string; port: number } | undefined;

interface Answer {
  value: string;
  remember: boolean;
}

interface BoxOptions {
  title: string;
  prompt: string;
  password: boolean;
  /** Offer the "remember" button. */
  rememberable?: boolean;
}

const ACCEPT_HOST_KEY = 'Accept and Connect';

export class VsCodePrompter implements Prompter {
  private queue: Promise<unknown> = Promise.resolve();
  /** Keyboard-interactive password rounds per host in the connection attempt under way. */
  private readonly kbdAttempts = new Map<string, number>();

  constructor(private readonly secrets: vscode.SecretStorage, private readonly resolve: HostResolver) {}

  /**
   * A connection attempt to the host ended (logged in, failed or gave up): its next
   * keyboard-interactive password question is a first attempt again.
   */
  attemptEnded(alias: string): void {
    this.kbdAttempts.delete(alias);
  }

  password(req: PasswordRequest, withdrawn?: AbortSignal): Promise<string | undefined> {
    return this.serial(withdrawn, undefined, () => this.askPassword(req.host, req.user, req.attempt, `${req.user}@${req.host}'s password:`, withdrawn));
  }

  passphrase(req: PassphraseRequest, withdrawn?: AbortSignal): Promise<string | undefined> {
    return this.serial(withdrawn, undefined, async () => {
      const answer = await this.inputBox({
        title: `SSH key passphrase — ${req.host}`,
        prompt: `${req.attempt > 1 ? 'Bad passphrase, try again. ' : ''}Enter passphrase for key '${req.keyFile}':`,
        password: true,
      }, withdrawn);
      return answer?.value;
    });
  }

  keyboardInteractive(req: KeyboardInteractiveRequest, withdrawn?: AbortSignal): Promise<string[] | undefined> {
    return this.serial(withdrawn, undefined, async () => {
      const only = req.prompts.length === 1 ? req.prompts[0] : undefined;
      if (only && !only.echo && /password/i.test(only.prompt)) {
        // PAM's "Password:" round: treat it like password authentication (remember, retry).
        const attempt = (this.kbdAttempts.get(req.host) ?? 0) + 1;
        this.kbdAttempts.set(req.host, attempt);
        const pw = await this.askPassword(req.host, req.user, attempt, `${req.user}@${req.host}: ${only.prompt}`, withdrawn);
        return pw === undefined ? undefined : [pw];
      }
      const answers: string[] = [];
      for (const p of req.prompts) {
        const answer = await this.inputBox({
          title: `${req.name || 'Keyboard-interactive authentication'} — ${req.user}@${req.host}`,
          prompt: [req.instructions, p.prompt].filter(Boolean).join(' — '),
          password: !p.echo,
        }, withdrawn);
        if (!answer) return undefined;
        answers.push(answer.value);
      }
      return answers;
    });
  }

  confirmHostKey(req: HostKeyRequest, withdrawn?: AbortSignal): Promise<boolean> {
    return this.serial(withdrawn, false, async () => {
      const where = req.port === 22 ? req.host : `[${req.host}]:${req.port}`;
      const choice = await vscode.window.showWarningMessage(
        `The authenticity of host '${where}' can't be established.`,
        {
          modal: true,
          detail: `${req.keyType} key fingerprint is ${req.fingerprint}.\n\n` +
            'Compare it with the fingerprint the server\'s administrator gave you ' +
            '(on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). ' +
            `When accepted, the key is added to ${req.knownHostsFile} and not asked again.`,
        },
        ACCEPT_HOST_KEY,
      );
      return choice === ACCEPT_HOST_KEY;
    });
  }

  private secretKey(alias: string, user: string): string {
    let target = alias;
    try {
      const r = this.resolve(alias);
      if (r) target = `${r.hostName.includes(':') ? `[${r.hostName}]` : r.hostName}:${r.port}`;
    } catch {
      /* an unresolvable alias: key by the alias itself */
    }
    return `sshTunnels.password:${user}@${target}`;
  }

  private async askPassword(alias: string, user: string, attempt: number, prompt: string, withdrawn?: AbortSignal): Promise<string | undefined> {
    const key = this.secretKey(alias, user);
    const stored = await this.secrets.get(key);
    if (stored !== undefined && attempt <= 1) return stored;
    if (stored !== undefined) await this.secrets.delete(key);
    const answer = await this.inputBox({
      title: `SSH password — ${user}@${alias}`,
      prompt: stored !== undefined
        ? `The remembered password was refused and has been forgotten. ${prompt}`
        : `${attempt > 1 ? 'Permission denied, please try again. ' : ''}${prompt}`,
      password: true,
      rememberable: true,
    }, withdrawn);
    if (answer?.remember) await this.secrets.store(key, answer.value);
    return answer?.value;
  }

  /** Runs one question after the other; one withdrawn before its turn answers `unanswered`. */
  private serial<T>(withdrawn: AbortSignal | undefined, unanswered: T, ask: () => Promise<T>): Promise<T> {
    const turn = (): Promise<T> => (withdrawn?.aborted ? Promise.resolve(unanswered) : ask());
    const next = this.queue.then(turn, turn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** An input box; closed (answering undefined) when `withdrawn` aborts. */
  private inputBox(opts: BoxOptions, withdrawn?: AbortSignal): Promise<Answer | undefined> {
    return new Promise((resolve) => {
      if (withdrawn?.aborted) return resolve(undefined);
      const box = vscode.window.createInputBox();
      let remember = false;
      const rememberButton = (): vscode.QuickInputButton => remember
        ? { iconPath: new vscode.ThemeIcon('pass-filled'), tooltip: 'Will be remembered in VS Code\'s secret storage (click to not remember)' }
        : { iconPath: new vscode.ThemeIcon('key'), tooltip: 'Remember this password (in VS Code\'s secret storage)' };
      const title = (): string => opts.title + (remember ? ' (will be remembered)' : '');
      box.title = title();
      box.prompt = opts.prompt;
      box.password = opts.password;
      box.ignoreFocusOut = true;
      if (opts.rememberable) box.buttons = [rememberButton()];
      let done = false;
      const finish = (answer: Answer | undefined): void => {
        if (done) return;
        done = true;
        resolve(answer);
        subs.forEach((s) => s.dispose());
        withdrawn?.removeEventListener('abort', onWithdrawn);
        box.dispose();
      };
      const onWithdrawn = (): void => finish(undefined);
      withdrawn?.addEventListener('abort', onWithdrawn);
      const subs = [
        box.onDidTriggerButton(() => {
          remember = !remember;
          box.buttons = [rememberButton()];
          box.title = title();
        }),
        box.onDidAccept(() => finish({ value: box.value, remember })),
        box.onDidHide(() => finish(undefined)),
      ];
      box.show();
    });
  }
}
