/**
 * git: rewriting shared history (force-push to a protected branch, --mirror, deleting protected
 * branches), config that makes git run code later (hooksPath, pager, aliases, credential helpers),
 * remotes added in the session, destructive resets/cleans, secret files staged or diffed.
 * Everyday git (status, log, commit, feature-branch pushes, --force-with-lease) stays quiet.
 */
import { resolveField } from '../files.js';
import { compileGlob } from '../glob.js';
import { display, type Field, type Invocation, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { parseUrl } from '../net.js';
import { readFiles, runNestedArgv, runShellCode, writeFile } from './common.js';
import { remoteStream, uploadEffects } from './egress.js';

const GIT_GLOBAL_VAL = ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path', '--config-env', '--super-prefix'];
const GIT_EXEC_KEYS = /^(?:core\.(?:pager|editor|sshcommand|fsmonitor|hookspath|askpass|gitproxy)|sequence\.editor|diff\.\w+\.(?:textconv|command)|filter\.\w+\.(?:clean|smudge|process)|merge\.\w+\.driver|credential(?:\.[^.]+)?\.helper|pager\.\w+|alias\.\w+|gpg\.program|gpg\.\w+\.program|uploadpack\.packobjectshook|receive\.procreceive|sendemail\.\w+cmd|protocol\.ext\.allow|ssh\.variant)$/i;

function isProtected(branch: string, protectedBranches: readonly string[]): boolean {
  const b = branch.replace(/^refs\/heads\//, '');
  return protectedBranches.some((p) => (p.includes('*') ? compileGlob(p, true)?.test(b) : p === b));
}

function gitConfigValue(inv: Invocation, key: string, value: Field, scope: 'command' | 'global' | 'local'): void {
  const { a, ctx } = inv;
  if (!GIT_EXEC_KEYS.test(key)) return;
  const v = value.s;
  const isAlias = /^alias\./i.test(key);
  if (isAlias && !v.startsWith('!')) return;
  const code = isAlias ? v.slice(1) : /^credential/i.test(key) && v.startsWith('!') ? v.slice(1) : v;
  if (/^core\.hookspath$/i.test(key)) {
    a.add('write-persistence', 'high', `points git hooks at ${display(v)}: code that runs on every commit/checkout`, undefined, ctx);
    return;
  }
  if (/^protocol\.ext\.allow$/i.test(key) && /always/i.test(v)) {
    a.add('code-injection', 'high', 'enables git ext:: remotes (arbitrary command execution)', undefined, ctx);
    return;
  }
  if (scope !== 'command') a.add('write-persistence', 'medium', `sets git ${key} (${scope}), a command git will run later: ${display(v)}`, undefined, ctx);
  if (code && !/^(?:less|more|cat|vim?|nano|code --wait|cache|store|manager|osxkeychain|libsecret)$/.test(code.trim())) runShellCode(inv, { ...value, s: code }, `git ${key}`);
}

/** git: protected-branch history rewrites, config that runs code, hooks, destructive resets. */
export function git(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const args = inv.args;
  let i = 0;
  let gctx = ctx;
  for (; i < args.length; i++) {
    const s = args[i]!.s;
    if (!s.startsWith('-')) break;
    if (s === '-c' && args[i + 1]) {
      const m = /^([^=]+)=(.*)$/s.exec(args[i + 1]!.s);
      if (m) gitConfigValue(inv, m[1]!, { ...args[i + 1]!, s: m[2]! }, 'command');
      i++;
    } else if (s === '-C' && args[i + 1]) {
      const r = resolveField(a, args[i + 1]!, ctx);
      gctx = { ...ctx, env: ctx.env.clone() };
      gctx.env.cwd = r && !r.pattern ? r.abs : null;
      i++;
    } else if (GIT_GLOBAL_VAL.includes(s)) i++;
  }
  const sub = args[i]?.s ?? '';
  const rest = args.slice(i + 1);
  const w = rest.map((f) => f.s);
  const g: Invocation = { ...inv, ctx: gctx };
  // Any path a git subcommand is given that is a secret gets read (diff --no-index) or committed (add).
  for (const f of rest.slice(0, 32)) {
    if (f.s.startsWith('-') || !/[/.]/.test(f.s)) continue;
    const r = resolveField(a, f, gctx);
    if (r?.info.classes.has('secret') && !r.pattern) readFiles(g, [f], `git ${sub}`);
  }
  const execPath = args.slice(0, i).find((f) => f.s.startsWith('--exec-path='));
  if (execPath && sub && !/^(?:help|version)$/.test(sub)) {
    return runNestedArgv(g, [{ ...execPath, s: `${execPath.s.slice('--exec-path='.length).replace(/\/$/, '')}/git-${sub}` }, ...rest], `git --exec-path ${sub}`);
  }
  switch (sub) {
    case 'push': {
      const force = w.some((x) => x === '-f' || x === '--force' || /^-[a-zA-Z]*f/.test(x) && !x.startsWith('--'));
      const lease = w.some((x) => x.startsWith('--force-with-lease') || x === '--force-if-includes');
      const mirror = w.includes('--mirror');
      const del = w.includes('--delete') || w.includes('-d');
      const pos = rest.filter((f) => !f.s.startsWith('-'));
      const remote0 = pos[0]?.s;
      const added = remote0 ? ctx.env.vars.get(`__git_remote_${remote0}`)?.vals[0] : undefined;
      const remote = added ?? remote0;
      if (added) a.add('network-upload', 'medium', `git push sends the repository to ${display(added)}, a remote added in this session`, undefined, ctx);
      const refspecs = pos.slice(1).map((f) => f.s);
      const targets = refspecs.map((r) => {
        const plus = r.startsWith('+');
        const body = plus ? r.slice(1) : r;
        const dst = body.includes(':') ? body.split(':')[1]! : body;
        return { dst: dst.replace(/^refs\/heads\//, ''), plus, deleting: body.startsWith(':') };
      });
      const protectedHit = targets.find((t) => isProtected(t.dst, a.cfg.protectedBranches));
      const anyPlus = targets.some((t) => t.plus);
      if (remote) {
        const url = parseUrl(remote, a.cfg.allowedHosts);
        if (url && url.cls !== 'allowed' && !/^(?:github\.com|gitlab\.com|bitbucket\.org)$/.test(url.host)) {
          uploadEffects(g, { text: null, taint: null, src: 'file' }, url, 'git push uploads the repository');
        }
      }
      if (mirror) {
        a.add('history-rewrite', 'high', 'git push --mirror overwrites every branch and tag on the remote', undefined, ctx);
      } else if ((force || anyPlus) && !lease) {
        const sug = 'git push --force-with-lease (refuses to overwrite commits you have not seen)';
        if (protectedHit) a.add('history-rewrite', 'high', `force-pushes to protected branch ${protectedHit.dst}: rewrites shared history`, { suggestion: sug }, ctx);
        else if (targets.length === 0 || targets.some((t) => t.dst === 'HEAD' || t.dst.includes('\uE000'))) a.add('history-rewrite', 'medium', 'force-pushes the current branch (which may be protected)', { suggestion: sug }, ctx);
        else a.add('history-rewrite', 'low', `force-pushes ${targets.map((t) => t.dst).join(', ')}`, { suggestion: sug }, ctx);
      } else if (lease && protectedHit) {
        a.add('history-rewrite', 'medium', `force-pushes (with lease) to protected branch ${protectedHit.dst}`, undefined, ctx);
      }
      if ((del || targets.some((t) => t.deleting)) && (protectedHit || targets.some((t) => t.deleting && isProtected(t.dst.replace(/^:/, ''), a.cfg.protectedBranches)))) {
        a.add('destroy', 'high', 'deletes a protected branch on the remote', undefined, ctx);
      }
      return NO_STREAM;
    }
    case 'config': {
      const scope = w.includes('--global') || w.includes('--system') ? 'global' : 'local';
      const pos = rest.filter((f) => !f.s.startsWith('-'));
      if (w.some((x) => /^--(?:get|get-all|get-regexp|list|show-origin|unset|unset-all)$/.test(x) || x === '-l') || pos.length < 2) {
        if (pos[0] && /credential|token|password/i.test(pos[0].s)) a.add('read-secret', 'medium', `reads git config ${pos[0].s}`, undefined, ctx);
        return UNKNOWN_STREAM;
      }
      gitConfigValue(g, pos[0]!.s, pos[1]!, scope);
      return NO_STREAM;
    }
    case 'remote': {
      // `git remote add NAME URL` / `set-url`: remember where NAME points for later pushes.
      if ((w[0] === 'add' || w[0] === 'set-url') && rest[1] && rest[2]) ctx.env.vars.set(`__git_remote_${rest[1].s}`, { vals: [rest[2].s], exact: rest[2].exact, taint: null });
      return NO_STREAM;
    }
    case 'reset':
      if (w.includes('--hard')) a.add('destroy', 'low', 'git reset --hard discards uncommitted changes', { suggestion: 'git stash first, or git reset --keep' }, ctx);
      return NO_STREAM;
    case 'clean':
      if (w.some((x) => /^-[a-zA-Z]*f/.test(x) || x === '--force')) a.add('destroy', w.some((x) => /^-[a-zA-Z]*x/.test(x)) ? 'medium' : 'low', `git clean deletes untracked files${w.some((x) => /^-[a-zA-Z]*x/.test(x)) ? ' including ignored ones (.env, local config)' : ''}`, { suggestion: 'git clean -n first to see what would be deleted' }, ctx);
      return NO_STREAM;
    case 'filter-branch':
    case 'filter-repo':
      a.add('history-rewrite', 'medium', `git ${sub} rewrites the repository history`, undefined, ctx);
      return NO_STREAM;
    case 'credential':
      if (w[0] === 'fill' || w[0] === 'get') {
        a.facts.secretReads.push(a.link(ctx, 'secret read'));
        a.add('read-secret', 'high', 'git credential fill prints stored credentials', undefined, ctx);
        return { text: null, taint: { secret: 'git credentials', links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
      }
      return NO_STREAM;
    case 'submodule':
      if (w[0] === 'foreach') {
        const cmd = rest.slice(1).filter((f) => !f.s.startsWith('--'));
        if (cmd.length) runShellCode(g, { s: cmd.map((f) => f.s).join(' '), exact: cmd.every((f) => f.exact), glob: false, quoted: false, taint: null }, 'git submodule foreach');
      }
      return NO_STREAM;
    case 'rebase':
    case 'bisect': {
      for (let j = 0; j < rest.length; j++) {
        if ((rest[j]!.s === '--exec' || rest[j]!.s === '-x') && rest[j + 1]) runShellCode(g, rest[j + 1]!, `git ${sub} --exec`);
        if (sub === 'bisect' && rest[j]!.s === 'run' && rest[j + 1]) runNestedArgv(g, rest.slice(j + 1), 'git bisect run');
      }
      return NO_STREAM;
    }
    case 'daemon':
      a.add('listener', 'medium', 'git daemon serves repositories on the network', undefined, ctx);
      return NO_STREAM;
    case 'commit':
      if (w.includes('--no-verify') || w.includes('-n')) a.add('security-tampering', 'low', 'skips the repository commit hooks (--no-verify)', undefined, ctx);
      return NO_STREAM;
    case 'clone':
    case 'fetch':
    case 'pull': {
      const url = rest.map((f) => parseUrl(f.s, a.cfg.allowedHosts)).find((e) => e);
      for (let j = 0; j < rest.length; j++) if ((rest[j]!.s === '-u' || rest[j]!.s === '--upload-pack') && rest[j + 1]) runShellCode(g, rest[j + 1]!, `git ${sub} --upload-pack`);
      if (rest.some((f) => /^ext::/.test(f.s))) runShellCode(g, { ...rest.find((f) => /^ext::/.test(f.s))!, s: rest.find((f) => /^ext::/.test(f.s))!.s.slice(5).replace(/%S/g, 'x') }, 'git ext:: remote');
      return url ? remoteStream(g, url.host) : UNKNOWN_STREAM;
    }
    case 'archive':
    case 'bundle': {
      const o = rest.findIndex((f) => f.s === '-o' || f.s === '--output');
      if (o >= 0 && rest[o + 1]) writeFile(g, rest[o + 1]!, UNKNOWN_STREAM, false, `git ${sub}`);
      return NO_STREAM;
    }
    case 'apply':
    case 'am': {
      const dir = rest.find((f) => f.s.startsWith('--directory='))?.s.slice(12) ?? (w.includes('--directory') ? w[w.indexOf('--directory') + 1] : undefined);
      if (w.includes('--unsafe-paths')) a.add('system-modify', dir === '/' || dir && !dir.startsWith('.') ? 'high' : 'medium', `git ${sub} --unsafe-paths writes files outside the repository${dir ? ` (under ${dir})` : ''}`, undefined, ctx);
      return NO_STREAM;
    }
    case 'help':
    case '-p':
      return NO_STREAM;
    default:
      if (/^(?:log|diff|show|status|grep|blame|branch|checkout|switch|add|rm|mv|restore|tag|stash|merge|cherry-pick|revert|init|describe|rev-parse|ls-files|ls-remote|shortlog|reflog|worktree|notes|gc|fsck|format-patch|range-diff|whatchanged|cat-file|hash-object)$/.test(sub)) {
        if (sub === 'branch' && w.some((x) => x === '-D' || x === '--delete' && w.includes('--force'))) {
          const b = rest.find((f) => !f.s.startsWith('-'));
          if (b && isProtected(b.s, a.cfg.protectedBranches)) a.add('destroy', 'low', `deletes the local branch ${b.s}`, undefined, ctx);
        }
        return UNKNOWN_STREAM;
      }
      // External subcommands run `git-<sub>` from PATH.
      return UNKNOWN_STREAM;
  }
}
