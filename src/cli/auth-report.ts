import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AUTHORIZATION_REPORT_PATH, authorizationReport, authorizationReportText } from './auth-report/authorization-md.js';
import { ROOT } from '../shared/paths.js';

/**
 * `npm run auth:report`: prints every field coordinate of the gym's and the pool's schemas with who may read it, and
 * writes the same as Markdown to schema/AUTHORIZATION.md, to commit with the change that moved a guard.
 * `npm run auth:report -- --check` writes nothing and fails when the committed file differs (for CI).
 * A path after the options reads or writes that file instead.
 */
const args = process.argv.slice(2);
const check = args.includes('--check');
const unknown = args.filter((a) => a.startsWith('-') && a !== '--check');
const target = args.find((a) => !a.startsWith('-')) ?? AUTHORIZATION_REPORT_PATH;
const shown = path.relative(ROOT, path.resolve(target)) || target;

try {
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(', ')} (only --check)`);
  const report = authorizationReport();
  if (check) {
    let committed: string | null = null;
    try {
      committed = readFileSync(target, 'utf8');
    } catch {
      // A missing report is as stale as an outdated one.
    }
    if (committed !== report) {
      console.error(`${shown} does not match the schema: run \`npm run auth:report\` and commit ${shown}.`);
      process.exit(1);
    }
    console.log(`${shown} matches the schema.`);
  } else {
    console.log(authorizationReportText());
    writeFileSync(target, report);
    console.log(`Wrote ${shown}.`);
  }
} catch (err) {
  console.error(`auth:report failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
