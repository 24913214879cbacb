/**
 * getopt-style argument splitting over expanded fields, driven by the knowledge base's list of
 * options that take a value. Handlers never index argv by position blindly: an option's value is
 * never mistaken for a positional (`tar -C /etc -xf x` extracts into /etc, it does not read it).
 *
 * Unknown options are assumed to be flags. That errs towards treating a value as a positional,
 * which is the conservative direction: positionals are what get judged as paths, hosts and code.
 */
import type { Field } from '../model.js';

export interface Opt {
  /** As written, without the value: `-o`, `--output`, `-name`. */
  name: string;
  value: Field | null;
  /** Index of the option in the argument list. */
  at: number;
}

export interface ParsedArgs {
  opts: Opt[];
  pos: Field[];
  /** Arguments after a `--`, or from the first positional on when `stopAtPositional`. */
  rest: Field[];
  /** Whether a literal `--` was seen. */
  dashdash: boolean;
}

export interface ParseOptions {
  /** Stop at the first positional: the remaining argv belongs to a wrapped command. */
  stopAtPositional?: boolean;
  /** Options whose value is optional and only attached (`--color=auto`). */
  attachedOnly?: readonly string[];
  /** Single-dash words are whole options (`-name`, `-exec`, `-ex`), not bundled short flags. */
  longSingleDash?: boolean;
}

export function parseArgs(args: Field[], val: readonly string[] = [], o: ParseOptions = {}): ParsedArgs {
  const valSet = new Set(val);
  const opts: Opt[] = [];
  const pos: Field[] = [];
  let rest: Field[] = [];
  let dashdash = false;
  for (let i = 0; i < args.length; i++) {
    const f = args[i]!;
    const s = f.s;
    if (s === '--') {
      dashdash = true;
      rest = args.slice(i + 1);
      if (!o.stopAtPositional) pos.push(...rest);
      break;
    }
    if (!s.startsWith('-') || s === '-' || !f.exact && s.startsWith('\uE000')) {
      if (o.stopAtPositional) {
        rest = args.slice(i);
        break;
      }
      pos.push(f);
      continue;
    }
    if (s.startsWith('--') || o.longSingleDash || valSet.has(s)) {
      const eq = s.indexOf('=');
      if (eq > 0) {
        opts.push({ name: s.slice(0, eq), value: { ...f, s: s.slice(eq + 1) }, at: i });
      } else if (valSet.has(s) && i + 1 < args.length) {
        opts.push({ name: s, value: args[i + 1]!, at: i });
        i++;
      } else opts.push({ name: s, value: null, at: i });
      continue;
    }
    // Bundled short options: `-xzf file`, `-ofile`, `-n5`.
    let consumed = false;
    for (let j = 1; j < s.length; j++) {
      const name = '-' + s[j]!;
      if (valSet.has(name)) {
        const attached = s.slice(j + 1);
        if (attached !== '') opts.push({ name, value: { ...f, s: attached }, at: i });
        else if (i + 1 < args.length) {
          opts.push({ name, value: args[i + 1]!, at: i });
          consumed = true;
        } else opts.push({ name, value: null, at: i });
        break;
      }
      opts.push({ name, value: null, at: i });
    }
    if (consumed) i++;
  }
  return { opts, pos, rest, dashdash };
}

export function hasOpt(p: ParsedArgs, ...names: string[]): boolean {
  return p.opts.some((o) => names.includes(o.name));
}

/** The value of the last occurrence of any of `names`. */
export function optValue(p: ParsedArgs, ...names: string[]): Field | null {
  let v: Field | null = null;
  for (const o of p.opts) if (names.includes(o.name) && o.value) v = o.value;
  return v;
}

export function optValues(p: ParsedArgs, ...names: string[]): Field[] {
  const out: Field[] = [];
  for (const o of p.opts) if (names.includes(o.name) && o.value) out.push(o.value);
  return out;
}

/** Whether a short flag letter appears (alone or bundled) or a long name is present. */
export function flag(args: Field[], short: string, ...long: string[]): boolean {
  for (const a of args) {
    const s = a.s;
    if (s === '--') return false;
    if (long.includes(s) || long.some((l) => s.startsWith(l + '='))) return true;
    if (short && /^-[A-Za-z0-9]+$/.test(s) && s.includes(short)) return true;
  }
  return false;
}
