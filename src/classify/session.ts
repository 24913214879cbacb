/**
 * Sessions and verdicts: the public face of the classifier.
 *
 * A session is one agent's sequence of commands. It keeps the shell state the commands build up
 * (variables, functions, aliases, cwd) and what the session did to files (contents written,
 * downloads, execute bits), plus the facts risk chains need (secret reads, recon). Each command is
 * analysed against that state; the verdict is the most severe effect, with reasons, a safer
 * alternative when one is known, and the earlier steps when the command completes a chain.
 *
 * Invariants:
 * - No I/O and no module-level mutable state: everything lives in the session object.
 * - Total: classify() never throws and always returns a verdict. Input the analyser cannot
 *   understand (syntax errors, limits hit, internal errors) is at least `review`, never `allow`.
 */
import { Analyzer } from './analyze.js';
import { PROTECTED_BRANCHES_DEFAULT, systemBinaryPaths } from './kb/binaries.js';
import { type AnalyzerConfig, type Ctx, Env, lit, type SessionFacts, shellQuote } from './model.js';
import { createShellParser } from './parse.js';
import { PathKb } from './pathkb.js';
import { type ChainLink, type ClassifierOptions, type Effect, type EffectKind, RISK_ORDER, type Risk, type Verdict, verdictFor } from './types.js';

export interface ClassifierSession {
  /** Classifies the next shell command line of this session (state carries to later calls). */
  classify(command: string): Verdict;
  /** Classifies the next exec of this session given as argv (no shell parsing of the words). */
  classifyArgv(argv: readonly string[]): Verdict;
}

const MAX_REASONS = 6;
/** Longest command line analysed in full; beyond it only a token scan runs (bounded time). */
export const MAX_COMMAND_CHARS = 256 * 1024;

const DEFAULT_HOME = '/home/user';

function cleanInput(command: string): { text: string; notes: Effect[] } {
  const notes: Effect[] = [];
  let text = command;
  if (text.includes('\0')) {
    notes.push({ kind: 'obfuscated-exec', risk: 'medium', reason: 'the command contains NUL bytes (a shell would truncate or reject it; the text seen differs from what runs)' });
    text = text.replace(/\0/g, '');
  }
  if (text.includes('\uFFFD')) {
    notes.push({ kind: 'unparseable', risk: 'low', reason: 'the command contains invalid UTF-8 (replaced before analysis)' });
  }
  return { text, notes };
}

function compose(effects: Effect[], step: number): Verdict {
  const sorted = effects
    .map((e, i) => ({ e, i }))
    .sort((x, y) => RISK_ORDER[y.e.risk] - RISK_ORDER[x.e.risk] || x.i - y.i)
    .map((x) => x.e)
    .filter((e) => e.risk !== 'none');
  const risk: Risk = sorted[0]?.risk ?? 'none';
  const reasons: string[] = [];
  const seen = new Set<string>();
  for (const e of sorted) {
    if (seen.has(e.reason)) continue;
    seen.add(e.reason);
    reasons.push(e.reason);
    if (reasons.length >= MAX_REASONS) break;
  }
  const kinds: EffectKind[] = [];
  for (const e of sorted) if (!kinds.includes(e.kind)) kinds.push(e.kind);
  const v: Verdict = { verdict: verdictFor(risk), risk, reasons, effects: kinds };
  const sug = sorted.find((e) => e.suggestion && e.risk === risk)?.suggestion ?? sorted.find((e) => e.suggestion && RISK_ORDER[e.risk] >= RISK_ORDER.low)?.suggestion;
  if (sug) v.suggestion = sug;
  // A chain: the most severe effect that names earlier steps.
  const chained = sorted.find((e) => e.chain && e.chain.some((l) => l.step < step) && RISK_ORDER[e.risk] >= RISK_ORDER.medium);
  if (chained?.chain) {
    const links: ChainLink[] = [];
    const keys = new Set<string>();
    for (const l of chained.chain) {
      if (l.step >= step) continue;
      const k = `${l.step}|${l.role}`;
      if (keys.has(k)) continue;
      keys.add(k);
      links.push(l);
    }
    links.sort((x, y) => x.step - y.step);
    v.chain = links;
    const desc = links.map((l) => `step ${l.step} (${l.role}: ${l.command.length > 60 ? l.command.slice(0, 57) + '...' : l.command})`).join(' -> ');
    v.reasons = [`completes a risk chain: ${desc} -> this command`, ...v.reasons].slice(0, MAX_REASONS + 1);
  }
  return v;
}

function failure(reason: string): Verdict {
  return { verdict: 'review', risk: 'medium', reasons: [reason], effects: ['unparseable'] };
}

/** A configured classifier: sessions share its compiled knowledge (paths, parser), nothing else. */
export interface Classifier {
  session(): ClassifierSession;
  /** A command classified in a fresh session (no state from or for other commands). */
  classify(command: string): Verdict;
  classifyArgv(argv: readonly string[]): Verdict;
}

/**
 * The analyzer's configuration for `opts`, built on first use: the parser (the expensive part) is
 * created only by callers that actually classify. Shared by every front end of the analyzer.
 */
