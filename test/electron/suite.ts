/**
 * Runs inside the extension host (see runTest.ts): the palette commands called with arguments, as
 * scripts and tasks call them, against the sshd named `fixture` in the test HOME's ssh config.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ForwardSnapshot } from '../../src/core/model';
import { echoThrough, isBound, startEchoServer } from '../fixtures/servers';
import { freePort } from '../fixtures/sshd';

export async function run(): Promise<void> {
  const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'ssh-tunnels');
  assert.ok(ext, 'the extension is installed');
  await ext.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const id of ['addLocalForward', 'addRemoteForward', 'addDynamicForward', 'toggleTunnel', 'removeTunnel', 'openInBrowser']) {
    assert.ok(commands.includes(`sshTunnels.${id}`), `sshTunnels.${id} is registered`);
  }
  const echo = await startEchoServer();
  try {
    const port = await freePort();
    const snap = await vscode.commands.executeCommand<ForwardSnapshot>('sshTunnels.addLocalForward', { host: 'fixture', spec: `${port}:127.0.0.1:${echo.port}`, save: false });
    assert.equal(snap.state, 'listening', snap.error);
    assert.equal((await echoThrough(port, Buffer.from('through desktop VS Code'))).toString(), 'through desktop VS Code');
    await vscode.commands.executeCommand('sshTunnels.toggleTunnel', { id: snap.id });
    assert.equal(isBound(port), false);
    await vscode.commands.executeCommand('sshTunnels.removeTunnel', { id: snap.id });
  } finally {
    await echo.close();
  }
}
