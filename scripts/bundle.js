#!/usr/bin/env node
// Bundles the CLI into dist/bundle/. Start-up time is a budget (`warden run -- true` ≤ 80 ms):
// loading one bundle is several times faster than resolving and parsing a hundred small modules.
// bin/warden.cjs (the package bin) runs the bundle.
//
// Two builds:
// - main.js and its chunks (ES modules, split per lazily-loaded subcommand): every command but
//   `run`, and the audit writer's worker thread.
// - run.cjs (CommonJS): `warden run` alone. bin/warden.cjs compiles it through a V8 code cache,
//   which Node 20 offers only for classic scripts (vm.Script cachedData), not for ES modules. What
//   the run path needs only sometimes is split off into files of its own that run.cjs require()s
//   when needed, so the file compiled on every start stays small: policy-source.cjs (the YAML
//   parser and the schema validator, needed on a policy-cache miss) and approvals.cjs (the
//   approvals socket, for policies that can ask). errors.cjs is shared by all of them, so there is
//   one WardenError class and `instanceof` holds across files.
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const src = (p) => join(root, 'src', p);
rmSync(outdir, { recursive: true, force: true });

// The seccomp programs, compiled now from these same sources (src/sandbox/seccomp/precompiled.ts)
// for this machine's arch and embedded in run.cjs: `warden run` then does not compile one at
// start-up (the other commands compile theirs). Also written beside the bundles, where a test
// compares the table with a live compile.
async function seccompPrograms() {
  const tmp = mkdtempSync(join(tmpdir(), 'warden-bundle-'));
  try {
    const out = join(tmp, 'precompiled.mjs');
    await build({ entryPoints: [src('sandbox/seccomp/precompiled.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'warning' });
    const { precompileSeccompPrograms } = await import(pathToFileURL(out).href);
    const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch]; // another arch: none embedded
    return arch ? precompileSeccompPrograms(arch) : '{}';
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
const SECCOMP_PROGRAMS = await seccompPrograms();

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  logLevel: 'warning',
  legalComments: 'none',
};

await build({
  ...common,
  // The audit writer's worker thread is its own entry: sink-host loads ./audit-worker.js beside it.
  entryPoints: { main: src('cli/main.ts'), 'audit-worker': src('audit/writer-worker.ts') },
  outdir,
  splitting: true,
  format: 'esm',
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __wardenRequire } from 'node:module'; const require = __wardenRequire(import.meta.url);" },
});

// ---- the CommonJS files of `warden run` ----

/** Source modules (as imported, `.js`) that live in a file of their own, and that file. */
const SPLIT = {
  [src('errors.js')]: 'errors.cjs',
  [src('policy/source.js')]: 'policy-source.cjs',
  [src('approvals/broker.js')]: 'approvals.cjs',
  [src('approvals/server.js')]: 'approvals.cjs',
  [src('approvals/terminal.js')]: 'approvals.cjs',
  [src('approvals/tty.js')]: 'approvals.cjs',
  [src('approvals/tree-pause.js')]: 'approvals.cjs',
};

/** Resolves imports of split-off modules to the file that holds them (except inside that file). */
function splitOff(self) {
  return {
    name: 'warden-split',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = SPLIT[resolve(args.resolveDir, args.path)];
        return file && file !== self ? { path: `./${file}`, external: true } : undefined;
      });
    },
  };
}

const cjs = {
  ...common,
  format: 'cjs',
  charset: 'ascii', // a one-byte source string: cheaper to read and to hash
  minifyWhitespace: true, // fewer bytes to read, hash and lazily compile; names are kept
  // import() becomes require(): the code-cached script has no dynamic-import callback.
  supported: { 'dynamic-import': false },
  // import.meta of the bundled ES modules: this file's URL (packageRoot, the audit worker's entry).
  define: { 'import.meta': '__wardenImportMeta', __WARDEN_SECCOMP_PROGRAMS__: JSON.stringify(SECCOMP_PROGRAMS) },
  banner: { js: "var __wardenImportMeta = { url: require('node:url').pathToFileURL(__filename).href, resolve: (s) => require('node:url').pathToFileURL(require.resolve(s)).href };" },
};

const cjsFiles = {
  // `warden run` alone: the dispatcher of main.ts (usage, one-line errors, exit 126) with one command.
  'run.cjs': "import { dispatch } from './src/cli/main.ts'; import { runCommand } from './src/cli/run.ts'; export const main = (argv) => dispatch(argv, { run: async () => runCommand });",
  'errors.cjs': "export * from './src/errors.ts';",
  'policy-source.cjs': "export * from './src/policy/source.ts';",
  'approvals.cjs':
    "export * from './src/approvals/broker.ts'; export * from './src/approvals/server.ts'; export * from './src/approvals/terminal.ts'; export * from './src/approvals/tty.ts'; export * from './src/approvals/tree-pause.ts';",
};

await Promise.all(
  Object.entries(cjsFiles).map(([file, contents]) =>
    build({
      ...cjs,
      stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: file.replace(/\.cjs$/, '.entry.ts') },
      outfile: join(outdir, file),
      plugins: [splitOff(file)],
    }),
  ),
);

writeFileSync(join(outdir, 'seccomp-programs.json'), SECCOMP_PROGRAMS);
