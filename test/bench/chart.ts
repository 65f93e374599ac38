/**
 * The results as an SVG bar chart (test/bench/chart.svg, committed, shown on GitHub): requests per second per
 * scenario, grouped by operation under the baseline answering it, each labelled with its ratio to that baseline.
 * Written by hand, no dependency. The colours follow prefers-color-scheme and sit on their own background, so the
 * chart reads in light and dark themes alike, even when the page's theme and the system's disagree.
 */
import type { BenchReport, ScenarioRow } from './report.js';

/** The scenarios of one operation, its baseline first. */
export interface ChartGroup {
  operation: string;
  names: string[];
}

const WIDTH = 860;
const LABEL_RIGHT = 190;
const BAR_LEFT = LABEL_RIGHT + 12;
/** Room right of the longest bar for its value and ratio. */
const BAR_MAX = WIDTH - BAR_LEFT - 190;
const ROW = 28;
const BAR_HEIGHT = 18;
const HEADING = 30;
const TOP = 66;
const FOOTER = 58;

const FONT = `-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif`;
const STYLE = `
    .bg { fill: #ffffff; stroke: #d0d7de; }
    .title { fill: #1f2328; font: 600 16px ${FONT}; }
    .text { fill: #1f2328; font: 13px ${FONT}; }
    .heading { fill: #1f2328; font: 600 13px ${FONT}; }
    .muted { fill: #59636e; font: 12px ${FONT}; }
    .ratio { font-weight: 600; }
    .bar { fill: #0969da; }
    .bar-baseline { fill: #8c959f; }
    .rule { stroke: #d0d7de; }
    @media (prefers-color-scheme: dark) {
      .bg { fill: #0d1117; stroke: #3d444d; }
      .title, .text, .heading { fill: #f0f6fc; }
      .muted { fill: #9198a1; }
      .bar { fill: #4493f8; }
      .bar-baseline { fill: #656c76; }
      .rule { stroke: #3d444d; }
    }`;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const thousands = (n: number) => n.toLocaleString('en-US');

function bar(row: ScenarioRow, y: number, maxRps: number, isBaseline: boolean): string {
  const width = Math.max(1, Math.round((row.rps / maxRps) * BAR_MAX));
  const mid = y + BAR_HEIGHT / 2 + 4.5;
  const ratio = isBaseline ? 'baseline' : `${row.ratio.toFixed(2)}×`;
  return [
    `<text class="text" x="${LABEL_RIGHT}" y="${mid}" text-anchor="end">${escape(row.name)}</text>`,
    `<rect class="${isBaseline ? 'bar-baseline' : 'bar'}" x="${BAR_LEFT}" y="${y}" width="${width}" height="${BAR_HEIGHT}" rx="3"/>`,
    `<text class="text" x="${BAR_LEFT + width + 8}" y="${mid}">${thousands(row.rps)} req/s  <tspan class="ratio">${ratio}</tspan></text>`,
  ].join('\n  ');
}

/** The SVG document for a report, one section per group. */
export function renderChart(report: BenchReport, groups: readonly ChartGroup[]): string {
  const rowOf = new Map(report.scenarios.map((r) => [r.name, r]));
  const maxRps = Math.max(1, ...report.scenarios.map((r) => r.rps));
  const parts: string[] = [];
  let y = TOP;
  for (const group of groups) {
    parts.push(`<line class="rule" x1="20" x2="${WIDTH - 20}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text class="heading" x="20" y="${y + 20}">${escape(group.operation)}</text>`);
    y += HEADING;
    group.names.forEach((name, i) => {
      const row = rowOf.get(name);
      if (!row) throw new Error(`chart: no results for ${name}`);
      parts.push(bar(row, y, maxRps, i === 0));
      y += ROW;
    });
    y += 4;
  }
  const height = y + FOOTER;
  const { run, machine, versions } = report;
  const subtitle =
    `Median of ${run.rounds} rounds × ${run.durationSeconds} s, autocannon ${run.connections} connections, ` +
    `${machine.cpus} × ${machine.cpuModel}, Node ${versions.node}, ${run.at.slice(0, 10)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="title">
  <title id="title">Keycard benchmark: requests per second per scenario, with the ratio to the bare Apollo baseline of the same operation</title>
  <style>${STYLE}
  </style>
  <rect class="bg" x="0.5" y="0.5" width="${WIDTH - 1}" height="${height - 1}" rx="6"/>
  <text class="title" x="20" y="30">Keycard: requests per second (higher is better)</text>
  <text class="muted" x="20" y="50">${escape(subtitle)}</text>
  ${parts.join('\n  ')}
  <text class="muted" x="20" y="${height - 34}">Ratio: a scenario's req/s over its baseline's, the same operation on bare Apollo Server + Express:</text>
  <text class="muted" x="20" y="${height - 16}">the same SDL without directives, the same queries on the same database, no helmet, logging, session, token or directive.</text>
</svg>
`;
}
