// Starts and stops a real `cdp serve` for end-to-end tests.
//
//   const server = await startServer({ sources: [{ name: 'web', writeKey: 'wk_web' }] });
//   await fetch(`${server.url}/v1/track`, ...);
//   const events = await server.events();   // every raw log record, via the admin API
//   await server.stop();
//
// The binary comes from $CDP_BIN (ctest sets it) or build/debug/src/server/cdp.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CDP_BIN = process.env.CDP_BIN ?? path.resolve(here, '../../../build/debug/src/server/cdp');
export const ADMIN_TOKEN = 'test-admin-token';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function toml(value) {
  return JSON.stringify(value);
}

// Writes a config file. `options`: sources [{name, writeKey, enabled}], storage {...}, limits {...},
// server {...} (extra keys for each TOML table, snake_case as in docs/configuration.md),
// extraToml (text appended to the file).
export function writeConfig(dir, port, options = {}) {
  const lines = ['[server]', `listen = ${toml(`127.0.0.1:${port}`)}`, `admin_token = ${toml(ADMIN_TOKEN)}`];
  for (const [k, v] of Object.entries(options.server ?? {})) lines.push(`${k} = ${toml(v)}`);
  lines.push('[storage]', `data = ${toml(options.dataDir ?? path.join(dir, 'data'))}`);
  for (const [k, v] of Object.entries(options.storage ?? {})) lines.push(`${k} = ${toml(v)}`);
  if (options.limits) {
    lines.push('[limits]');
    for (const [k, v] of Object.entries(options.limits)) lines.push(`${k} = ${toml(v)}`);
  }
  lines.push('[log]', `level = ${toml(options.logLevel ?? 'warn')}`);
  for (const source of options.sources ?? [{ name: 'test', writeKey: 'wk_test' }]) {
    lines.push('[[sources]]', `name = ${toml(source.name)}`, `write_key = ${toml(source.writeKey)}`);
    if (source.enabled === false) lines.push('enabled = false');
  }
  // Raw TOML appended as it is, for sections without a helper ([import], [[import.watch]]).
  if (options.extraToml) lines.push(options.extraToml);
  const file = path.join(dir, 'cdp.toml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export class CdpServer {
  constructor({ dir, port, configFile, ownsDir }) {
    this.dir = dir;
    this.port = port;
    this.configFile = configFile;
    this.ownsDir = ownsDir;
    this.url = `http://127.0.0.1:${port}`;
    this.child = null;
    this.stderr = '';
  }

  // Starts the process and waits until /healthz answers.
  async start() {
    this.stderr = '';
    this.child = spawn(CDP_BIN, ['serve', '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    this.child.stdout.on('data', () => {});
    const exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 50))]);
      if (early) throw new Error(`cdp exited during start-up (${JSON.stringify(early)}): ${this.stderr}`);
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return this;
      } catch {
        // not listening yet
      }
    }
    throw new Error(`cdp did not become healthy within 30 s: ${this.stderr}`);
  }

  // SIGTERM (graceful) or SIGKILL (crash); waits for the process to end.
  async stop(signal = 'SIGTERM') {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }

  async kill() {
    return this.stop('SIGKILL');
  }

  // Every raw log record [{seq, source, receivedAt, event}], read through the admin API.
  async events() {
    const records = [];
    let from = 1;
    for (;;) {
      const response = await fetch(`${this.url}/admin/v1/events?from=${from}&limit=10000`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      if (!response.ok) throw new Error(`admin events: ${response.status} ${await response.text()}`);
      const text = await response.text();
      const lines = text.split('\n').filter(Boolean);
      for (const line of lines) records.push(JSON.parse(line));
      const next = Number(response.headers.get('x-next-seq'));
      if (lines.length === 0 || next === from) break;
      from = next;
    }
    return records;
  }

  async metrics() {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  cleanup() {
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

// Creates a temp dir, a config and a started server. `options` as for writeConfig.
export async function startServer(options = {}) {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'cdp-e2e-'));
  const port = options.port ?? (await freePort());
  const configFile = writeConfig(dir, port, options);
  const server = new CdpServer({ dir, port, configFile, ownsDir: !options.dir });
  return server.start();
}

export function basicAuth(writeKey) {
  return 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');
}

// Runs `cdp ...args`; resolves with {code, stdout, stderr} whatever the exit code.
export async function cdp(...args) {
  try {
    const { stdout, stderr } = await promisify(execFile)(CDP_BIN, args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}
