/**
 * Seccomp programs compiled when the CLI bundles are built (scripts/bundle.js), one per option
 * set a plan can ask for: compiling one cold cost ~2.5 ms on the critical path of `warden run`'s
 * start-up, before the helper is spawned. The compiler stays the only source of the programs:
 * the table is its output, made by the bundler from the same sources it bundles, and
 * test/sandbox/seccomp-precompiled.test.ts checks the built table against a live compile.
 * Outside the bundles (tests, `dist/src`) there is no table and the program is compiled here.
 */
import { buildSeccompFilter, type SeccompFilter, type SeccompFilterOptions } from './filter.js';
import type { Arch } from './syscalls.js';

/** Replaced by the bundler with the JSON of `precompileSeccompPrograms()`; undeclared elsewhere. */
declare const __WARDEN_SECCOMP_PROGRAMS__: string;

/** The embedded table (referenced once: the bundler pastes the whole text at each reference). */
function embeddedTable(): string | undefined {
  try {
    return __WARDEN_SECCOMP_PROGRAMS__;
  } catch {
    return undefined; // ReferenceError: not a bundle
  }
}

/** The program only; its description (for `describePlan`, not `warden run`) is compiled on demand. */
interface Entry {
  bytes: string; // base64
  insns: number;
}

const ARCHS: readonly Arch[] = ['x86_64', 'aarch64'];

/** Every option set `buildPlan` can produce (for `arch`, or for every arch). */
export function seccompOptionSets(arch?: Arch): SeccompFilterOptions[] {
  return (arch ? [arch] : ARCHS).flatMap((arch) => [false, true].flatMap((notifyExec) => [false, true].map((notifyOpen) => ({ arch, notifyExec, notifyOpen }))));
}

export function optionKey(o: SeccompFilterOptions): string {
  return `${o.arch}/${o.notifyExec ? 'exec' : '-'}/${o.notifyOpen ? 'open' : '-'}`;
}

/** The table the bundler embeds (JSON text), for the arch the bundle is built on. */
export function precompileSeccompPrograms(arch?: Arch): string {
  const table: Record<string, Entry> = {};
  for (const o of seccompOptionSets(arch)) {
    const f = buildSeccompFilter(o);
    table[optionKey(o)] = { bytes: Buffer.from(f.bytes).toString('base64'), insns: f.insns };
  }
  return JSON.stringify(table);
}

/** The filter for `o`: from the bundle's table when there is one, else compiled now. */
export function seccompFilterFor(o: SeccompFilterOptions): SeccompFilter {
  const json = embeddedTable();
  const hit = json === undefined ? undefined : (JSON.parse(json) as Record<string, Entry>)[optionKey(o)];
  if (!hit) return buildSeccompFilter(o);
  return {
    bytes: new Uint8Array(Buffer.from(hit.bytes, 'base64')),
    insns: hit.insns,
    get description() {
      return buildSeccompFilter(o).description;
    },
  };
}
