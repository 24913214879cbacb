#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (ES modules, split per lazily-loaded subcommand). Start-up
// time is a budget (`warden run -- true` ≤ 80 ms): loading one bundle is several times faster than
// resolving and parsing a hundred small modules. bin/warden.js runs the bundle.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  // The audit writer's worker thread is its own entry: sink-host loads ./audit-worker.js beside it.
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts'), 'audit-worker': join(root, 'src', 'audit', 'writer-worker.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __wardenRequire } from 'node:module'; const require = __wardenRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
