import { ApolloServerErrorCode } from '@apollo/server/errors';
import {
  getNamedType,
  getVariableValues,
  GraphQLError,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  TypeInfo,
  ValidationContext,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createComplexityRule, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE, HIDDEN_LIMIT_MESSAGE, isStandardIntrospection, MAX_PAGE_SIZE, OPERATION_COST_BUDGET, OPERATION_LIMITS } from './limits.js';

/**
 * The most selections the estimate walks, fragments expanded. graphql-js collects a fragment spread twice in one
 * selection set only once, but the estimate follows each spread, so fragments that each spread the next twice would
 * take exponential time to cost: past this bound the operation is refused instead. A document within the token limit
 * has fewer selections than tokens, so this leaves room for fragments used more than once, and keeps the work per
 * request proportional to the limit on a document's size (about a millisecond at worst).
 */
const MAX_COSTED_SELECTIONS = 2 * OPERATION_LIMITS.tokens;

/**
 * What one field costs, given what one of its items costs (`childComplexity`, the sum of its selections).
 *
 * - A scalar or enum costs nothing: it comes with the object that holds it, and the token limit bounds how many are
 *   asked for.
 * - An object costs 1.
 * - A field taking `first` (every connection: `members`, `checkIns`, `Member.checkIns`) returns up to that many items,
 *   so it costs 1 plus its page size times one item: `first` clamped to 0..MAX_PAGE_SIZE (a larger one is refused by
 *   the resolver with BAD_USER_INPUT naming it), DEFAULT_PAGE_SIZE when absent. Counting it here, not on the
 *   connection's `edges`, is what makes nesting multiply: a page inside a page costs the product of their sizes.
 * - An introspection list (`__Schema.types`, `__Type.fields`...) is counted at the longest it can be in this schema.
 * - Any other list counts as one item: `edges`, whose length its connection's `first` already counts, and `plans`
 *   (one per PlanCode: two).
 */
function keycardEstimator(introspectionLists: ReadonlyMap<string, number>): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    if (!isCompositeType(getNamedType(field.type))) return 0;
    if (field.args.some((arg) => arg.name === 'first')) {
      const first: unknown = args.first;
      const size = typeof first === 'number' ? Math.min(Math.max(first, 0), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
      return 1 + size * childComplexity;
    }
    return (introspectionLists.get(`${type.name}.${field.name}`) ?? 1) * (1 + childComplexity);
  };
}

/** The longest each introspection list of objects can be in this schema, by field coordinate. */
function introspectionListLengths(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const fields = types.flatMap((t) => (isObjectType(t) || isInterfaceType(t) ? [Object.values(t.getFields())] : []));
  const directives = schema.getDirectives();
  const longest = (lengths: number[]) => lengths.reduce((a, b) => Math.max(a, b), 0);
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', longest(fields.map((f) => f.length))],
    ['__Type.interfaces', longest(types.map((t) => (isObjectType(t) || isInterfaceType(t) ? t.getInterfaces().length : 0)))],
    ['__Type.possibleTypes', longest(types.map((t) => (isAbstractType(t) ? schema.getPossibleTypes(t).length : 0)))],
    ['__Type.enumValues', longest(types.map((t) => (isEnumType(t) ? t.getValues().length : 0)))],
    ['__Type.inputFields', longest(types.map((t) => (isInputObjectType(t) ? Object.keys(t.getFields()).length : 0)))],
    ['__Field.args', longest(fields.flat().map((f) => f.args.length))],
    ['__Directive.args', longest(directives.map((d) => d.args.length))],
  ]);
}

/** A refusal shaped like the other operation limits' (graphql-armor's): GRAPHQL_VALIDATION_FAILED, HTTP 400. */
function refusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED, http: { status: 400 } } });
}

export interface CostLimitOptions {
  schema: GraphQLSchema;
  /** Development: the refusal says the cost and the budget. Production: it says only that the operation is too large. */
  exposeLimits: boolean;
  /** The standard introspection query passes, as it does the other limits (while introspection is on). */
  exemptIntrospection: boolean;
}

/** The cost limit's answer for an operation with its variables: the refusal, or null when it is within the budget. */
export type CostLimit = (document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined) => GraphQLError | null;

/**
 * The cost limit as one check, asked by every transport once the operation and its variables are known (not among
 * the validation rules: `first` may come from a variable, which validation does not see). An operation without
 * variables costs the same every time: its cost is kept with the parsed operation, so a repeated document (Apollo
 * hands back the same parsed operation for the same query) pays one map lookup.
 */
export function createCostLimit(options: CostLimitOptions): CostLimit {
  const costOf = costCounter(options);
  const budget = OPERATION_COST_BUDGET;
  const costs = new WeakMap<OperationDefinitionNode, number>();
  return (document, operation, variables) => {
    let cost: number | undefined;
    if (operation.variableDefinitions?.length) cost = costOf(document, operation, variables);
    else {
      cost = costs.get(operation);
      if (cost === undefined) costs.set(operation, (cost = costOf(document, operation, undefined)));
    }
    if (cost === Infinity) return tooIntricate(options.exposeLimits);
    return cost > budget ? overBudget(cost, options.exposeLimits) : null;
  };
}

function overBudget(cost: number, exposeLimits: boolean): GraphQLError {
  return refusal(
    exposeLimits
      ? `Cost limit of ${OPERATION_COST_BUDGET} exceeded, found ${cost}: each object costs 1, and a field taking \`first\` costs ` +
          `its page size (${DEFAULT_PAGE_SIZE} when absent) times one item.`
      : HIDDEN_LIMIT_MESSAGE,
  );
}

function tooIntricate(exposeLimits: boolean): GraphQLError {
  return refusal(
    exposeLimits
      ? `Cost limit of ${OPERATION_COST_BUDGET} exceeded: more than ${MAX_COSTED_SELECTIONS} selections once fragments are expanded.`
      : HIDDEN_LIMIT_MESSAGE,
  );
}

/** What an operation costs with its variables, by `keycardEstimator`; Infinity when it has too many selections to cost. */
function costCounter(options: CostLimitOptions) {
  const { schema, exemptIntrospection } = options;
  const estimators = [keycardEstimator(introspectionListLengths(schema))];
  const typeInfo = new TypeInfo(schema);
  return (document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): number => {
    if (exemptIntrospection && isStandardIntrospection(document)) return 0;
    // Variables that do not coerce: execution refuses the whole operation with BAD_USER_INPUT, so nothing runs to be
    // counted. Stopping at the first bad one matters: graphql-query-complexity coerces them again without an error
    // limit, and a variable of thousands of bad fields would make thousands of errors, each quoting the whole value.
    if (operation.variableDefinitions?.length && getVariableValues(schema, operation.variableDefinitions, variables ?? {}, { maxErrors: 1 }).errors) {
      return 0;
    }
    let cost = 0;
    // An argument that does not coerce is reported here and ignored: a field whose arguments fail is not resolved,
    // so leaving it uncounted is right.
    const context = new ValidationContext(schema, document, typeInfo, () => {});
    const rule = createComplexityRule({
      maximumComplexity: Number.MAX_SAFE_INTEGER,
      estimators,
      variables,
      maxQueryNodes: MAX_COSTED_SELECTIONS,
      onComplete: (complexity) => {
        cost = complexity;
      },
    });
    try {
      visit(operation, rule(context));
    } catch {
      // graphql-query-complexity throws when the selections run past MAX_COSTED_SELECTIONS. Whatever else might throw,
      // an operation that cannot be costed is refused, never run uncounted.
      return Infinity;
    }
    return cost;
  };
}
