/**
 * `npm run bench:compare -- BEFORE.json AFTER.json`: two result files of `npm run bench` side by
 * side (see lib/compare.ts). `npm run bench` itself appends this comparison against the run before.
 */
import * as fs from 'node:fs';
import { renderComparison, type BenchResults } from './lib/compare';

function read(file: string): BenchResults {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as BenchResults;
  } catch (e) {
    throw new Error(`${file} is not a bench result file (JSON): ${(e as Error).message}`);
  }
}

const [before, after] = process.argv.slice(2);
if (!before || !after) {
  process.stderr.write('usage: npm run bench:compare -- BEFORE.json AFTER.json   (result files of npm run bench, e.g. bench/results/latest.previous.json bench/results/latest.json)\n');
  process.exit(2);
}
try {
  process.stdout.write(renderComparison(read(before), read(after)) + '\n');
} catch (e) {
  process.stderr.write(`bench:compare: ${(e as Error).message}\n`);
  process.exit(1);
}
