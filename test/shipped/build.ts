import { spawn } from 'node:child_process';
import { ROOT } from '../../src/shared/paths.js';

/** Runs one npm script in the repository, as a user would type it; rejects with its output when it fails. */
function npmRun(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', script], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run ${script} failed (${code}):\n${output}`))));
  });
}

/**
 * Builds what `npm start` and `npm run pool` run (`dist/gym`, `dist/pool`), with their own build scripts, once before
 * the tests of the shipped artifacts start them.
 */
export default async function buildShippedArtifacts(): Promise<void> {
  await Promise.all([npmRun('build'), npmRun('build:pool')]);
}
