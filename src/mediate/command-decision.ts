/**
 * The one decision for "may this command run?", shared by the OS layer (exec mediation: an argv the
 * kernel is about to execute) and the app layer (agent hooks: a shell command line the agent is
 * about to hand to a shell). Both call `decideCommand` with the same compiled policy and the same
 * classifier configuration, so the two layers cannot disagree about a command.
 *
 * Combining, in order:
 *   1. Every exec the command would perform is judged by the policy's command rules: for shell text
 *      that is every simple command the classifier's analyser reaches after deobfuscation — quote
 *      removal, ANSI-C escapes, variables known within the line, `sh -c`/`eval` payloads, decoded
 *      `base64 | sh` scripts, wrappers (`sudo`, `env`, `timeout`, `xargs`, `find -exec`, ...), shell
 *      functions — not a whitespace split of the raw text. For an argv it is the argv itself plus
 *      whatever it would run in turn (`sh -c '...'`, `sudo rm ...`).
 *   2. Deny overrides: an explicit `deny`, then `steer`, then `approve` on ANY of those execs decides.
 *   3. If some exec was decided by no command rule (`default.exec`), or could not be fully seen
 *      (program or arguments not statically known, unparseable input, analysis limits), the
 *      classifier's verdict for the whole command is mapped through the policy's `classify`
 *      section (rule id `classify.<verdict>`) and combined with any explicit `warn`: the stricter
 *      decision wins. An absent `classify` section means the schema's defaults: allow→allow,
 *      warn→warn, review→approve, block→deny.
 *   4. Only when every exec was decided by an explicit allow/warn rule does the policy alone decide
 *      (the author foresaw exactly this command).
 * Fail closed: any exception is a deny (`internal.error`).
 *
 * Threats: an obfuscated spelling of a denied command (`g''it push -f`, `x=git; $x push -f`,
 * `bash -c "..."`) must meet the same rule as the plain one; a command hidden behind a harmless
 * first word (`true && rm -rf ~`) must be judged by its worst part; a command whose words cannot be
 * known statically must never be allowed by a rule that matched only what could be seen.
 *
 * Session state: the classifier session carries state across calls (variables, files, risk chains);
 * the per-exec extraction (step 1) starts from a fresh shell state for each call, so a variable set
 * by an earlier command line is unknown to the command rules (the word counts as not statically
 * known, which sends the command to the classifier as well — see step 3).
 */
import { Analyzer } from '../classify/analyze.js';
import { UNKNOWN } from '../classify/glob.js';
import { MAX_COMMAND_CHARS, type ClassifierOptions, type ClassifierSession, type Verdict, type VerdictKind } from '../classify/index.js';
import { type Ctx, Env, type Field, lit, NO_STREAM, type SessionFacts, type Stream } from '../classify/model.js';
import { analyseBounded, classifierSessionOver, lazyAnalyzerConfig } from '../classify/session.js';
import { posix } from 'node:path';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide, type DecisionResult } from '../policy/evaluate.js';
import type { Decision } from '../policy/schema.js';
import { classifyMapping, kernelClassifyMapping } from './classify-map.js';

export { classifyMapping, DEFAULT_CLASSIFY, KERNEL_DEFAULT_CLASSIFY, kernelClassifyMapping } from './classify-map.js';

export type CommandInput =
  /**
   * `kernel`: the argv is an exec the kernel is performing right now (exec mediation). What it
   * would run in turn (`sh -c '...'` payloads) is then not judged by the command rules here — each
   * of those execs is trapped and judged on its own when it happens — while the classifier still
   * judges the whole argv, payload included.
   */
  | { kind: 'argv'; argv: readonly string[]; path?: string; cwd?: string; kernel?: boolean }
  | { kind: 'shell'; command: string; cwd?: string };

export interface CommandDecision extends DecisionResult {
  /** The classifier's verdict for the command (present whenever classification ran). */
  verdict?: Verdict;
}

/** One exec the command would perform, as the analyser saw it. */
export interface SeenExec {
  argv: string[];
  /** False when a word is not statically known (it then contains `UNKNOWN_WORD`). */
  exact: boolean;
  /** The shell's working directory at that point, when known. */
  cwd: string | null;
}

export interface Extraction {
  execs: SeenExec[];
  /** False when the analyser could not see everything the command would run. */
  complete: boolean;
}

export interface CommandExtractor {
  shell(command: string, cwd?: string): Extraction;
  argv(argv: readonly string[], cwd?: string): Extraction;
}

export interface CommandContext {
  policy: CompiledPolicy;
  classifier: ClassifierSession;
  /** Built from the policy's workspace and home when absent. */
  extractor?: CommandExtractor;
  /**
   * Where a bare program name would be found (`rm` -> `/usr/bin/rm`), so rules written on a full
   * path meet the same exec the kernel will see. Optional: callers that may do I/O supply a PATH
   * lookup; without it a bare name is matched by name only.
   */
  resolveProgram?: (name: string, cwd: string | undefined) => string | undefined;
}

