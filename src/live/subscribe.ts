import { getOperationAST, subscribe, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import { CloseCode, type OperationResult, type SubscribePayload } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { createSocketContext } from '../context.js';
import type { Services } from '../services/services.js';
import type { Loaders } from '../db/loaders.js';
import { coded, withCode, type GraphQLPipeline } from '../shared/graphql-pipeline.js';
import { SUBSCRIBER_EXISTS } from './close-reason.js';
import { LiveCloseCode, type LiveConnection, type LiveOperation } from './connection.js';
import { liveFeed } from './stream.js';

export interface SubscriptionsOptions {
  pipeline: GraphQLPipeline;
  services: Services;
  /** The loaders every socket shares (never caching). */
  loaders: Loaders;
  maxSubscriptionsPerConnection: number;
  /** Events that may wait for one subscription's slow consumer before it is dropped. */
  maxQueuedEvents: number;
  log: Logger;
}

/** What graphql-ws asks of Keycard for a `subscribe` message, and how it starts what was accepted. */
export interface Subscriptions {
  /** graphql-ws's `onSubscribe`: the started subscription's arguments, or the errors refusing this operation alone. */
  onSubscribe(socket: { connection?: LiveConnection; socket: WebSocket; address: string }, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]>;
  /** graphql-ws's `subscribe`: the stream `onSubscribe` already started for these arguments. */
  subscribe(args: ExecutionArgs): OperationResult;
}

/**
 * Subscription operations on a socket: each takes a place on its connection (a limit per socket, no id reused while
 * live), then runs the GraphQL pipeline HTTP runs (the token limit, the same validation rules, the cost limit), then
 * starts. Only subscriptions run here: queries and mutations go over HTTP, where their cookies, CSRF prevention and
 * logs are.
 */
export function createSubscriptions(options: SubscriptionsOptions): Subscriptions {
  const { log } = options;
  /** Subscriptions started and checked in onSubscribe, handed to graphql-ws by its `subscribe`. */
  const streams = new WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>();
  return {
    async onSubscribe({ connection, socket, address }, id, payload) {
      if (!connection) return [coded('Not signed in', 'UNAUTHENTICATED')];
      const operation = connection.begin(id, options.maxSubscriptionsPerConnection);
      if (operation === 'too many') {
        socket.close(LiveCloseCode.PolicyViolation, 'too many subscriptions on this connection');
        return [coded('Too many subscriptions on this connection', 'BAD_REQUEST')];
      }
      if (operation === 'duplicate') {
        // graphql-ws's own code for an id that is still live: a client never reuses one before it ended.
        socket.close(CloseCode.SubscriberAlreadyExists, SUBSCRIBER_EXISTS);
        return [coded('This id is already live', 'BAD_REQUEST')];
      }
      if (operation === 'closed') return [coded('The socket is closing', 'BAD_REQUEST')];
      let started: ExecutionArgs | readonly GraphQLError[];
      try {
        started = await start(options, streams, operation, payload, address);
      } catch (err) {
        log.error({ err }, 'could not start a subscription');
        started = [coded('Internal server error', 'INTERNAL_SERVER_ERROR')];
      }
      if (!('schema' in started)) {
        connection.end(id);
        return [...started];
      }
      log.info({ event: 'subscription_start', id: id.slice(0, 64), operation: started.operationName?.slice(0, 200), memberId: connection.memberId }, 'socket');
      return started;
    },

    subscribe(args) {
      const result = streams.get(args);
      streams.delete(args);
      return result ?? subscribe(args);
    },
  };
}

/**
 * Runs a subscription document through the pipeline as HTTP does its operations (parse within the token limit, the
 * operation's type, the validation rules, the cost with its variables), then starts it: a refusal (a limit, the
 * field's guard, variables that do not coerce) is a list of errors for this operation alone.
 */
async function start(
  options: SubscriptionsOptions,
  streams: WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>,
  operation: LiveOperation,
  payload: SubscribePayload,
  address: string,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const { pipeline } = options;
  if (typeof payload.query !== 'string') return [coded('A subscription needs a query', 'BAD_REQUEST')];
  const document = pipeline.parseDocument(payload.query);
  if (Array.isArray(document)) return document;
  const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
  const definition = getOperationAST(document, operationName);
  if (!definition) return [coded('Unable to identify the operation', 'BAD_REQUEST')];
  if (definition.operation !== 'subscription') {
    return [coded(`Only subscriptions are served over the socket: send a ${definition.operation} over HTTP`, 'BAD_REQUEST')];
  }
  const invalid = pipeline.validateDocument(document);
  if (invalid.length > 0) return invalid;
  const variableValues = payload.variables ?? undefined;
  const tooCostly = pipeline.costLimit(document, definition, variableValues);
  if (tooCostly) return [tooCostly];
  const args: ExecutionArgs = {
    schema: pipeline.schema,
    document,
    operationName,
    variableValues,
    contextValue: createSocketContext(options.services, liveFeed(operation, options.maxQueuedEvents), options.loaders, address),
    hideSuggestions: pipeline.validationOptions.hideSuggestions,
  };
  // Started here rather than by graphql-ws, so that a refusal when it starts (its guard: FORBIDDEN for a member
  // asking for checkIns; variables that do not coerce) is an `error` message for this operation, as for a document
  // that does not validate, and the socket goes on with the others.
  const result = await subscribe(args);
  if (!(Symbol.asyncIterator in result)) {
    // An error with a path came from the field (its guard, or a fault, which the formatting masks); one without is
    // about the variables, which graphql-js coerces first and Apollo calls BAD_USER_INPUT over HTTP.
    return (result.errors ?? [coded('The subscription could not start', 'BAD_REQUEST')]).map((e) =>
      e.path || e.extensions?.code ? e : withCode([e], 'BAD_USER_INPUT')[0]!,
    );
  }
  streams.set(args, result);
  return args;
}
