#!/bin/sh
":" //; [ "$1" = run ] && [ -n "${NODE_EXTRA_CA_CERTS+set}" ] && { export WARDEN_HOST_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
'use strict';
// The `warden` command. Executed as a program (npm's bin link), the first two lines are a POSIX
// shell script that starts Node on this same file; for Node they are a hashbang and a string. Why
// the shell: when NODE_EXTRA_CA_CERTS is set, Node parses that file and its own ~140 root
// certificates before it runs any JavaScript (on the development VM ~45 ms, on top of Node's own
// ~25 ms start). `warden run` opens no TLS connection (its proxy tunnels CONNECT and forwards
// plain HTTP), so for `run` alone the shell hands the variable over under another name and this
// file puts it back into process.env before anything reads the environment: the sandboxed
// command, the policy's env allowlist and every child see the user's environment unchanged.
// Started as `node bin/warden.cjs`, the shell lines are inert and Node has loaded the file itself.
//
// This file is CommonJS: Node starts it without its ES module loader (~4 ms of `warden run`).
// The CLI runs from the bundle (dist/bundle, built by `npm run build`): start-up time is a budget.
//
// `warden run` (<= 80 ms cold) starts from dist/bundle/run.cjs, compiled through a V8 code cache:
// the bytecode of every function the previous run executed, so this run neither parses the bundle
// nor compiles those functions again. Node 20 can only do that for a classic script (vm.Script
// `cachedData`), which is why run.cjs is CommonJS. Every other command runs the ES module bundle.
//
// The cache is an optimisation and nothing else: whatever the file holds, the code that runs is
// run.cjs as it is on disk. It lives in Warden's state directory (never reachable from a sandbox),
// one file per bundle location, and is used only if it is a regular file of ours that nobody else
// can write, and it names the exact bundle bytes and Node build it was made from (`cacheKey`), and
// its payload matches its SHA-256 (V8 itself checks version and flags, but not, in release builds,
// the payload's integrity). Anything else (missing, stale, foreign, truncated, corrupt, rejected
// by V8) means a normal compile, after which a fresh cache replaces the file.
const { createHash } = require('node:crypto');
const { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');

const HANDED_OVER = 'WARDEN_HOST_NODE_EXTRA_CA_CERTS';
if (Object.hasOwn(process.env, HANDED_OVER)) {
  // Set by the shell lines above, which unset NODE_EXTRA_CA_CERTS (anyone else who sets it only
  // changes the environment they already control).
  if (!Object.hasOwn(process.env, 'NODE_EXTRA_CA_CERTS')) process.env.NODE_EXTRA_CA_CERTS = process.env[HANDED_OVER];
  delete process.env[HANDED_OVER];
}

/** As FAILURE_EXIT in src/cli/main.ts: 126 for run, 2 for hook (never a silent pass), 3 for audit. */
const FAILURE_EXIT = { run: 126, hook: 2, audit: 3 };

const MAGIC = Buffer.from('warden.v8-cache1'); // 16 bytes; then key (32), SHA-256 of payload (32), payload
const HEADER = MAGIC.length + 64;
const MAX_CACHE_BYTES = 64 << 20;

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Warden's state directory: the same rule as src/paths.ts `wardenDirs().state`. */
function stateDir(env) {
  if (env.WARDEN_HOME) return join(env.WARDEN_HOME, 'state');
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'warden');
}

/** What bytecode is valid for: these bundle bytes, this Node build and these Node/V8 options. */
function cacheKey(source) {
  const node = [process.version, process.versions.v8, process.arch, process.execPath, JSON.stringify(process.execArgv), process.env.NODE_OPTIONS ?? ''];
  return sha256('warden.code-cache.v1\0', node.join('\0'), '\0', source);
}

