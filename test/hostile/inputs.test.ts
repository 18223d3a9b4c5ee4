/**
 * The hostile-input corpus and properties (test/hostile/corpus.ts), counted in the fault figures.
 * The same tests run under `npm test` as test/unit/hostileInput.test.ts.
 */
import { recordFigures } from '../fixtures/figures';
import { defineHostileInputTests } from './corpus';

defineHostileInputTests(recordFigures());
