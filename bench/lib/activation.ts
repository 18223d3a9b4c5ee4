/**
 * The extension's activation time as VS Code itself reports it: a real VS Code (code-server, the
 * e2e harness of test/e2e) with the built extension installed, "Developer: Show Running
 * Extensions", and the row of SSH Tunnels, whose "Activation: N ms" is VS Code's
 * codeLoadingTime + activateCallTime (require of dist/extension.js plus the synchronous part of
 * activate()). One fresh code-server per round. For scale, the same figure for a minimal
 * extension (activates on startup, `require('vscode')`, nothing else) in the same VS Code,
 * interleaved: VS Code's part is in both. Needs what `bash test/setup.sh` installs.
 *
 * What VS Code's figure is made of (bench/lib/activationMarks.ts): VS Code's own performance marks
 * in the extension host, read by a probe extension that activates on a command after the figure was
 * read, so it is not in the startup batch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingPrerequisites, startVsCode } from '../../test/e2e/harness';
import { type ActivationParts, activationParts } from './activationMarks';
import { writeBenchExtension } from './benchExtension';

export type { ActivationParts };

export interface ActivationResult {
  /** VS Code's figure, ms, per round. */
  values: number[];
  /** The same for the minimal extension. */
  baseline: number[];
  /** The row's text as shown (e.g. "Activation: 9ms"). */
  texts: string[];
  /** VS Code's marks, per round: the extension's own require and activate(), and the rest of its figure. */
  parts?: ActivationParts[];
  baselineParts?: ActivationParts[];
  /** Why nothing was measured (prerequisites missing, a round failed). */
  error?: string;
}

const ROW_NAME = 'SSH Tunnels';
const ROW_ID = 'ssh-tunnels.ssh-tunnels';
const BASELINE_NAME = 'Bench Minimal Extension';
const BASELINE_ID = 'ssh-tunnels-bench.bench-minimal';
const MARKS_COMMAND = 'Bench: Write Extension Host Marks';

/**
 * Activates on its command only (after the figure was read, outside the startup batch) and writes
 * VS Code's performance marks of the extension host to $BENCH_MARKS_FILE.
 */
function marksProbe(dir: string): string {
  return writeBenchExtension(dir, {
    name: 'bench-marks', displayName: 'Bench Marks Probe',
    activationEvents: ['onCommand:sshTunnelsBench.writeMarks'],
    contributes: { commands: [{ command: 'sshTunnelsBench.writeMarks', title: MARKS_COMMAND }] },
  }, [
    "const vscode = require('vscode');",
    "const fs = require('fs');",
    'exports.activate = (context) => {',
    "  context.subscriptions.push(vscode.commands.registerCommand('sshTunnelsBench.writeMarks', () => {",
    '    const m = globalThis.MonacoPerformanceMarks;',
    '    fs.writeFileSync(process.env.BENCH_MARKS_FILE, JSON.stringify(m && typeof m.getMarks === "function" ? m.getMarks() : null));',
    '  }));',
    '};',
    '',
  ].join('\n'));
}

/** A folder extension that activates on startup and does nothing but require('vscode'). */
function minimalExtension(dir: string): string {
  return writeBenchExtension(dir, { name: 'bench-minimal', displayName: BASELINE_NAME, activationEvents: ['onStartupFinished'] },
    "const vscode = require('vscode');\nexports.activate = () => { void vscode.version; };\n");
}

/** One fresh code-server with `extensionDir` installed: its row's activation time in Running Extensions. */
async function activationOnce(extensionDir: string, name: string, id: string, home: string, probe: string, settings?: Record<string, unknown>): Promise<{ ms: number; text: string; parts?: ActivationParts }> {
  const marksFile = path.join(home, `marks-${process.pid}.json`);
  fs.rmSync(marksFile, { force: true });
  // A tall page: the list of running extensions is virtualized (only rows in view exist).
  const vs = await startVsCode({
    extensionDir, install: 'copy', alsoInstall: [probe], env: { HOME: home, BENCH_MARKS_FILE: marksFile }, viewport: { width: 1280, height: 3200 }, settings,
  });
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
    const ms = Number(m[1]);
    // The marks, read after the figure: the probe's own activation cannot be in it.
    let parts: ActivationParts | undefined;
    try {
      await vs.runCommand(MARKS_COMMAND);
      const marksDeadline = Date.now() + 10_000;
      while (!fs.existsSync(marksFile) && Date.now() < marksDeadline) await new Promise((r) => setTimeout(r, 100));
      const marks = JSON.parse(fs.readFileSync(marksFile, 'utf8')) as { name: string; startTime: number }[] | null;
      parts = marks ? activationParts(marks, id, ms) : undefined;
    } catch {
      parts = undefined; // no marks (an older VS Code, the probe's command not found): the figure alone
    }
    return { ms, text, parts };
  } finally {
    await vs.close();
  }
}

/** `settings`: user settings for every window measured (BENCH_ACTIVATION_SAVED puts saved tunnels there). */
export async function measureActivation(repo: string, home: string, rounds: number, log: (m: string) => void, settings?: Record<string, unknown>): Promise<ActivationResult> {
  const result: ActivationResult = { values: [], baseline: [], texts: [] };
  const missing = missingPrerequisites();
  if (missing.length) return { ...result, error: `not measured: ${missing.join('; ')} (bash test/setup.sh installs them)` };
  if (!fs.existsSync(path.join(repo, 'dist', 'extension.js'))) return { ...result, error: 'not measured: dist/extension.js missing (npm run build)' };
  const minimal = minimalExtension(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-minimal-ext-')));
  const probe = marksProbe(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-marks-ext-')));
  const describe = (p: ActivationParts | undefined): string =>
    p ? ` (its require ${p.loadMs} ms, activate ${p.activateMs} ms, the rest ${p.restMs} ms${p.loadedMeanwhile.length ? `, ${p.othersLoadMs} ms of it the requires of ${p.loadedMeanwhile.join(', ')}` : ''})` : '';
  try {
    for (let i = 0; i < rounds; i++) {
      const ours = await activationOnce(repo, ROW_NAME, ROW_ID, home, probe, settings);
      result.values.push(ours.ms);
      result.texts.push(ours.text);
      if (ours.parts) (result.parts ??= []).push(ours.parts);
      const base = await activationOnce(minimal, BASELINE_NAME, BASELINE_ID, home, probe, settings);
      result.baseline.push(base.ms);
      if (base.parts) (result.baselineParts ??= []).push(base.parts);
      log(`activation round ${i + 1}/${rounds}: SSH Tunnels ${ours.text}${describe(ours.parts)}; minimal extension ${base.text}${describe(base.parts)}`);
    }
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    fs.rmSync(minimal, { recursive: true, force: true });
    fs.rmSync(probe, { recursive: true, force: true });
  }
  return result;
}
