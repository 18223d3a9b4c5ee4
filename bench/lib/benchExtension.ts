/**
 * A folder extension of the bench's own (publisher ssh-tunnels-bench), written into `dir` for the
 * e2e harness to install beside SSH Tunnels: a package.json and one extension.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BenchExtensionManifest {
  name: string;
  displayName: string;
  activationEvents: string[];
  contributes?: Record<string, unknown>;
}

export function writeBenchExtension(dir: string, manifest: BenchExtensionManifest, source: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    version: '0.0.1', publisher: 'ssh-tunnels-bench', license: 'MIT', engines: { vscode: '^1.80.0' }, main: './extension.js',
    ...manifest,
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'extension.js'), source);
  return dir;
}
