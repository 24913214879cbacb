/**
 * Assignments and the environment: variable state for later expansion, and the assignments that are
 * effects in themselves — history switched off (HISTFILE=/dev/null), prompt hooks that record or
 * ship what is typed, PATH hijacking, loader/interpreter injection (LD_PRELOAD, PYTHONPATH,
 * BASH_FUNC_*), and variables that name a program something will run (PAGER, GIT_SSH_COMMAND, ...),
 * whose value is analysed as a command.
 */
import type { Analyzer } from './analyze.js';
import type { Assign } from './ast.js';
import { arith, expandJoined, expandWord } from './expand.js';
import { UNKNOWN } from './glob.js';
import { EXEC_ENV_RE, INJECT_ENV_RE } from './kb/binaries.js';
import { type Ctx, display, type Field, lit, MAX_DEPTH, mergeTaint, type Taint } from './model.js';

/** Performs an assignment; returns the value field. */
export function assign(an: Analyzer, asg: Assign, ctx: Ctx, scope: 'shell' | 'prefix'): Field | null {
  if (!asg.name) return null;
  if (asg.array) {
    const vals: string[] = [];
    let exact = true;
    let taint: Taint | null = null;
    for (const el of asg.array) {
      for (const f of expandWord(an, el.value, ctx)) {
        vals.push(f.s);
        exact &&= f.exact;
        taint = mergeTaint(taint, f.taint);
      }
    }
    ctx.env.vars.set(asg.name, { vals, exact, taint, isArray: true });
    return { s: vals.join(' '), exact, glob: false, quoted: true, taint };
  }
  const f = asg.value ? expandJoined(an, asg.value, ctx, true) : lit('');
  const prev = ctx.env.vars.get(asg.name);
  if (asg.index) {
    const idx = arith(an, asg.index, ctx);
    const base = prev && !prev.unset ? [...prev.vals] : [];
    if (idx !== null && idx >= 0 && idx < 1024) base[idx] = f.s;
    ctx.env.vars.set(asg.name, { vals: base.map((v) => v ?? ''), exact: f.exact && (prev?.exact ?? true), taint: mergeTaint(prev?.taint ?? null, f.taint), isArray: true });
  } else if (asg.append && prev && !prev.unset) {
    const v = (prev.vals[0] ?? '') + f.s;
    ctx.env.vars.set(asg.name, { vals: [v, ...prev.vals.slice(1)], exact: prev.exact && f.exact, taint: mergeTaint(prev.taint, f.taint) });
  } else {
    ctx.env.vars.set(asg.name, { vals: [f.s], exact: f.exact, taint: f.taint });
  }
  checkAssignment(an, asg.name, f, ctx, scope);
  return f;
}

/** Assignments that change security-relevant shell state. */
export function checkAssignment(an: Analyzer, name: string, f: Field | null, ctx: Ctx, scope: 'shell' | 'prefix' | 'export'): void {
  const v = f?.s ?? '';
  if (/^HIST(FILE|SIZE|FILESIZE)$/.test(name) && f !== null) {
    if (name === 'HISTFILE' ? v === '' || v === '/dev/null' : v === '0' || v === '') {
      an.add('security-tampering', 'high', `sets ${name}=${v || '""'}: disables shell history`, undefined, ctx);
    }
  } else if (name === 'HISTCONTROL' && /ignorespace|ignoreboth/.test(v) && scope !== 'prefix') {
    an.add('security-tampering', 'low', 'hides commands starting with a space from history', undefined, ctx);
  } else if (name === 'PROMPT_COMMAND' || /^PS[0-4]$/.test(name)) {
    // Prompt hooks run at every prompt; they matter when they record or ship what is typed.
    const capture = /\b(?:history|logger|tee|curl|wget|nc|ncat|socat|scp|base64|script)\b|>>|\/dev\/(?:tcp|udp)\//.test(v);
    const code = name === 'PROMPT_COMMAND' || /[`]|\$\(/.test(v);
    if (f && code && capture) an.add('security-tampering', 'medium', `sets ${name} to run commands at every prompt that record or send what is typed`, undefined, ctx);
    if (f && name === 'PROMPT_COMMAND' && v.trim() && ctx.depth < MAX_DEPTH) an.runSnippet(v.replace(new RegExp(UNKNOWN, 'g'), 'x'), { ...ctx, depth: ctx.depth + 1, via: 'PROMPT_COMMAND' });
  } else if (name === 'PATH' && f) {
    const first = v.split(':')[0] ?? '';
    if (/^(\/tmp|\/var\/tmp|\/dev\/shm|\.)(\/|$)/.test(first)) an.add('code-injection', 'medium', `puts ${first} first in PATH (command hijacking)`, undefined, ctx);
  }
  if (scope !== 'prefix' && f && INJECT_ENV_RE.test(name)) checkPrefixEnv(an, name, f, ctx);
}

export function checkPrefixEnv(an: Analyzer, name: string, f: Field, ctx: Ctx): void {
  const v = f.s;
  if (INJECT_ENV_RE.test(name)) {
    if (/^LD_|^DYLD_|^GCONV/.test(name) && v && !/^(\/usr)?\/lib(64)?\//.test(v)) {
      an.add('code-injection', 'high', `sets ${name}=${display(v)}: loads attacker-chosen code into the program`, undefined, ctx);
    } else if (/^BASH_FUNC_/.test(name)) an.add('code-injection', 'high', `exports a shell function through ${name}`, undefined, ctx);
    return;
  }
  if (EXEC_ENV_RE.test(name) && v) {
    // The variable names a program something will run: judge that command.
    if (ctx.depth < MAX_DEPTH) an.runSource(v.replace(new RegExp(UNKNOWN, 'g'), 'x'), { ...ctx, depth: ctx.depth + 1, via: `${name} command` });
    if (/^(PERL5OPT|RUBYOPT|NODE_OPTIONS|PYTHONSTARTUP|BASH_ENV|ENV)$/.test(name) && /-d|--require|-r|\/tmp\//.test(v)) {
      an.add('code-injection', 'medium', `${name}=${display(v)} makes the interpreter load extra code`, undefined, ctx);
    }
  }
}

// -------------------------------------------------------------------------------------------
// Paths
