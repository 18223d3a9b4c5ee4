/**
 * Hostile input for the parsers (forward specs, ssh commands, ssh config files, known_hosts lines)
 * and fast-check properties: fast and pure, so `npm test` runs them. The corpus lives in
 * test/hostile/corpus.ts; `npm run test:faults` runs it too (test/hostile/inputs.test.ts).
 */
import { defineHostileInputTests } from '../hostile/corpus';

defineHostileInputTests();
