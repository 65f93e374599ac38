import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
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

let built: Promise<void> | undefined;

/**
 * Builds what `npm start` and `npm run pool` run (`dist/gym`, `dist/pool`) with their own build scripts, from empty
 * folders (tsc never deletes a file, so a renamed entry point would otherwise still be there from an older build).
 */
export function buildShippedArtifacts(): Promise<void> {
  built ??= (async () => {
    for (const out of ['gym', 'pool']) rmSync(path.join(ROOT, 'dist', out), { recursive: true, force: true });
    await Promise.all([npmRun('build'), npmRun('build:pool')]);
  })();
  return built;
}
