import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `warden run` starts from a V8 code cache in Warden's state (bin/warden.cjs). The cache may only
 * change speed: whatever is in the file — stale, foreign, corrupt, truncated, planted, or garbage
 * V8 itself rejects — the command runs the same, and the file is replaced by a good one.
 */

const root = tempDir('warden-code-cache-');
chmodSync(root, 0o755);
const ws = join(root, 'ws');
const wardenHome = join(root, 'warden');
mkdirSync(ws, { recursive: true });
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, WARDEN_HOME: wardenHome, LANG: 'C.UTF-8', WARDEN_TRACE: '1' };
const cacheDir = join(wardenHome, 'state', 'cache', 'code');
const HEADER = 16 + 32 + 32; // magic, key, SHA-256 of the payload

/** One run of a command with a known output and exit code; returns what the loader did with the cache. */
function run(): string {
  const r = warden(['run', '--', 'sh', '-c', 'echo same; exit 3'], { cwd: ws, env });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'same\n');
  const m = /warden: trace code cache (\w+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return m[1]!;
}

function cacheFile(): string {
  const files = readdirSync(cacheDir).filter((f) => f.endsWith('.bin'));
  assert.equal(files.length, 1, `cache files: ${files.join(', ')}`);
  return join(cacheDir, files[0]!);
}

/** Rewrites the cache file with `f` applied to its bytes, then checks the next run misses (or as told) and repairs it. */
function tamper(f: (b: Buffer) => Buffer, expect = 'miss'): void {
  const file = cacheFile();
  writeFileSync(file, f(readFileSync(file)), { mode: 0o600 });
  assert.equal(run(), expect);
  assert.equal(run(), 'hit', 'the cache was not replaced by a good one');
}

test('the first run compiles and writes a private cache; the next one uses it', () => {
  assert.equal(run(), 'miss');
  const st = statSync(cacheFile());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
  assert.equal(run(), 'hit');
});

test('a corrupt, truncated or foreign cache is not used, and is replaced', () => {
  run();
  tamper((b) => {
    b[b.length - 7]! ^= 0x40; // one bit of the bytecode: the payload digest no longer matches
    return b;
  });
  tamper((b) => b.subarray(0, b.length - 100));
  tamper((b) => b.subarray(0, HEADER));
  tamper((b) => {
    b[20]! ^= 1; // made for other bundle bytes or another Node
    return b;
  });
  tamper((b) => {
    b[0]! ^= 1;
    return b;
  });
});

test('bytes V8 itself rejects, under a valid header, change nothing', () => {
  run();
  tamper((b) => {
    const payload = Buffer.alloc(b.length - HEADER, 0x5a);
    return Buffer.concat([b.subarray(0, 48), createHash('sha256').update(payload).digest(), payload]);
  }, 'rejected');
});

test('a cache file others can write, or a symlink to one, is ignored', () => {
  run();
  const file = cacheFile();
  chmodSync(file, 0o666);
  assert.equal(run(), 'miss');
  assert.equal(statSync(cacheFile()).mode & 0o777, 0o600);
  assert.equal(run(), 'hit');
  // A symlink in place of the file (pointing at a good cache elsewhere) is not followed.
  const elsewhere = join(root, 'planted.bin');
  renameSync(cacheFile(), elsewhere);
  symlinkSync(elsewhere, file);
  assert.equal(run(), 'miss');
});
