import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Logger } from 'pino';
import { createCostLimit } from './cost-limit.js';
import { createFormatError } from './format-error.js';
import { OPERATION_LIMITS, operationLimitRules } from './limits.js';

export interface PipelineOptions {
  schema: GraphQLSchema;
  /** Production says that an operation was too big but not which limit it hit, and suggests no field names. */
  production: boolean;
  /** While introspection is on, the standard introspection query is exempt from the limits (Sandbox needs it whole). */
  introspection: boolean;
  log: Logger;
}

/** What graphql-js's `validate` is told besides the rules: the same options on every transport. */
export interface PipelineValidationOptions {
  /** No "Did you mean" naming a field of the schema the document got wrong. */
  hideSuggestions: boolean;
}

/**
 * The one definition of what every GraphQL operation goes through, whatever carries it: the token limit while
 * parsing, graphql-js's rules and Keycard's limits (depth, aliases, directives) while validating, the cost limit
 * once the operation and its variables are known, masked suggestions, and one error formatting.
 *
 * HTTP hands these to Apollo Server (see `createApollo`), which parses, validates and caches each document once; the
 * socket server runs the same steps itself through {@link parseDocument}, {@link validateDocument} and
 * {@link formatErrors}. A rule added here holds on both.
 */
export interface GraphQLPipeline {
  readonly schema: GraphQLSchema;
  /** The token limit, enforced by the parser itself: a huge document is never parsed whole, let alone validated. */
  readonly parseOptions: ParseOptions;
  /** The rules run after graphql-js's `specifiedRules`: the size limits of an operation. */
  readonly validationRules: readonly ValidationRule[];
  readonly validationOptions: PipelineValidationOptions;
  /** The cost limit's refusal for this operation with these variables, or null within the budget. */
  costLimit(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): GraphQLError | null;
  /** Apollo's `formatError`: what a client is told of one error (unexpected ones are logged and masked). */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** The document, or the parser's refusal coded GRAPHQL_PARSE_FAILED as Apollo codes it. */
  parseDocument(source: string): DocumentNode | GraphQLError[];
  /** The validation errors coded GRAPHQL_VALIDATION_FAILED as Apollo codes them; empty when the document is valid. */
  validateDocument(document: DocumentNode): GraphQLError[];
  /** Errors as a client receives them, shaped as Apollo shapes them before its `formatError`, for transports without it. */
  formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[];
}

/** Builds the pipeline once per server: the rules, the cost estimator and the formatter are made here, not per request. */
export function createGraphQLPipeline(options: PipelineOptions): GraphQLPipeline {
  const { schema, production, introspection, log } = options;
  const exposeLimits = !production;
  const validationRules = operationLimitRules({ exposeLimits, exemptIntrospection: introspection });
  const rules = [...specifiedRules, ...validationRules];
  const validationOptions: PipelineValidationOptions = { hideSuggestions: production };
  const formatOptions = { exposeLimits, hideSuggestions: production };
  const formatError = createFormatError((error) => log.error({ err: error }, 'unexpected error in a GraphQL operation'), formatOptions);
  const formatSocketError = createFormatError((error) => log.error({ err: error }, 'unexpected error in a subscription'), formatOptions);
  const parseOptions: ParseOptions = { maxTokens: OPERATION_LIMITS.tokens };
  return {
    schema,
    parseOptions,
    validationRules,
    validationOptions,
    costLimit: createCostLimit({ schema, exposeLimits, exemptIntrospection: introspection }),
    formatError,
    parseDocument(source) {
      try {
        return parse(source, parseOptions);
      } catch (err) {
        return err instanceof GraphQLError ? withCode([err], 'GRAPHQL_PARSE_FAILED') : [coded('Could not parse the document', 'GRAPHQL_PARSE_FAILED')];
      }
    },
    validateDocument(document) {
      let invalid: readonly GraphQLError[];
      try {
        invalid = validate(schema, document, rules, validationOptions);
      } catch (err) {
        // graphql-js throws from a rule on a few documents (a required variable in @skip on a subscription's root field).
        if (!(err instanceof GraphQLError)) throw err;
        invalid = [err];
      }
      return withCode(invalid, 'GRAPHQL_VALIDATION_FAILED');
    },
    formatErrors: (errors) => errors.map((error) => formatSocketError(shapedAsApollo(error), error)),
  };
}

/** An error of the pipeline's own making, with a code a client can switch on. */
export function coded(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** graphql-js's own errors carry no code; Apollo gives them one over HTTP, and the other transports the same. */
export function withCode(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: { code, ...e.extensions } }));
}

/**
 * What Apollo hands its `formatError` for an error: its JSON with a code (INTERNAL_SERVER_ERROR when it has none), and
 * without `extensions.http`, which Apollo turns into the response's status and headers and a socket has no use for.
 */
function shapedAsApollo(error: GraphQLError): GraphQLFormattedError {
  const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
  return { ...error.toJSON(), extensions: { ...extensions, code: extensions.code ?? 'INTERNAL_SERVER_ERROR' } };
}