/** The cached bytecode, if the file is trustworthy and made for `key`; otherwise undefined. */
function readCache(file, key) {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid() || (st.mode & 0o022) !== 0 || st.size <= HEADER || st.size > MAX_CACHE_BYTES) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) return undefined;
      n += r;
    }
    const payload = buf.subarray(HEADER);
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC) || !buf.subarray(MAGIC.length, MAGIC.length + 32).equals(key)) return undefined;
    if (!buf.subarray(MAGIC.length + 32, HEADER).equals(sha256(payload))) return undefined;
    return payload;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Replaces the cache file atomically (a reader sees the old file or the new one, never half of one). */
function writeCache(file, key, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, Buffer.concat([MAGIC, key, sha256(data), data]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true }); // a cache that cannot be written only costs time
  }
}

/** Loads a CommonJS bundle through the code cache; `done()` refreshes the cache if it was not used. */
function loadCached(file, env) {
  const bytes = readFileSync(file);
  const key = cacheKey(bytes);
  const cacheFile = join(stateDir(env), 'cache', 'code', `${sha256(file).toString('hex').slice(0, 16)}.bin`);
  const cachedData = readCache(cacheFile, key);
  // The wrapper Node itself puts around a CommonJS module.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const hit = cachedData !== undefined && !script.cachedDataRejected;
  if (env.WARDEN_TRACE) process.stderr.write(`warden: trace code cache ${hit ? 'hit' : cachedData ? 'rejected' : 'miss'} ${file.split('/').slice(-2).join('/')}\n`);
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, done: () => hit || writeCache(cacheFile, key, script.createCachedData()) };
}

const argv = process.argv.slice(2);
if (argv[0] === 'run') {
  // Modules the run bundle loads on demand (the 1.5 MB shell parser, needed by the first exec whose
  // argv is shell text) go through the same verified code cache (src/classify/parse.ts).
  const later = [];
  const loaded = new Map();
  globalThis[Symbol.for('warden.requireCached')] = (file) => {
    if (!loaded.has(file)) {
      const m = loadCached(file, process.env);
      later.push(m.done);
      loaded.set(file, m.exports);
    }
    return loaded.get(file);
  };
  let bundle;
  const running = new Promise((resolve) => {
    bundle = loadCached(join(__dirname, '..', 'dist', 'bundle', 'run.cjs'), process.env);
    resolve(bundle.exports.main(argv));
  });
  finish(running, () => {
    bundle.done();
    for (const done of later) done();
    leaveWithoutTeardown();
  });
} else {
  finish(import(pathToFileURL(join(__dirname, '..', 'dist', 'bundle', 'main.js')).href).then(({ main }) => main(argv)));
}

/**
 * `warden run` has nothing left to do once its promise has settled: the audit log is closed and
 * synced, the sandbox is gone, and Node's stdio writes are synchronous on Linux. Its last 'exit'
 * handler therefore leaves at once (native/fdpass.c exitNow) instead of through Node's teardown,
 * which joins V8's and libuv's threads (~4 ms, a twentieth of `warden run -- true`). Handlers
 * registered before this one still run; without the addon Node exits as usual.
 */
function leaveWithoutTeardown() {
  let addon;
  try {
    addon = require(join(__dirname, '..', 'native', 'build', 'warden-fdpass.node'));
  } catch {
    return;
  }
  if (typeof addon.exitNow !== 'function') return;
  process.once('exit', (code) => {
    if (Number.isInteger(code) && code >= 0 && code <= 255) addon.exitNow(code);
  });
}

/**
 * Sets the exit code from the command's promise. A failure that escaped the CLI's own handling
 * (say, a missing build) is an internal error with the command's failure code (FAILURE_EXIT).
 */
function finish(running, after = () => {}) {
  running.then(
    (code) => {
      process.exitCode = code;
      after();
    },
    (e) => {
      process.stderr.write(`warden: internal error: ${String(e?.message ?? e).replace(/[\r\n]+/g, ' ')}\n`);
      process.exitCode = Object.hasOwn(FAILURE_EXIT, argv[0] ?? '') ? FAILURE_EXIT[argv[0]] : 1;
    },
  );
}
