import { parseArgs, type ParseArgsConfig } from 'node:util';
import { WardenError } from '../errors.js';

/**
 * Strict argument parsing for every subcommand: unknown flags, missing values and stray
 * positionals are usage errors (one line, never a stack trace). Everything after `--` is returned
 * untouched as `rest`, so a wrapped command's own flags are never interpreted by Warden.
 */
export function parseCli<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  opts: { positionals?: number; usage: string },
): { values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values']; positionals: string[]; rest: string[] } {
  const dd = args.indexOf('--');
  const head = dd >= 0 ? args.slice(0, dd) : args;
  const rest = dd >= 0 ? args.slice(dd + 1) : [];
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new WardenError('USAGE', (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''), `usage: ${opts.usage}`);
  }
  if (parsed.positionals.length > (opts.positionals ?? 0)) {
    throw new WardenError('USAGE', `unexpected argument "${parsed.positionals[opts.positionals ?? 0]}"`, `usage: ${opts.usage}`);
  }
  return { values: parsed.values, positionals: parsed.positionals, rest };
}
