/**
 * From the runs of every round to what the benchmark reports: medians over rounds, the ratio of each scenario to the
 * baseline answering the same operation, a table on stdout and the JSON of CONTRACT section 9.
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

/** A row of the JSON report (CONTRACT section 9). */
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
  const packages = ['@apollo/server', 'graphql', 'express', 'better-sqlite3', 'jsonwebtoken'];
  return { node: process.versions.node, ...Object.fromEntries(packages.map((name) => [name, installed(name)])) };
}

/** Writes the report where CONTRACT section 9 says, creating the folder (it is not committed). */
export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
