import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { Kind, visit, type DocumentNode, type GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';

/** The size of operation Keycard executes at all, in every mode: part of the API contract clients rely on. */
export const OPERATION_LIMITS = { depth: 10, aliases: 15, directives: 10, tokens: 1000 } as const;

/**
 * The most one operation may cost, counted before it runs (src/shared/cost-limit.ts): each object
 * it returns costs 1, and a field taking `first` costs its page size (the default page when `first` is absent) times
 * what one item costs. A STAFF page of 100 check-ins with each member, membership and plan costs about 600; 100
 * members each with a page of 10 check-ins about 3,300; a page nested in a page of 100 (100 x 100) is refused.
 */
export const OPERATION_COST_BUDGET = 5000;

/** A list's page when `first` is absent, and the most `first` may ask for (the cost limit counts lists by these). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** What a refused operation is told in production, whichever limit it hit. */
export const HIDDEN_LIMIT_MESSAGE = 'Operation refused: it is too large or too complex.';

/**
 * The standard introspection query, as Sandbox and codegen send it: one query whose only top-level field is an
 * unaliased `__schema`, with no alias and no directive anywhere in the document. Nothing else is exempt from the
 * limits, so a batch of aliased `__schema` selections is refused like any oversized operation, and so is a mutation or
 * a subscription (which has no `__schema`): the exemption never applies on the socket, which runs only subscriptions.
 */
export function isStandardIntrospection(document: DocumentNode): boolean {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0]!.operation !== 'query') return false;
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

/**
 * Validation rules that refuse oversized operations (depth, aliases, directives) with GRAPHQL_VALIDATION_FAILED. The
 * limits are graphql-armor's rules; with `exposeLimits` off (production) the message does not say which limit was hit.
 * The token limit is not among them: the parser itself stops there (`parseOptions.maxTokens`), before any rule runs. The standard introspection query is exempt while introspection is enabled, so
 * Sandbox keeps working; where it is disabled, Apollo refuses it anyway.
 */
export function operationLimitRules(options: { exposeLimits: boolean; exemptIntrospection: boolean }): ValidationRule[] {
  const report = [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)];
  const common = { exposeLimits: options.exposeLimits, errorMessage: HIDDEN_LIMIT_MESSAGE, propagateOnRejection: false, onReject: report };
  const rules: ValidationRule[] = [
    maxDepthRule({ ...common, n: OPERATION_LIMITS.depth, flattenFragments: true, ignoreIntrospection: false }) as unknown as ValidationRule,
    // Every alias counts, `__typename` ones too (graphql-armor lets those through by default).
    maxAliasesRule({ ...common, n: OPERATION_LIMITS.aliases, allowList: [] }) as unknown as ValidationRule,
    maxDirectivesRule({ ...common, n: OPERATION_LIMITS.directives }) as unknown as ValidationRule,
  ];
  if (!options.exemptIntrospection) return rules;
  return rules.map(
    (rule): ValidationRule =>
      (context) =>
        isStandardIntrospection(context.getDocument()) ? {} : rule(context),
  );
}
