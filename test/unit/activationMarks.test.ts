/** bench/lib/activationMarks.ts: VS Code's activation figure split by its own extension-host marks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activationParts } from '../../bench/lib/activationMarks';

// Marks as code-server 4.139.1's extension host recorded them in a bench round (ms since the epoch,
// shifted): two built-in extensions on onStartupFinished were loaded ahead of ours.
const T = 1_000_000;
const mark = (what: string, ext: string, t: number) => ({ name: `code/extHost/${what}/${ext}`, startTime: T + t });
const marks = [
  { name: 'code/timeOrigin', startTime: T - 1732 },
  mark('willLoadExtensionCode', 'vscode.github', -89),
  mark('didLoadExtensionCode', 'vscode.github', -66),
  mark('willLoadExtensionCode', 'vscode.debug-auto-launch', -29),
  mark('didLoadExtensionCode', 'vscode.debug-auto-launch', -23),
  mark('willLoadExtensionCode', 'vscode.merge-conflict', -23),
  mark('didLoadExtensionCode', 'vscode.merge-conflict', -6),
  mark('willLoadExtensionCode', 'ssh-tunnels.ssh-tunnels', -6),
  mark('didLoadExtensionCode', 'ssh-tunnels.ssh-tunnels', 4),
  mark('willActivateExtension', 'vscode.debug-auto-launch', 15),
  mark('willActivateExtension', 'ssh-tunnels.ssh-tunnels', 18),
  mark('didActivateExtension', 'ssh-tunnels.ssh-tunnels', 22),
];

test('the figure is split into the extension\'s require, its activate() and the loads queued ahead', () => {
  // VS Code showed "Activation: 36ms" for this round.
  assert.deepEqual(activationParts(marks, 'ssh-tunnels.ssh-tunnels', 36), {
    loadMs: 10,
    activateMs: 4,
    restMs: 22,
    loadedMeanwhile: ['vscode.debug-auto-launch', 'vscode.merge-conflict'],
    // Their requires: 6 ms (the first 1 before the figure began) and 17 ms.
    othersLoadMs: 22,
  });
});

test('an extension loaded before the figure began is not counted; a missing mark gives no split', () => {
  // A figure of only its own work: nothing ran ahead of it.
  assert.deepEqual(activationParts(marks, 'ssh-tunnels.ssh-tunnels', 14)?.loadedMeanwhile, []);
  assert.equal(activationParts(marks.filter((m) => !m.name.includes('didActivateExtension')), 'ssh-tunnels.ssh-tunnels', 36), undefined);
  assert.equal(activationParts(marks, 'someone.else', 36), undefined);
});
