import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { ROOT } from '../../src/shared/paths.js';

/** The file `npm run <script>` starts once it has built: the script's last command, `node <file>`, as package.json says. */
function entryOf(script: string): string {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const file = /&& node (\S+)$/.exec(scripts[script] ?? '')?.[1];
  if (!file) throw new Error(`package.json's "${script}" script no longer ends with "&& node <file>": say here how it starts the service`);
  return path.join(ROOT, file);
}

/** What `npm start` and `npm run pool` run, and what each says once it serves. */
const ENTRY = {
  gym: { file: entryOf('start'), ready: /Keycard is serving/ },
  pool: { file: entryOf('pool'), ready: /the pool is open/ },
} as const;

export interface ShippedProcess {
  /** Everything it wrote so far (its log). */
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a built service in its own process, from `cwd` (where its `./data` goes, as in a fresh clone), with exactly
 * `env` and nothing else of the test's environment: not even NODE_ENV, which the test runner sets to `test`. Resolves
 * once it says it is serving; rejects with what it said if it exits or stays silent first.
 */
export async function startShipped(service: keyof typeof ENTRY, options: { cwd: string; env: Record<string, string> }): Promise<ShippedProcess> {
  const entry = ENTRY[service];
  const child: ChildProcess = spawn(process.execPath, [entry.file], {
    cwd: options.cwd,
    // PATH alone from the test's environment: what any shell has.
    env: { PATH: process.env.PATH ?? '', ...options.env },
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${service} did not start in time:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      if (entry.ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the ${service} exited (${code}) before serving:\n${output}`));
    });
  });
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A certificate for `localhost` (and 127.0.0.1) that the test trusts: the TLS a proxy in front would have. */
export async function localhostCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

export interface TlsProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * The TLS-terminating reverse proxy the README's production section puts in front of each service (nginx, Caddy, a
 * load balancer), in a few lines: HTTPS on a port of its own, the request passed on over HTTP with its Host, and
 * `X-Forwarded-Proto: https` and `X-Forwarded-For` appended, as the README asks of a proxy.
 */
export async function startTlsProxy(targetPort: number, tls: { key: string; cert: string }): Promise<TlsProxy> {
  const server = https.createServer(tls, (req, res) => {
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-for': forwardedFor } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  // Every address, as the services themselves listen: `localhost` may resolve to ::1 or to 127.0.0.1.
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
