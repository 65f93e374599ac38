/**
 * One load run with autocannon against one GraphQL endpoint, over loopback. A target either sends the same request
 * every time, or varies it per request (one member's credential after another's), which autocannon rebuilds from
 * `setupRequest`.
 */
import autocannon from 'autocannon';

/** What to send. */
export interface Target {
  url: string;
  /** The JSON body of a GraphQL request. */
  body: string;
  headers?: Record<string, string>;
  /** Called for every request: headers to add (the next member's token), or another body (the next login). */
  vary?: () => { headers?: Record<string, string>; body?: string };
}

export interface RunOptions {
  connections: number;
  durationSeconds: number;
  /** Requests per second across all connections; unset: as fast as the server answers. */
  overallRate?: number;
  /** Check every response (the warm-up): a non-200 or a GraphQL error aborts the benchmark. */
  checkResponses?: boolean;
}

export interface RunResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses outside 2xx, plus connection errors and timeouts. */
  failures: number;
}

/** The first bad response of a checked run, kept short enough to print. */
function checker(): { onResponse: (status: number, body: string) => void; firstProblem: () => string | null } {
  let problem: string | null = null;
  return {
    onResponse(status, body) {
      if (problem !== null) return;
      if (status !== 200) problem = `HTTP ${status}: ${body.slice(0, 300)}`;
      else if (!body.startsWith('{"data"') || body.includes('"errors"')) problem = `GraphQL errors: ${body.slice(0, 300)}`;
    },
    firstProblem: () => problem,
  };
}

function withChanges(req: autocannon.Request, changes: { headers?: Record<string, string>; body?: string }): autocannon.Request {
  return { ...req, headers: { ...req.headers, ...changes.headers }, body: changes.body ?? req.body };
}

/** Loads `target` for the given time and returns what autocannon measured. */
export async function run(name: string, target: Target, options: RunOptions): Promise<RunResult> {
  const check = options.checkResponses ? checker() : null;
  const vary = target.vary;
  const request: autocannon.Request = {
    ...(vary ? { setupRequest: (req: autocannon.Request) => withChanges(req, vary()) } : {}),
    ...(check ? { onResponse: check.onResponse } : {}),
  };
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [request],
  });
  const problem = check?.firstProblem();
  if (problem) throw new Error(`${name}: a warm-up response was wrong, so its numbers would mean nothing. ${problem}`);
  const failures = result.non2xx + result.errors;
  if (check && (failures > 0 || result['2xx'] === 0)) {
    throw new Error(`${name}: warm-up saw ${result.non2xx} non-2xx responses, ${result.errors} errors and ${result['2xx']} good ones`);
  }
  return { rps: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, failures };
}