export function lazyAnalyzerConfig(opts: ClassifierOptions = {}): { kb: PathKb; getCfg: () => AnalyzerConfig } {
  const home = opts.home ?? opts.env?.['HOME'] ?? DEFAULT_HOME;
  const workspace = opts.workspace ?? home;
  const kb = new PathKb({ home, workspace });
  let cfg: AnalyzerConfig | null = null;
  const getCfg = (): AnalyzerConfig => {
    cfg ??= {
      kb,
      parser: createShellParser(),
      allowedHosts: opts.allowedHosts ?? [],
      env: { HOME: kb.home, ...(opts.env ?? {}) },
      protectedBranches: opts.protectedBranches ?? PROTECTED_BRANCHES_DEFAULT,
      binPaths: systemBinaryPaths(),
    };
    return cfg;
  };
  return { kb, getCfg };
}

/**
 * Runs the analyzer over shell text with bounded work: a command longer than MAX_COMMAND_CHARS
 * gets its leading statements (cut at a separator) analysed in full and the rest a token scan, so a
 * 1 MB line costs bounded time and still cannot hide a payload behind padding.
 */
export function analyseBounded(a: Analyzer, text: string, ctx: Ctx): void {
  if (text.length > MAX_COMMAND_CHARS) {
    const head = text.slice(0, 64 * 1024);
    const cut = Math.max(head.lastIndexOf('\n'), head.lastIndexOf(';'));
    if (cut > 0) a.runSnippet(head.slice(0, cut), ctx);
    a.fallbackScan(text.slice(cut > 0 ? cut : 0, (cut > 0 ? cut : 0) + 16 * 1024), ctx);
    return;
  }
  if (text.trim() === '') return;
  a.runSource(text, ctx);
}

export function createClassifier(opts: ClassifierOptions = {}): Classifier {
  const { kb, getCfg } = lazyAnalyzerConfig(opts);
  const session = (): ClassifierSession => newSession(kb, getCfg);
  return {
    session,
    classify: (command) => session().classify(command),
    classifyArgv: (argv) => session().classifyArgv(argv),
  };
}

export function createClassifierSession(opts: ClassifierOptions = {}): ClassifierSession {
  return createClassifier(opts).session();
}

/**
 * A session over an existing configuration (from `lazyAnalyzerConfig`), so another front end of the
 * analyser for the same options (the command-rule extractor) shares its path knowledge and parser
 * instead of building its own. The configuration is immutable apart from the parser's internal
 * object, which is only ever used by one call at a time.
 */
export function classifierSessionOver(config: { kb: PathKb; getCfg: () => AnalyzerConfig }): ClassifierSession {
  return newSession(config.kb, config.getCfg);
}

function newSession(kb: PathKb, getCfg: () => AnalyzerConfig): ClassifierSession {
  const env = new Env(kb.workspace);
  const facts: SessionFacts = { recon: [], secretReads: [], step: 0 };

  const run = (src: string, body: (a: Analyzer, ctx: Ctx) => void): Verdict => {
    facts.step++;
    let a: Analyzer;
    try {
      a = new Analyzer(getCfg(), facts);
    } catch (e) {
      return failure(`the shell parser could not be loaded (${String(e).slice(0, 120)})`);
    }
    const ctx: Ctx = { env, depth: 0, priv: false, via: '', positional: [], argv0: 'bash', stmtSrc: src.length > 400 ? src.slice(0, 400) : src, background: false };
    try {
      body(a, ctx);
    } catch (e) {
      a.add('unparseable', 'medium', `the command could not be analysed completely (${String(e instanceof Error ? e.message : e).slice(0, 120)})`);
    }
    // Keep the session's memory bounded.
    if (facts.recon.length > 32) facts.recon.splice(0, facts.recon.length - 32);
    if (facts.secretReads.length > 32) facts.secretReads.splice(0, facts.secretReads.length - 32);
    if (env.files.size > 512) for (const k of [...env.files.keys()].slice(0, env.files.size - 512)) env.files.delete(k);
    return compose(a.effects, facts.step);
  };

  return {
    classify(command: string): Verdict {
      const cmd = typeof command === 'string' ? command : String(command);
      const { text, notes } = cleanInput(cmd);
      const v = run(text, (a, ctx) => {
        for (const n of notes) a.add(n.kind, n.risk, n.reason);
        if (text.length > MAX_COMMAND_CHARS) {
          a.add('unparseable', 'medium', `the command is ${text.length} characters long; only its beginning was analysed (limit ${MAX_COMMAND_CHARS})`);
        }
        analyseBounded(a, text, ctx);
      });
      return v;
    },
    classifyArgv(argv: readonly string[]): Verdict {
      const list = [...argv].map((s) => (typeof s === 'string' ? s : String(s)));
      const src = list.map(shellQuote).join(' ');
      return run(src, (a, ctx) => {
        if (list.length === 0) return;
        const fields = list.map((s) => {
          const { text } = cleanInput(s);
          return lit(text);
        });
        a.runArgv(fields, ctx, { text: null, taint: null, src: 'none' }, new Map());
      });
    },
  };
}

/** One command, no session state. */
export function classifyCommand(command: string, opts?: ClassifierOptions): Verdict {
  return createClassifierSession(opts).classify(command);
}

/** One exec as argv, no session state. */
export function classifyArgv(argv: readonly string[], opts?: ClassifierOptions): Verdict {
  return createClassifierSession(opts).classifyArgv(argv);
}
