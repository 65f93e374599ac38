import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/shared/paths.js';

/**
 * Keycard's documents show client code that `npm test` runs: each block follows a marker naming its file,
 *
 *     <!-- snippet: test/clients/subscriptions.ts -->
 *     ```ts
 *     ...the file, verbatim...
 *     ```
 *
 * so the code a reader copies is the code the tests ran. `npm run readme:snippets` writes the files into every document
 * that shows them; test/unit/readme.test.ts fails while a block differs from its file.
 */
const MARKER = /<!-- snippet: ([\w./-]+) -->\n```(\w+)\n([\s\S]*?)```\n/g;

/** The README, the front door; the other documents live beside what they document. */
export const README = path.join(ROOT, 'README.md');

/** Folders whose Markdown is Keycard's own (never dependencies, build output or data). */
const DOCUMENT_FOLDERS = ['schema', 'src', 'test'];
const SKIPPED = new Set(['node_modules', 'dist', 'data', '__generated__', 'results']);

/** Every Markdown document of the repository, as paths from its root: the README first. */
export function documents(): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
      const relative = path.posix.join(folder, entry.name);
      if (entry.isDirectory() && !SKIPPED.has(entry.name)) walk(relative);
      else if (entry.isFile() && entry.name.endsWith('.md')) found.push(relative);
    }
  };
  for (const folder of DOCUMENT_FOLDERS) walk(folder);
  return ['README.md', ...found.sort()];
}

export interface Snippet {
  /** The document that shows it, from the repository's root. */
  document: string;
  file: string;
  /** The block as the document has it. */
  shown: string;
  /** The file as it is. */
  actual: string;
}

/** The snippets of one document's text. */
export function snippetsIn(text: string, document = 'README.md'): Snippet[] {
  return [...text.matchAll(MARKER)].map(([, file, , shown]) => ({ document, file: file!, shown: shown!, actual: readFileSync(path.join(ROOT, file!), 'utf8') }));
}

/** Every snippet of every document. */
export function allSnippets(): Snippet[] {
  return documents().flatMap((document) => snippetsIn(readFileSync(path.join(ROOT, document), 'utf8'), document));
}

/** The document's text with every block replaced by its file. */
export function withSnippets(text: string): string {
  return text.replace(MARKER, (_block, file: string, language: string) => {
    const code = readFileSync(path.join(ROOT, file), 'utf8');
    return `<!-- snippet: ${file} -->\n\`\`\`${language}\n${code.endsWith('\n') ? code : `${code}\n`}\`\`\`\n`;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const document of documents()) {
    const file = path.join(ROOT, document);
    const before = readFileSync(file, 'utf8');
    const after = withSnippets(before);
    if (after === before) continue;
    writeFileSync(file, after);
    console.log(`${document}: snippets rewritten from their files.`);
  }
  console.log('Every document shows its snippets as their files are.');
}
