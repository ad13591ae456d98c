/**
 * Runs the browser layer in Debian's Chromium and writes a summary for `npm test`:
 *   tsx test/browser/run.ts [--summary FILE] [--files GLOB]…
 * `--files` runs only the matching test files (e.g. `--files test/browser/provenance.test.ts`).
 */
import { writeFile } from 'node:fs/promises';
import { startTestRunner, type TestRunner } from '@web/test-runner';
import type { TestSession, TestSuiteResult } from '@web/test-runner-core';
import { browserTestConfig } from './web-test-runner.config.ts';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function count(suite: TestSuiteResult | undefined, into: Counts): void {
  if (!suite) return;
  for (const t of suite.tests) {
    if (t.skipped) into.skipped++;
    else if (t.passed) into.passed++;
    else into.failed++;
  }
  for (const s of suite.suites) count(s, into);
}

const summaryAt = process.argv.indexOf('--summary');
const summaryFile = summaryAt > 0 ? process.argv[summaryAt + 1] : undefined;
const files = process.argv.flatMap((arg, i) => (process.argv[i - 1] === '--files' ? [arg] : []));

const runner: TestRunner | undefined = await startTestRunner({
  config: files.length > 0 ? { ...browserTestConfig, files } : browserTestConfig,
  readCliArgs: false,
  readFileConfig: false,
  autoExitProcess: false,
});
if (!runner) throw new Error('the browser test runner did not start');

const finished = await new Promise<boolean>((resolve) => runner.on('finished', resolve));
const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
const sessions: TestSession[] = [...runner.sessions.all()];
for (const session of sessions) {
  count(session.testResults, counts);
  // A file that failed to load or threw outside a test has no test results: count it as a failure.
  if (!session.passed && (session.errors.length > 0 || !session.testResults)) counts.failed++;
}
await runner.stop();
if (summaryFile) await writeFile(summaryFile, JSON.stringify(counts));
console.log(`browser: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(finished && counts.failed === 0 ? 0 : 1);
