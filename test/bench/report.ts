/**
 * From the runs of every round to what the benchmark reports: medians over rounds, the ratio of each scenario to the
 * baseline answering the same operation, a table on stdout and the JSON that test/bench/README.md describes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../src/shared/paths.js';
import type { RunResult } from './load.js';

/** One scenario's run in one round. */
export interface Sample extends RunResult {
  eventLoopP99Ms?: number;
  /** The load run alongside (logins): its rate and its failures. */
  alongside?: RunResult;
}

/** A row of the JSON report (test/bench/README.md, "The results file"). */
export interface ScenarioRow {
  name: string;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50Ms: number;
  p99Ms: number;
  ratio: number;
  sqlPerRequest?: number;
  eventLoopP99Ms?: number;
}

export interface BenchReport {
  machine: { cpuModel: string; cpus: number; totalMemoryGb: number; os: string };
  versions: Record<string, string>;
  /** How the numbers were taken. */
  run: { at: string; quick: boolean; rounds: number; durationSeconds: number; connections: number; members: number; checkIns: number; identities: number };
  scenarios: ScenarioRow[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/**
 * The row of one scenario, over its rounds. The ratio is taken round by round, against the baseline answering the same
 * operation in the same round, and the median of those is reported: a machine that slows down for a while slows a
 * scenario and its baseline alike, and the ratio stays what it is.
 */
export function summarize(name: string, samples: readonly Sample[], baseline: readonly Sample[], sqlPerRequest: number | undefined): ScenarioRow {
  const rps = samples.map((s) => s.rps);
  const loop = samples.flatMap((s) => (s.eventLoopP99Ms === undefined ? [] : [s.eventLoopP99Ms]));
  return {
    name,
    rps: Math.round(median(rps)),
    rpsMin: Math.round(Math.min(...rps)),
    rpsMax: Math.round(Math.max(...rps)),
    p50Ms: round(median(samples.map((s) => s.p50Ms)), 2),
    p99Ms: round(median(samples.map((s) => s.p99Ms)), 2),
    ratio: round(median(samples.map((s, i) => s.rps / baseline[i]!.rps)), 2),
    ...(sqlPerRequest === undefined ? {} : { sqlPerRequest: round(sqlPerRequest, 2) }),
    ...(loop.length > 0 ? { eventLoopP99Ms: round(median(loop), 2) } : {}),
  };
}

/** The table printed at the end: one line per scenario, the failures of all its rounds included. */
export function formatTable(rows: readonly ScenarioRow[], failures: ReadonlyMap<string, number>): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'min-max req/s', 'failed', 'sql/req', 'loop p99 ms'];
  const lines = rows.map((r) => [
    r.name,
    String(r.rps),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.ratio.toFixed(2),
    `${r.rpsMin}-${r.rpsMax}`,
    String(failures.get(r.name) ?? 0),
    r.sqlPerRequest === undefined ? '' : String(r.sqlPerRequest),
    r.eventLoopP99Ms === undefined ? '' : r.eventLoopP99Ms.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

export function describeMachine(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemoryGb: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** The versions that decide the numbers: Node's and those of the packages on the request path, as installed. */
export function describeVersions(): Record<string, string> {
  const installed = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const packages = ['@apollo/server', 'graphql', 'express', 'better-sqlite3', 'pg', 'jsonwebtoken'];
  return { node: process.versions.node, ...Object.fromEntries(packages.map((name) => [name, installed(name)])) };
}

/** What the PostgreSQL rows were measured on, for the note under the table. */
export interface PostgresRun {
  serverVersion: string;
  /** Connections in each server's pool (DATABASE_POOL_SIZE, at its default). */
  poolSize: number;
  /** Workers of the cluster behind token-stateless-2w. */
  workers: number;
  connections: number;
  cores: number;
}

// A no-break space keeps the quotient and its row on one line.
const times = (a: ScenarioRow, b: ScenarioRow) => `${(a.rps / b.rps).toFixed(2)}×\u00a0${b.name}`;

/** A paragraph as lines of at most `width` characters, every line after the first indented. */
function wrap(text: string, width = 120, indent = '  '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/**
 * The note printed under the table when the PostgreSQL rows ran: what they show next to their SQLite twins, and why.
 * The rates compared are medians over rounds, so these quotients are rougher than the ratios, taken round by round.
 */
export function explainPostgres(rows: readonly ScenarioRow[], run: PostgresRun): string[] {
  const row = (name: string) => {
    const found = rows.find((r) => r.name === name);
    if (!found) throw new Error(`no results for ${name}`);
    return found;
  };
  const [baseline, stateless, session] = [row('baseline'), row('token-stateless'), row('session')];
  const [baselinePg, statelessPg, sessionPg, twoWorkers] = [row('baseline-pg'), row('token-stateless-pg'), row('session-pg'), row(`token-stateless-${run.workers}w`)];
  return [
    ...wrap(
      `on PostgreSQL ${run.serverVersion} (the same rows, copied into a database of the benchmark's own; ratios over baseline-pg, which ` +
        `reads them there): baseline-pg ran at ${times(baselinePg, baseline)}, token-stateless-pg at ${times(statelessPg, stateless)}, ` +
        `session-pg at ${times(sessionPg, session)}. Every SQL statement is a round trip over a socket to a PostgreSQL backend, a ` +
        `process of its own on the same ${run.cores} cores, where SQLite is a function call in the server's own process; and each ` +
        `server's pool holds ${run.poolSize} connections, so at most ${run.poolSize} of the ${run.connections} connections' statements ` +
        `run at once, the others wait for one. session-pg makes the trip twice a request (its session row, then the member), the ` +
        `token rows and the baseline once (the member).`,
    ),
    ...wrap(
      `token-stateless-${run.workers}w: token-stateless-pg's tokens and database, served by ${run.workers} workers on one port ` +
        `(${run.workers} event loops, ${run.workers} pools), ran at ${times(twoWorkers, statelessPg)}. Another event loop only has ` +
        `the CPU that autocannon, PostgreSQL and anything else on this machine leave idle, and here they all share ${run.cores} cores. ` +
        `Its workers cannot answer the benchmark's commands: no sql/req, no loop p99.`,
    ),
  ];
}

/** Writes the report where test/bench/README.md says, creating the folder (it is not committed). */
export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
