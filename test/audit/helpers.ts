/**
 * Shared helpers for audit tests. Every test gets its own temporary WARDEN_HOME; nothing touches
 * the real home directory.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChainMac } from '../../src/audit/chain.js';
import { signStatement } from '../../src/audit/checkpoint.js';
import { publicKeyId, rawPublicKey } from '../../src/audit/keys.js';
import { LineBuffer } from '../../src/audit/line-buffer.js';
import { LogChain } from '../../src/audit/log-chain.js';
import { checkpointBody } from '../../src/audit/record.js';
import type { JsonObject } from '../../src/audit/sanitize.js';
import { type AuditEventInput, type AuditWriterOptions, type GenesisInfo, openAuditWriter, type VerifyReport, verifyAudit } from '../../src/audit/index.js';
import type { CliIo } from '../../src/cli/io.js';

export const GENESIS: GenesisInfo = {
  policyHash: 'sha256:' + 'ab'.repeat(32),
  wardenVersion: '0.1.0-test',
  layers: { active: ['L0', 'L1', 'L3', 'L4'], degraded: ['L2'] },
  detail: { command: ['agent', '--run'] },
};

export interface Home {
  home: string;
  env: NodeJS.ProcessEnv;
  auditDir: string;
  keyDir: string;
  anchorDir: string;
  cleanup(): Promise<void>;
}

export async function tempHome(): Promise<Home> {
  const home = await mkdtemp(join(tmpdir(), 'warden-audit-test-'));
  return {
    home,
    env: { WARDEN_HOME: home, HOME: home, PATH: process.env['PATH'] ?? '' },
    auditDir: join(home, 'state', 'audit'),
    keyDir: join(home, 'keys'),
    anchorDir: join(home, 'keys', 'anchors'),
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

export function ev(i: number, over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    session: i % 2 === 0 ? 'sess-a' : 'sess-b',
    kind: i % 3 === 0 ? 'connect' : 'exec',
    resource: `/usr/bin/tool-${i}`,
    decision: i % 4 === 0 ? 'deny' : 'allow',
    rule: `commands[${i % 5}]`,
    proc: { pid: 1000 + i, exe: '/usr/bin/tool', argv: ['tool', String(i)] },
    detail: { i },
    ...over,
  };
}

export interface WrittenLog {
  logId: string;
  dir: string;
}

/** Writes `events` events and closes the writer (unless close: false). */
export async function writeLog(h: Home, events: number, opts: Partial<AuditWriterOptions> & { close?: boolean } = {}): Promise<WrittenLog> {
  const w = await openAuditWriter({ env: h.env, genesis: GENESIS, checkpointEveryRecords: 10, ...opts });
  for (let i = 0; i < events; i++) await w.append(ev(i));
  if (opts.close !== false) await w.close();
  return { logId: w.logId, dir: w.dir };
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(dir, n));
}

/** Lines of a segment file without their "\n" (a final unterminated fragment is included). */
export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export async function writeLines(file: string, lines: string[], terminated = true): Promise<void> {
  await writeFile(file, lines.join('\n') + (terminated && lines.length > 0 ? '\n' : ''));
}

export function parse(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

/** 1-based line number of the first line matching `pred`. */
export function lineWhere(lines: string[], pred: (r: Record<string, unknown>) => boolean, from = 0): number {
  for (let i = from; i < lines.length; i++) if (pred(parse(lines[i] as string))) return i + 1;
  throw new Error('no such line');
}

export const isEvent = (r: Record<string, unknown>): boolean => r['type'] === 'event';
export const isCheckpoint = (r: Record<string, unknown>): boolean => r['type'] === 'checkpoint';

export function verifyHome(h: Home, extra: { pubkeyPath?: string; macless?: boolean } = {}): Promise<VerifyReport> {
  if (extra.macless) return verifyAudit({ dir: h.auditDir, pubkeyPath: extra.pubkeyPath as string, anchorDir: h.anchorDir });
  return verifyAudit({ dir: h.auditDir, keyDir: h.keyDir, ...(extra.pubkeyPath ? { pubkeyPath: extra.pubkeyPath } : {}) });
}

/**
 * What an attacker without our keys can do: re-chain every record of a log with a fresh HMAC key
 * and re-sign every checkpoint with a fresh Ed25519 key (optionally naming the new key in genesis).
 */
export function rechain(lines: string[], opts: { announceKey: boolean }): string[] {
  const first = parse(lines[0] as string);
  const logId = String(first['log']);
  const macKey = Buffer.alloc(32, 7);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const chain = new LogChain(new ChainMac(macKey, logId));
  const out = new LineBuffer();
  for (const line of lines) {
    const r = parse(line);
    const time = String(r['time']);
    delete r['mac'];
    delete r['seq'];
    delete r['time'];
    if (r['type'] === 'checkpoint') {
      const stmt = chain.statement(time, r['final'] === true);
      chain.append(checkpointBody(stmt, signStatement(stmt, privateKey), publicKeyId(publicKey)), time, out);
      continue;
    }
    if (r['type'] === 'genesis' && opts.announceKey) r['keys'] = { mac: 'attacker', sig: rawPublicKey(publicKey).toString('base64') };
    chain.append(r as JsonObject, time, out);
  }
  return Buffer.concat(out.take()).toString('utf8').split('\n').filter((l) => l !== '');
}

export interface Captured {
  io: CliIo;
  out(): string;
  err(): string;
}

export function capture(env: NodeJS.ProcessEnv, cwd = '/'): Captured {
  let out = '';
  let err = '';
  return {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env, cwd, stdin: process.stdin },
    out: () => out,
    err: () => err,
  };
}

/** How to run a fixture script as a child process, from source (tsx) or from the compiled tree. */
export function fixtureCommand(name: string): { args: string[]; cwd: string } {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(`./fixtures/${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  let root = dirname(script);
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  return { args: fromSource ? ['--import', 'tsx', script] : [script], cwd: root };
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
