import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, readmeSnippets, withSnippets } from '../docs/snippets.js';

describe("the README's client code", () => {
  it('shows each snippet file verbatim, so what a reader copies is what npm test ran', () => {
    const snippets = readmeSnippets();
    expect(snippets.map((s) => s.file)).toContain('test/clients/subscriptions.ts');
    for (const snippet of snippets) {
      expect(snippet.shown, `${snippet.file} differs from its block in README.md: run npm run readme:snippets`).toBe(snippet.actual);
    }
  });

  it('notices a block that no longer matches its file', () => {
    const readme = readFileSync(README, 'utf8');
    const [first] = readmeSnippets(readme);
    const edited = readme.replace(first!.shown, `${first!.shown}// drifted\n`);
    expect(readmeSnippets(edited)[0]!.shown).not.toBe(first!.actual);
    expect(withSnippets(edited)).toBe(withSnippets(readme));
  });
});
