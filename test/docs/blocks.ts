import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  print,
  validate,
  type DefinitionNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type InputValueDefinitionNode,
} from 'graphql';
import { ROOT } from '../../src/shared/paths.js';
import { loadTypeDefs } from '../../src/shared/type-defs.js';

/**
 * Every ```graphql block in Keycard's documents follows a marker saying what it is, so that a test can hold it to the
 * schema the servers serve:
 *
 *     <!-- graphql: gym -->          operations to paste into the gym's Sandbox: each must validate against its schema
 *     <!-- graphql: pool -->         the same against the pool's
 *     <!-- graphql: gym schema -->   SDL quoted from the gym's schema: every type, field, argument and value it names
 *                                    must exist there with the same type
 *     <!-- graphql: reserved -->     SDL of names fixed for parts not built yet: it must parse, and nothing more
 */
export type BlockKind = 'gym' | 'pool' | 'gym schema' | 'reserved';

export interface GraphqlBlock {
  kind: BlockKind | null;
  text: string;
  /** 1-based line of the opening fence, for the failure message. */
  line: number;
}

const FENCE = /^(?:<!-- graphql: ([a-z ]+) -->\n)?```graphql\n([\s\S]*?)^```$/gm;

/** The graphql blocks of a document, each with its marker's kind (null when unmarked or misspelt). */
export function graphqlBlocks(text: string): GraphqlBlock[] {
  return [...text.matchAll(FENCE)].map((m) => {
    const kind = (['gym', 'pool', 'gym schema', 'reserved'] as const).find((k) => k === m[1]) ?? null;
    const fence = m.index! + (m[1] ? m[0].indexOf('```') : 0);
    return { kind, text: m[2]!, line: text.slice(0, fence).split('\n').length };
  });
}

/** A service's schema from its SDL files, as the servers load them (base first). */
function schemaFrom(folder: string): GraphQLSchema {
  return buildSchema(loadTypeDefs(path.join(ROOT, folder)).join('\n'));
}

let schemas: { gym: GraphQLSchema; pool: GraphQLSchema } | undefined;
function served() {
  schemas ??= { gym: schemaFrom('schema'), pool: schemaFrom('schema/pool') };
  return schemas;
}

/** Each operation of a block on its own, as a reader pastes it: the errors of any that would not run. */
function operationProblems(text: string, schema: GraphQLSchema): string[] {
  const document = parse(text);
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return document.definitions
    .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
    .flatMap((operation) => validate(schema, { ...document, definitions: [operation, ...fragments] }).map((e) => e.message));
}

const typeOf = (node: FieldDefinitionNode | InputValueDefinitionNode) => print(node.type);

/** What a quoted SDL block names that the served schema does not have, or has with another type. */
function sdlProblems(text: string, schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  const check = (definition: DefinitionNode) => {
    if (!('name' in definition) || !definition.name || definition.kind === Kind.DIRECTIVE_DEFINITION) return;
    const name = definition.name.value;
    const served = schema.getType(name);
    if (!served) {
      problems.push(`${name}: no such type`);
      return;
    }
    if ('fields' in definition && definition.fields && (isObjectType(served) || isInterfaceType(served) || isInputObjectType(served))) {
      const fields = served.getFields();
      for (const field of definition.fields) {
        const actual = fields[field.name.value];
        if (!actual) problems.push(`${name}.${field.name.value}: no such field`);
        else if (String(actual.type) !== typeOf(field)) problems.push(`${name}.${field.name.value}: ${typeOf(field)}, served as ${String(actual.type)}`);
        for (const arg of 'arguments' in field ? (field.arguments ?? []) : []) {
          const servedArg = actual && 'args' in actual ? actual.args.find((a) => a.name === arg.name.value) : undefined;
          if (!servedArg || String(servedArg.type) !== typeOf(arg)) problems.push(`${name}.${field.name.value}(${arg.name.value}: ${typeOf(arg)}): not served so`);
        }
      }
    }
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && isEnumType(served)) {
      for (const value of definition.values ?? []) if (!served.getValue(value.name.value)) problems.push(`${name}.${value.name.value}: no such value`);
    }
  };
  parse(text).definitions.forEach(check);
  return problems;
}

/** Why a block is wrong, or nothing. */
export function blockProblems(block: GraphqlBlock): string[] {
  try {
    switch (block.kind) {
      case 'gym':
      case 'pool':
        return operationProblems(block.text, served()[block.kind]);
      case 'gym schema':
        return sdlProblems(block.text, served().gym);
      case 'reserved':
        parse(block.text);
        return [];
      default:
        return ['no marker: <!-- graphql: gym|pool|gym schema|reserved --> before the block'];
    }
  } catch (error) {
    return [(error as Error).message];
  }
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** A document's text outside its fenced code blocks, where headings and links are. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```$/gm, '');

/** The anchors a document's headings give, with GitHub's -1, -2 for repeats. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const anchor = anchorOf(heading!);
    const count = seen.get(anchor) ?? 0;
    seen.set(anchor, count + 1);
    anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
  }
  return anchors;
}

/** The links of a document (at `document`, from the root) that point at no file, or at no heading of it. */
export function brokenLinks(document: string, text: string): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [file = '', anchor] = target!.split('#');
    const resolved = file === '' ? path.join(ROOT, document) : path.join(ROOT, path.dirname(document), file);
    if (!existsSync(resolved)) broken.push(`${target}: no such file`);
    else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
  }
  return broken;
}
