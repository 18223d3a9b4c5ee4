/**
 * The desktop-VS Code runner, for machines that can download VS Code (this project's CI machines
 * cannot: there the same behaviour is tested in code-server by test/e2e). Starts a real sshd,
 * writes an ssh config naming it `fixture` into a throwaway HOME, then runs ./suite inside the
 * extension host of a downloaded VS Code with this folder as the extension under development.
 *   npm run test:electron
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { renderSshConfig, sshConfigEntryFor, startSshd } from '../fixtures/sshd';

async function main(): Promise<void> {
  const sshd = await startSshd();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sshtunnels-electron-'));
  try {
    fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), renderSshConfig([sshConfigEntryFor(sshd, 'fixture', { extra: ['IdentityAgent none'] })]));
    const code = await runTests({
      extensionDevelopmentPath: path.resolve(__dirname, '../../..'),
      extensionTestsPath: path.resolve(__dirname, 'suite'),
      extensionTestsEnv: { HOME: home },
      launchArgs: ['--disable-extensions', '--disable-workspace-trust', home],
    });
    process.exitCode = code;
  } finally {
    await sshd.dispose();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
