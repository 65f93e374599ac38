import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../src/shared/paths.js';
import { blockProblems, brokenLinks, graphqlBlocks } from '../docs/blocks.js';
import { allSnippets, documents, snippetsIn, withSnippets } from '../docs/snippets.js';

const read = (document: string) => readFileSync(path.join(ROOT, document), 'utf8');

/** The client code the documents show, each run against a real gym by the test beside it. */
const CLIENT_FILES = ['apollo-bearer', 'apollo-cookie', 'urql', 'graphql-request', 'subscriptions'].map((name) => `test/clients/${name}.ts`);

describe("the documents' client code", () => {
  it('shows each snippet file verbatim, so what a reader copies is what npm test ran', () => {
    const snippets = allSnippets();
    expect(snippets.map((s) => s.file)).toEqual(expect.arrayContaining(CLIENT_FILES));
    for (const snippet of snippets) {
      expect(snippet.shown, `${snippet.file} differs from its block in ${snippet.document}: run npm run readme:snippets`).toBe(snippet.actual);
    }
  });

  it('notices a block that no longer matches its file', () => {
    const text = read('test/clients/README.md');
    const [first] = snippetsIn(text);
    const edited = text.replace(first!.shown, `${first!.shown}// drifted\n`);
    expect(snippetsIn(edited)[0]!.shown).not.toBe(first!.actual);
    expect(withSnippets(edited)).toBe(withSnippets(text));
  });
});

describe("the documents' GraphQL", () => {
  it('marks every block, and each runs against the schema it is for (operations validate, quoted SDL is served)', () => {
    const checked = documents().flatMap((document) =>
      graphqlBlocks(read(document)).map((block) => ({ where: `${document}:${block.line}`, kind: block.kind, problems: blockProblems(block) })),
    );
    expect(checked.filter((c) => c.kind === 'gym').length).toBeGreaterThanOrEqual(5);
    expect(checked.filter((c) => c.kind === 'pool').length).toBeGreaterThanOrEqual(1);
    expect(checked.filter((c) => c.kind === 'gym schema').length).toBeGreaterThanOrEqual(1);
    expect(checked.filter((c) => c.problems.length > 0)).toEqual([]);
  });

  it('refuses an operation with a field the schema lacks, SDL that names one, and an unmarked block', () => {
    const [operation] = graphqlBlocks('<!-- graphql: gym -->\n```graphql\nquery { me { name shoeSize } }\n```\n');
    expect(blockProblems(operation!).join()).toMatch(/shoeSize/);
    const [pool] = graphqlBlocks('<!-- graphql: pool -->\n```graphql\nmutation { checkIn { at } }\n```\n');
    expect(blockProblems(pool!).join()).toMatch(/checkIn/);
    const [sdl] = graphqlBlocks('<!-- graphql: gym schema -->\n```graphql\ntype Member { name: String, shoeSize: Int }\n```\n');
    expect(blockProblems(sdl!)).toEqual(['Member.name: String, served as String!', 'Member.shoeSize: no such field']);
    const [unmarked] = graphqlBlocks('```graphql\nquery { plans { name } }\n```\n');
    expect(blockProblems(unmarked!).join()).toMatch(/no marker/);
  });
});

describe("the documents' links", () => {
  it('point at files that exist, and at headings those files have', () => {
    expect(documents()).toEqual(expect.arrayContaining(['README.md', 'schema/README.md', 'test/clients/README.md']));
    expect(documents().flatMap((document) => brokenLinks(document, read(document)).map((link) => `${document}: ${link}`))).toEqual([]);
  });

  it('notices a link to a missing file or heading', () => {
    const text = '[a](schema/README.md#errors) [b](schema/NOPE.md) [c](schema/README.md#no-such-part) [d](#nowhere) [e](https://example.com/x)';
    expect(brokenLinks('README.md', text)).toEqual(['schema/NOPE.md: no such file', 'schema/README.md#no-such-part: no such heading', '#nowhere: no such heading']);
  });
});
