/** Percentiles (nearest-rank) of a sample array; the array is sorted in place. */
export function percentiles(samples: Float64Array | number[], ps: number[]): Record<number, number> {
  const a = samples instanceof Float64Array ? samples.sort() : Float64Array.from(samples).sort();
  const out: Record<number, number> = {};
  for (const p of ps) {
    const idx = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
    out[p] = Math.round((a[idx] ?? NaN) * 1000) / 1000;
  }
  return out;
}

/** `--name N` from the command line, or `def`. */
export function numArg(name: string, def: number, argv: readonly string[] = process.argv.slice(2)): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} wants a positive number`);
  return v;
}
