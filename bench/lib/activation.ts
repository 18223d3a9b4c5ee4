/**
 * The extension's activation time as VS Code itself reports it: a real VS Code (code-server, the
 * e2e harness of test/e2e) with the built extension installed, "Developer: Show Running
 * Extensions", and the row of SSH Tunnels, whose "Activation: N ms" is VS Code's
 * codeLoadingTime + activateCallTime (require of dist/extension.js plus the synchronous part of
 * activate()). One fresh code-server per round. For scale, the same figure for a minimal
 * extension (activates on startup, `require('vscode')`, nothing else) in the same VS Code,
 * interleaved: VS Code's part (building the extension's API object on its first require of
 * 'vscode', a busy extension host at startup) is in both. Needs what `bash test/setup.sh` installs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingPrerequisites, startVsCode } from '../../test/e2e/harness';

export interface ActivationResult {
  /** VS Code's figure, ms, per round. */
  values: number[];
  /** The same for the minimal extension. */
  baseline: number[];
  /** The row's text as shown (e.g. "Activation: 9ms"). */
  texts: string[];
  /** Why nothing was measured (prerequisites missing, a round failed). */
  error?: string;
}

const ROW_NAME = 'SSH Tunnels';
const BASELINE_NAME = 'Bench Minimal Extension';

/** A folder extension that activates on startup and does nothing but require('vscode'). */
function minimalExtension(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'bench-minimal', displayName: BASELINE_NAME, version: '0.0.1', publisher: 'ssh-tunnels-bench',
    license: 'MIT', engines: { vscode: '^1.80.0' }, main: './extension.js', activationEvents: ['onStartupFinished'],
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'extension.js'), "const vscode = require('vscode');\nexports.activate = () => { void vscode.version; };\n");
  return dir;
}

/** One fresh code-server with `extensionDir` installed: its row's activation time in Running Extensions. */
async function activationOnce(extensionDir: string, name: string, home: string): Promise<{ ms: number; text: string }> {
  // A tall page: the list of running extensions is virtualized (only rows in view exist).
  const vs = await startVsCode({ extensionDir, install: 'copy', env: { HOME: home }, viewport: { width: 1280, height: 3200 } });
  try {
    await vs.runCommand('Developer: Show Running Extensions');
    const deadline = Date.now() + 30_000;
    let reopened = false;
    let text = '';
    // onStartupFinished: the row may read "Activating..." for a moment; the editor may open before
    // the extension host has reported (then it is opened once more).
    while (Date.now() < deadline) {
      if (!reopened && Date.now() > deadline - 20_000 && !text) {
        reopened = true;
        await vs.runCommand('Developer: Show Running Extensions');
      }
      const row = vs.page.locator('.monaco-list-row').filter({ has: vs.page.locator('.name', { hasText: name }) }).first();
      text = (await row.locator('.activation-time').textContent({ timeout: 1000 }).catch(() => ''))?.trim() ?? '';
      if (/\d+\s*ms/.test(text)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const m = /(\d+(?:\.\d+)?)\s*ms/.exec(text);
    if (!m) {
      const rows = (await vs.page.locator('.monaco-list-row').allTextContents()).map((r) => r.trim()).filter(Boolean);
      throw new Error(`no activation time for "${name}" in Running Extensions (row text: "${text}"; rows: ${rows.slice(0, 12).join(' / ')})`);
    }
    return { ms: Number(m[1]), text };
  } finally {
    await vs.close();
  }
}

export async function measureActivation(repo: string, home: string, rounds: number, log: (m: string) => void): Promise<ActivationResult> {
  const result: ActivationResult = { values: [], baseline: [], texts: [] };
  const missing = missingPrerequisites();
  if (missing.length) return { ...result, error: `not measured: ${missing.join('; ')} (bash test/setup.sh installs them)` };
  if (!fs.existsSync(path.join(repo, 'dist', 'extension.js'))) return { ...result, error: 'not measured: dist/extension.js missing (npm run build)' };
  const minimal = minimalExtension(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-minimal-ext-')));
  try {
    for (let i = 0; i < rounds; i++) {
      const ours = await activationOnce(repo, ROW_NAME, home);
      result.values.push(ours.ms);
      result.texts.push(ours.text);
      const base = await activationOnce(minimal, BASELINE_NAME, home);
      result.baseline.push(base.ms);
      log(`activation round ${i + 1}/${rounds}: SSH Tunnels ${ours.text}; minimal extension ${base.text}`);
    }
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    fs.rmSync(minimal, { recursive: true, force: true });
  }
  return result;
}
