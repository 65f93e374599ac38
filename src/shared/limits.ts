import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, Kind, Lexer, TokenKind, visit, type ASTVisitor, type DocumentNode, type ValidationContext, type ValidationRule } from 'graphql';

/** The size of operation Keycard executes at all, in every mode (CONTRACT section 5). */
export const OPERATION_LIMITS = { depth: 10, aliases: 15, directives: 10, tokens: 1000 } as const;

/** What a refused operation is told in production, whichever limit it hit. */
export const HIDDEN_LIMIT_MESSAGE = 'Operation refused: it is too large or too complex.';

/**
 * The standard introspection query, as Sandbox and codegen send it: one operation whose only top-level field is an
 * unaliased `__schema`, with no alias and no directive anywhere in the document. Nothing else is exempt from the
 * limits, so a batch of aliased `__schema` selections is refused like any oversized operation.
 */
function isStandardIntrospection(document: DocumentNode): boolean {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) return false;
  const top = operations[0]!.selectionSet.selections;
  if (top.length !== 1 || top[0]!.kind !== Kind.FIELD || top[0]!.name.value !== '__schema' || top[0]!.alias) return false;
  let plain = true;
  visit(document, {
    Field(node) {
      if (node.alias) plain = false;
    },
    Directive() {
      plain = false;
    },
  });
  return plain;
}

/** Counts lexer tokens (graphql-js's own lexer) and refuses past `max`, before a single field executes. */
function maxTokensRule(max: number, message: (found: number) => string): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const source = context.getDocument().loc?.source;
    if (!source) return {};
    const lexer = new Lexer(source);
    let count = 0;
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++count > max) {
        context.reportError(new GraphQLError(message(count)));
        break;
      }
    }
    return {};
  };
}

/**
 * Validation rules that refuse oversized operations (depth, aliases, directives, tokens) with
 * GRAPHQL_VALIDATION_FAILED. The limits are graphql-armor's rules; with `exposeLimits` off (production) the message
 * does not say which limit was hit. The standard introspection query is exempt while introspection is enabled, so
 * Sandbox keeps working; where it is disabled, Apollo refuses it anyway.
 */
export function operationLimitRules(options: { exposeLimits: boolean; exemptIntrospection: boolean }): ValidationRule[] {
  const hidden = HIDDEN_LIMIT_MESSAGE;
  const report = [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)];
  const common = { exposeLimits: options.exposeLimits, errorMessage: hidden, propagateOnRejection: false, onReject: report };
  const rules: ValidationRule[] = [
    maxDepthRule({ ...common, n: OPERATION_LIMITS.depth, flattenFragments: true, ignoreIntrospection: false }) as unknown as ValidationRule,
    // Every alias counts, `__typename` ones too (graphql-armor lets those through by default).
    maxAliasesRule({ ...common, n: OPERATION_LIMITS.aliases, allowList: [] }) as unknown as ValidationRule,
    maxDirectivesRule({ ...common, n: OPERATION_LIMITS.directives }) as unknown as ValidationRule,
    maxTokensRule(OPERATION_LIMITS.tokens, (found) =>
      options.exposeLimits ? `Token limit of ${OPERATION_LIMITS.tokens} exceeded, found ${found}.` : hidden,
    ),
  ];
  if (!options.exemptIntrospection) return rules;
  return rules.map(
    (rule): ValidationRule =>
      (context) =>
        isStandardIntrospection(context.getDocument()) ? {} : rule(context),
  );
}