/** Marker inside a word whose value is not statically known. */
export const UNKNOWN_WORD = UNKNOWN;

/** Hosts the policy allows, in the classifier's `allowedHosts` form (`*.example.com` for wildcards). */
export function allowedHostsOf(policy: CompiledPolicy): string[] {
  const out: string[] = [];
  for (const [host, rules] of policy.netExact) if (rules.some((r) => r.decision === 'allow')) out.push(host);
  for (const [domain, rules] of policy.netWildcard) if (rules.some((r) => r.decision === 'allow')) out.push(`*.${domain}`);
  return out;
}

/** Classifier options that describe the same world the policy describes. */
export function classifierOptionsFor(policy: CompiledPolicy, extra: ClassifierOptions = {}): ClassifierOptions {
  return { workspace: policy.workspace, home: policy.home, allowedHosts: allowedHostsOf(policy), ...extra };
}

/** A context whose classifier and extractor are configured from the policy (one session). */
export function createCommandContext(
  policy: CompiledPolicy,
  extra: ClassifierOptions = {},
  resolveProgram?: CommandContext['resolveProgram'],
): CommandContext & { extractor: CommandExtractor } {
  const opts = classifierOptionsFor(policy, extra);
  // One path knowledge base and one parser for both halves (the same options describe both).
  const config = lazyAnalyzerConfig(opts);
  return { policy, classifier: classifierSessionOver(config), extractor: createCommandExtractor(opts, config), ...(resolveProgram ? { resolveProgram } : {}) };
}

// ---- extraction --------------------------------------------------------------------------------

const MAX_EXECS = 256;
/** Effects of the analyser that mean "something runs that could not be seen exactly". */
const BLIND_EFFECTS = new Set(['unparseable', 'dynamic']);

/**
 * The classifier's own analyser, observed: every argv it would execute passes through `runArgv`
 * (top-level commands, wrapped commands, shell payloads, functions), so recording there gives the
 * policy the same deobfuscated view the classifier judged.
 */
class RecordingAnalyzer extends Analyzer {
  readonly seen: SeenExec[] = [];
  overflow = false;

  override runArgv(fields: Field[], ctx: Ctx, stdin: Stream, assigns: Map<string, Field>, netOut: string | null = null): Stream {
    if (fields.length > 0) {
      if (this.seen.length < MAX_EXECS) {
        const argv = fields.map((f) => f.s);
        this.seen.push({ argv, exact: fields.every((f) => f.exact && !f.s.includes(UNKNOWN)), cwd: ctx.env.cwd });
      } else {
        this.overflow = true;
      }
    }
    return super.runArgv(fields, ctx, stdin, assigns, netOut);
  }
}

export function createCommandExtractor(opts: ClassifierOptions = {}, config: ReturnType<typeof lazyAnalyzerConfig> = lazyAnalyzerConfig(opts)): CommandExtractor {
  const { kb, getCfg } = config;
  const run = (src: string, cwd: string | undefined, body: (a: RecordingAnalyzer, ctx: Ctx) => void): Extraction => {
    const facts: SessionFacts = { recon: [], secretReads: [], step: 1 };
    const a = new RecordingAnalyzer(getCfg(), facts);
    const ctx: Ctx = { env: new Env(cwd ?? kb.workspace), depth: 0, priv: false, via: '', positional: [], argv0: 'bash', stmtSrc: src.slice(0, 400), background: false };
    let complete = true;
    try {
      body(a, ctx);
    } catch {
      // The classifier meets the same failure and says at least `review`; the rules saw only part.
      complete = false;
    }
    if (a.overflow || a.truncated || a.effects.some((e) => BLIND_EFFECTS.has(e.kind))) complete = false;
    return { execs: a.seen, complete };
  };
  return {
    shell(command: string, cwd?: string): Extraction {
      const text = String(command).replace(/\0/g, '');
      return run(text, cwd, (a, ctx) => {
        // Same bounded treatment as the classifier: the head in full, then a token scan.
        if (text.length > MAX_COMMAND_CHARS) a.truncated = true;
        analyseBounded(a, text, ctx);
      });
    },
    argv(argv: readonly string[], cwd?: string): Extraction {
      const list = argv.map((s) => String(s).replace(/\0/g, ''));
      return run(list.join(' '), cwd, (a, ctx) => {
        if (list.length > 0) a.runArgv(list.map(lit), ctx, NO_STREAM, new Map());
      });
    },
  };
}

// ---- combining ---------------------------------------------------------------------------------

const STRICT: Record<Decision, number> = { deny: 4, steer: 3, approve: 2, warn: 1, allow: 0 };

