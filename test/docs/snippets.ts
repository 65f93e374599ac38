import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/shared/paths.js';

/**
 * The README shows client code that `npm test` runs: each block follows a marker naming its file,
 *
 *     <!-- snippet: test/clients/subscriptions.ts -->
 *     ```ts
 *     ...the file, verbatim...
 *     ```
 *
 * so the code a reader copies is the code the tests ran. `npm run readme:snippets` writes the files into the README;
 * test/unit/readme.test.ts fails while a block differs from its file.
 */
const MARKER = /<!-- snippet: ([\w./-]+) -->\n```(\w+)\n([\s\S]*?)```\n/g;

export const README = path.join(ROOT, 'README.md');

export interface Snippet {
  file: string;
  /** The block as the README has it. */
  shown: string;
  /** The file as it is. */
  actual: string;
}

export function readmeSnippets(readme = readFileSync(README, 'utf8')): Snippet[] {
  return [...readme.matchAll(MARKER)].map(([, file, , shown]) => ({ file: file!, shown: shown!, actual: readFileSync(path.join(ROOT, file!), 'utf8') }));
}

/** The README with every block replaced by its file. */
export function withSnippets(readme: string): string {
  return readme.replace(MARKER, (_block, file: string, language: string) => {
    const code = readFileSync(path.join(ROOT, file), 'utf8');
    return `<!-- snippet: ${file} -->\n\`\`\`${language}\n${code.endsWith('\n') ? code : `${code}\n`}\`\`\`\n`;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const before = readFileSync(README, 'utf8');
  const after = withSnippets(before);
  if (after !== before) writeFileSync(README, after);
  console.log(after === before ? 'README.md: the snippets are up to date.' : 'README.md: snippets rewritten from their files.');
}
