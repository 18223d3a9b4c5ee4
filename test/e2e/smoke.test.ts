/**
 * Smoke test of the browser-driven VS Code harness (test/e2e/harness.ts): a real VS Code
 * (code-server) in headless chromium, with the throwaway extension test/e2e/fixture-extension
 * installed. Runs the fixture's command from the command palette and checks its effects.
 *
 * Skips (never fails) when the prerequisites are missing; `bash test/e2e/setup.sh` installs them.
 * Build first: `npx tsc -p .`, then `node --test out/test/e2e/`.
 */
import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  e2eInstall,
  liveProcessGroups,
  missingPrerequisites,
  repoRoot,
  startVsCode,
  type StartVsCodeOptions,
} from './harness';

const root = repoRoot();
const fixture = path.join(root, 'test', 'e2e', 'fixture-extension');
const missing = missingPrerequisites();
const skipReason = missing.length
  ? `e2e prerequisites missing (${missing.join('; ')}); run "bash test/e2e/setup.sh" to make this test runnable`
  : undefined;

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function helloRoundTrip(
  t: TestContext,
  install: StartVsCodeOptions['install'],
  screenshot: string,
  drive: 'runCommand' | 'quickInput',
): Promise<void> {
  const t0 = Date.now();
  // a workspace of our own with one file, to check the Explorer tree through treeRows()
  const workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-smoke-ws-'));
  fs.writeFileSync(path.join(workspaceDir, 'notes.txt'), 'hello\n');
  const vs = await startVsCode({
    extensionDir: fixture,
    install,
    workspaceDir,
    artifactsDir: path.join(root, 'out', 'e2e-artifacts', `smoke-${install}`),
  });
  try {
    t.diagnostic(`installed as ${vs.installMode}: ${vs.installNote}`);
    t.diagnostic(`workbench ready after ${Date.now() - t0} ms at ${vs.url}`);

    // the extension is installed in the throwaway extensions dir, under its id
    const installed = fs.readdirSync(vs.extensionsDir).filter((d) => d.startsWith('ssh-tunnels-test.e2e-fixture-'));
    assert.deepEqual(installed, ['ssh-tunnels-test.e2e-fixture-0.0.1']);

    await vs.openViewContainer('Explorer');
    await eventually('notes.txt in the Explorer tree', async () => ((await vs.treeRows()).includes('notes.txt') ? true : undefined));

    if (drive === 'runCommand') {
      await vs.runCommand('E2E Fixture: Hello');
    } else {
      await vs.openCommandPalette();
      await vs.quickInput.type('>E2E Fixture: Hel');
      assert.equal(await vs.quickInput.waitForItem('E2E Fixture: Hello'), 'E2E Fixture: Hello');
      assert.deepEqual(await vs.quickInput.items(), ['E2E Fixture: Hello']);
      await vs.quickInput.pick('E2E Fixture: Hello');
      await vs.quickInput.waitForClosed();
      assert.equal(await vs.quickInput.isOpen(), false);
    }
    assert.equal(await vs.statusBarText('E2E hello ok'), 'E2E hello ok');
    const message = await vs.waitForNotification('hello from the fixture extension');
    assert.equal(message, 'E2E Fixture: hello from the fixture extension');
    assert.ok((await vs.notifications()).includes(message));

    await vs.screenshot(screenshot);
    assert.ok(fs.statSync(screenshot).size > 10_000, 'screenshot looks empty');

    // logs: the extension's output channel, the extension host log and console.log all reach us
    const channel = await eventually('the "E2E Fixture" output channel log', async () => {
      const text = await vs.outputChannel('E2E Fixture');
      return text?.includes('hello command ran') ? text : undefined;
    });
    assert.match(channel, /e2e fixture activated/);
    assert.match(await vs.extensionHostLog(), /_doActivateExtension ssh-tunnels-test\.e2e-fixture\b/);
    await eventually('the fixture console.log in the browser console', async () =>
      vs.consoleMessages().find((m) => m.includes('[e2e-fixture] hello command ran')),
    );
    t.diagnostic(`round trip done after ${Date.now() - t0} ms`);
  } finally {
    await vs.close();
    fs.rmSync(workspaceDir, { recursive: true, force: true });
  }
  assert.deepEqual(liveProcessGroups(), [], 'code-server / chromium process groups left behind');
  assert.ok(!fs.existsSync(vs.userDataDir), 'temp dirs left behind');
  t.diagnostic(`closed after ${Date.now() - t0} ms`);
}

test('e2e smoke: fixture installed from a .vsix; runCommand sets the status bar and notifies', { timeout: 240_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  if (!e2eInstall().vsce) return t.skip('@vscode/vsce not installed in .vscode-test/vsce (bash test/e2e/setup.sh installs it)');
  await helloRoundTrip(t, 'vsix', path.join(root, 'out', 'e2e-smoke.png'), 'runCommand');
});

test('e2e smoke: fixture copied as a folder; palette driven through quickInput', { timeout: 240_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  await helloRoundTrip(t, 'copy', path.join(root, 'out', 'e2e-smoke-copy.png'), 'quickInput');
});