function stricter<T extends { decision: Decision }>(a: T | undefined, b: T): T {
  return a === undefined || STRICT[b.decision] > STRICT[a.decision] ? b : a;
}

function programPath(word: string, cwd: string | undefined, lookup: CommandContext['resolveProgram']): string | undefined {
  if (word === '' || word.includes(UNKNOWN)) return undefined;
  if (!word.includes('/')) return lookup?.(word, cwd);
  if (word.startsWith('/')) return posix.normalize(word);
  if (!cwd) return undefined;
  return posix.join(cwd, word);
}

function classifierResult(policy: CompiledPolicy, v: Verdict, kernel: boolean): CommandDecision {
  const decision = (kernel ? kernelClassifyMapping(policy) : classifyMapping(policy))[v.verdict];
  const why = v.reasons.length ? `: ${v.reasons.join('; ')}` : '';
  const r: CommandDecision = { decision, rule: `classify.${v.verdict}`, reason: `classifier verdict ${v.verdict} (risk ${v.risk})${why}`.slice(0, 2000), verdict: v };
  if (v.suggestion !== undefined) r.suggestion = v.suggestion;
  return r;
}

/**
 * The decision for one command. Pure apart from the classifier session's state (which advances by
 * one command) and whatever the caller's `resolveProgram` does; never throws.
 */
export function decideCommand(ctx: CommandContext, input: CommandInput): CommandDecision {
  try {
    const { policy, classifier } = ctx;
    const extractor = ctx.extractor ?? createCommandExtractor(classifierOptionsFor(policy));
    const cwd = input.cwd;
    // The session sees every command, in order, whatever the rules say (risk chains need it).
    const verdict = input.kind === 'argv' ? classifier.classifyArgv(input.argv) : classifier.classify(input.command);
    // The extraction is a second analysis of the same text. For a kernel exec only its `complete`
    // flag can matter (the execs judged are the argv itself), and only when an explicit allow/warn
    // rule would otherwise decide alone: it runs only then. The decision is the same either way.
    let extraction: Extraction | undefined;
    const seen = (): Extraction => (extraction ??= input.kind === 'argv' ? extractor.argv(input.argv, cwd) : extractor.shell(input.command, cwd));

    const execs: Array<{ argv: string[]; path?: string; cwd?: string; exact: boolean }> = [];
    if (input.kind === 'argv') {
      // The argv itself, exactly as the kernel will see it (with its resolved path), then what it runs.
      const path = input.path ?? programPath(input.argv[0] ?? '', cwd, ctx.resolveProgram);
      execs.push({ argv: [...input.argv], ...(path !== undefined ? { path } : {}), ...(cwd !== undefined ? { cwd } : {}), exact: true });
      if (!input.kernel) execs.push(...seen().execs.slice(1).map((e) => toExec(e)));
    } else {
      execs.push(...seen().execs.map((e) => toExec(e)));
    }

    let explicit: CommandDecision | undefined;
    let undecided = execs.length === 0;
    for (const e of execs) {
      const ev = { kind: 'exec' as const, argv: e.argv, ...(e.path !== undefined ? { path: e.path } : {}), ...(e.cwd !== undefined ? { cwd: e.cwd } : {}) };
      if (ev.argv.length === 0 || (ev.argv[0] ?? '').includes(UNKNOWN)) {
        undecided = true;
        continue;
      }
      const r = decide(policy, ev);
      if (r.rule === 'default.exec') {
        undecided = true;
        continue;
      }
      // A rule that allowed only the words it could see does not vouch for the words it could not.
      if (!e.exact && (r.decision === 'allow' || r.decision === 'warn')) undecided = true;
      explicit = stricter(explicit, r);
    }

    if (explicit && (explicit.decision === 'deny' || explicit.decision === 'steer' || explicit.decision === 'approve')) {
      return { ...explicit, verdict };
    }
    if (!undecided && explicit && seen().complete) return { ...explicit, verdict };
    const fromClassifier = classifierResult(policy, verdict, input.kind === 'argv' && input.kernel === true);
    const best = stricter(explicit ? { ...explicit, verdict } : undefined, fromClassifier);
    if (best !== fromClassifier && fromClassifier.suggestion !== undefined && best.suggestion === undefined) best.suggestion = fromClassifier.suggestion;
    return best;

    function toExec(e: SeenExec): { argv: string[]; path?: string; cwd?: string; exact: boolean } {
      const where = e.cwd ?? cwd;
      const path = programPath(e.argv[0] ?? '', where, ctx.resolveProgram);
      return { argv: e.argv, ...(path !== undefined ? { path } : {}), ...(where !== undefined ? { cwd: where } : {}), exact: e.exact };
    }
  } catch (e) {
    return { decision: 'deny', rule: 'internal.error', reason: `command decision failed (${String((e as Error)?.message ?? e).slice(0, 200)}); denied` };
  }
}
