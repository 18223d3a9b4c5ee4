// Throwaway extension for the e2e harness smoke test: one command that changes the
// status bar, shows a notification and writes to an output channel (so the harness's
// log reading can be checked too). Plain JavaScript, nothing to build.
'use strict';
const vscode = require('vscode');

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  const output = vscode.window.createOutputChannel('E2E Fixture');
  const status = vscode.window.createStatusBarItem('e2eFixture.status', vscode.StatusBarAlignment.Left, 1000);
  status.name = 'E2E Fixture';
  context.subscriptions.push(output, status);
  output.appendLine('e2e fixture activated');
  console.log('[e2e-fixture] activated');

  context.subscriptions.push(
    vscode.commands.registerCommand('e2eFixture.hello', () => {
      status.text = 'E2E hello ok';
      status.tooltip = 'Set by the e2eFixture.hello command';
      status.show();
      output.appendLine('hello command ran');
      console.log('[e2e-fixture] hello command ran');
      void vscode.window.showInformationMessage('E2E Fixture: hello from the fixture extension');
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
