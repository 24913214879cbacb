import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI these benches run `warden run` with (the package's bin, as installed). */
export const WARDEN = fileURLToPath(new URL('../../../bin/warden.cjs', import.meta.url));

/** C prelude of the benches' timing programs: the usual headers and `now()` in µs (monotonic). */
export const C_PRELUDE = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
`;

/** Compiles `C_PRELUDE + body` with the system cc (and _GNU_SOURCE) into dir/name; returns the program's path. */
export function compileTimer(dir: string, name: string, body: string): string {
  const src = join(dir, `${name}.c`);
  writeFileSync(src, C_PRELUDE + body);
  const out = join(dir, name);
  const cc = spawnSync('cc', ['-O2', '-D_GNU_SOURCE', '-o', out, src], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
  return out;
}
