/**
 * Package managers and task runners: system-wide installs (root maintainer scripts), installs from
 * URLs or unvetted indexes, publishing, running manifest scripts this session wrote, `npx`-style
 * fetch-and-run, `run`/`exec` wrappers (uv run, poetry run, bundle exec, nix-shell --run).
 */
import { resolveField } from '../files.js';
import { display, type Field, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { optValue, parseArgs } from './args.js';
import { isShellName, judgeArgs, nested, readFiles, runNestedArgv, runShellCode } from './common.js';




function installSource(f: Field): string | null {
  const s = f.s;
  if (/^(?:git\+|https?:\/\/|git:\/\/|ssh:\/\/|file:)/.test(s)) return s;
  if (/^[\w.-]+\/[\w.-]+(?:#.*)?$/.test(s) && !s.startsWith('@') && !s.includes('..')) return null;
  if (/\.(?:tgz|tar\.gz|whl|gem|zip)$/.test(s) && s.includes('://')) return s;
  return null;
}

/**
 * Scripts a package manager runs from a manifest the session wrote (package.json, composer.json):
 * a manifest from this session is code, not configuration.
 */
function manifestScripts(inv: Invocation, manifest: string, names: string[], dir?: Field): void {
  const { a, ctx } = inv;
  const base = dir ? resolveField(a, dir, ctx)?.abs : ctx.env.cwd;
  if (!base) return;
  const fi = ctx.env.files.get(`${base}/${manifest}`);
  if (!fi?.text) return;
  let scripts: Record<string, unknown> = {};
  try {
    const j = JSON.parse(fi.text) as { scripts?: Record<string, unknown> };
    scripts = j.scripts ?? {};
  } catch {
    return;
  }
  for (const n of names) {
    const v = scripts[n];
    for (const c of Array.isArray(v) ? v : [v]) if (typeof c === 'string' && c.trim()) runShellCode(inv, lit(c.replace(/^@\w+\s+/, '')), `${manifest} script ${n}`);
  }
}

/** npm / yarn / pnpm. */
export function jspkg(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const [sub, ...rest] = p.pos;
  const s = sub?.s ?? '';
  const shellOpt = optValue(p, '--script-shell');
  if (shellOpt) runShellCode(inv, shellOpt, `${name} --script-shell`);
  const dir = optValue(p, '--cwd', '-C', '--dir', '--prefix');
  if (s === '' || /^(?:install|i|add|ci)$/.test(s)) manifestScripts(inv, 'package.json', ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'], dir ?? undefined);
  else if (s === 'run' || s === 'run-script') manifestScripts(inv, 'package.json', rest[0] ? [`pre${rest[0].s}`, rest[0].s, `post${rest[0].s}`] : [], dir ?? undefined);
  else if (/^(?:test|start|stop|restart|t)$/.test(s)) manifestScripts(inv, 'package.json', [s === 't' ? 'test' : s], dir ?? undefined);
  else if (name !== 'npm' && !/^(?:exec|x|dlx|publish|config|token|remove|rm|why|list|ls|info|outdated|upgrade|up|update|link|unlink|init|create|global|cache|audit|pack|version)$/.test(s)) manifestScripts(inv, 'package.json', [s], dir ?? undefined);
  if (/^(?:install|i|add|ci|update|upgrade|up)$/.test(s)) {
    const global = p.opts.some((o) => o.name === '-g' || o.name === '--global' || o.name === '--location') || s === 'add' && rest.some((f) => f.s === 'global');
    const src = rest.map(installSource).find((x) => x);
    const reg = optValue(p, '--registry');
    if (src) a.add('download', 'low', `${name} installs a package straight from ${display(src)} (its install scripts run)`, undefined, ctx);
    if (reg && !/registry\.(?:npmjs\.org|yarnpkg\.com)/.test(reg.s)) a.add('download', /^http:|\/\/\d+\.\d+\.\d+\.\d+/.test(reg.s) ? 'medium' : 'low', `${name} installs from a non-default registry ${display(reg.s)}`, undefined, ctx);
    if (global) a.add('system-modify', 'low', `${name} installs packages globally`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (s === 'exec' || s === 'x' || s === 'dlx') return npx({ ...inv, args: inv.args.slice(inv.args.indexOf(sub!) + 1) });
  if (s === 'publish') a.add('network-upload', 'medium', `${name} publish releases the package publicly (irreversible)`, undefined, ctx);
  if (s === 'token' || s === 'config' && rest[0]?.s === 'get' && /auth|token|password/i.test(rest[1]?.s ?? '')) {
    a.add('read-secret', 'high', `${name} ${s} reads registry credentials`, undefined, ctx);
  }
  if (s === 'config' && rest[0]?.s === 'set' && /^(?:script-shell|registry|ignore-scripts|node-options|git|shell)$/.test(rest[1]?.s?.replace(/=.*$/, '') ?? '')) {
    a.add('write-persistence', 'medium', `${name} config set ${rest[1]!.s}: changes what ${name} runs or installs later`, undefined, ctx);
  }
  return UNKNOWN_STREAM;
}

/** npx / pnpx / bunx / npm exec: a package binary, fetched if missing. */
export function npx(inv: Invocation): Stream {
  const p = parseArgs(inv.args, ['-p', '--package', '-c', '--call'], { stopAtPositional: true });
  const call = optValue(p, '-c', '--call');
  if (call) return runShellCode(inv, call, 'npx -c');
  const pkgs = [...p.opts.filter((o) => (o.name === '-p' || o.name === '--package') && o.value).map((o) => o.value!), ...p.rest.slice(0, 1)];
  const src = pkgs.map(installSource).find((x) => x);
  if (src) inv.a.add('download-exec', 'high', `${inv.name} downloads and runs ${display(src)}`, undefined, inv.ctx);
  const first = p.rest[0];
  if (first && !src && (first.s.includes('/') && !first.s.startsWith('@') || isShellName(first.s))) return runNestedArgv(inv, p.rest, inv.name);
  for (const f of p.rest.slice(1)) judgeArgs(inv, [f]);
  return UNKNOWN_STREAM;
}

/** pip/gem/cargo/go/composer/...: installs, `go run` of session-written code, index overrides. */
export function langpkg(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const [sub, ...rest] = p.pos;
  const s = sub?.s ?? '';
  judgeArgs(inv, inv.args, { positionals: 'skip', val: inv.spec?.val ?? [] });
  if (name === 'composer') {
    if (s === 'run-script' || s === 'run') manifestScripts(inv, 'composer.json', rest[0] ? [rest[0].s] : []);
    else if (/^(?:install|update|i|u|require)$/.test(s)) manifestScripts(inv, 'composer.json', ['pre-install-cmd', 'post-install-cmd', 'pre-update-cmd', 'post-update-cmd', 'post-autoload-dump']);
    else if (s && !/^(?:show|info|validate|outdated|licenses|diagnose|about|list|help|config|depends|why|why-not|search|status|check-platform-reqs|archive|dump-autoload|dumpautoload)$/.test(s)) manifestScripts(inv, 'composer.json', [s]);
  }
  if (name === 'cpan' && inv.stdin.text) {
    const perl = inv.stdin.text.split('\n').filter((l) => /^\s*!/.test(l)).map((l) => l.replace(/^\s*!/, '')).join('\n');
    if (perl) a.scanCode(perl, 'perl', nested(inv, 'cpan shell'));
  }
  if (/^(?:install|add|get|require|i)$/.test(s)) {
    const src = rest.map(installSource).find((x) => x);
    const idx = optValue(p, '-i', '--index-url', '--extra-index-url');
    if (src) a.add('download', 'low', `${name} installs straight from ${display(src)} (its build scripts run)`, undefined, ctx);
    if (idx && !/pypi\.org|pythonhosted\.org/.test(idx.s)) a.add('download', /^http:|\/\/\d+\.\d+\.\d+\.\d+/.test(idx.s) ? 'medium' : 'low', `${name} installs from a non-default index ${display(idx.s)}`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (name === 'go' && s === 'run' || name === 'cargo' && s === 'script' || name === 'dotnet' && s === 'run') {
    for (const f of rest) {
      if (!/\.(?:go|rs|cs)$/.test(f.s)) continue;
      const st = readFiles(inv, [f], `${name} run`);
      if (st.text) a.scanCode(st.text, 'any', nested(inv, `${name} run ${f.s}`));
    }
    return UNKNOWN_STREAM;
  }
  if (s === 'config' && /set|--global/.test(rest.map((f) => f.s).join(' '))) a.add('write-persistence', 'low', `${name} config changes where packages come from`, undefined, ctx);
  if (/^(?:publish|push|upload)$/.test(s)) a.add('network-upload', 'medium', `${name} ${s} releases a package publicly (irreversible)`, undefined, ctx);
  return UNKNOWN_STREAM;
}

/** System package managers: installs and removals run maintainer scripts as root. */
export function syspkg(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) {
    if (!o.value) continue;
    // apt-get -o APT::Update::Pre-Invoke::=CMD, -o DPkg::Pre-Invoke::=CMD
    const m = /(?:Pre|Post)-Invoke[^=]*=(.*)$|::(?:Pre-Install-Pkgs|Post-Invoke-Success)[^=]*=(.*)$/is.exec(o.value.s);
    if (m) runShellCode(inv, { ...o.value, s: m[1] ?? m[2]! }, `${name} -o hook`);
    if ((o.name === '--eval' || o.name === '-E') && /%\{lua:/.test(o.value.s)) a.scanCode(o.value.s.replace(/^.*%\{lua:/, ''), 'lua', nested(inv, `${name} --eval`));
    if (o.name === '--eval' || o.name === '-E' || o.name === '--define' || o.name === '-D') for (const mm of o.value.s.matchAll(/%\(([^)]*)\)/g)) runShellCode(inv, { ...o.value, s: mm[1]! }, `${name} macro %( )`);
    if (o.name === '--pipe') runShellCode(inv, o.value, `${name} --pipe`);
  }
  const words = inv.args.map((f) => f.s);
  const sub = p.pos[0]?.s ?? '';
  const installs = /^(?:install|reinstall|add|localinstall|groupinstall|in|-S|-U|build-dep|upgrade|dist-upgrade|full-upgrade|update|up|refresh|sync)$/.test(sub) || words.some((w) => /^-[a-zA-Z]*[iU][a-zA-Z]*$/.test(w) && /^(?:rpm|dpkg)$/.test(name) || /^-S[yu]*$/.test(w) || w === '--install');
  const removes = /^(?:remove|purge|autoremove|erase|del|uninstall|rm|-R)$/.test(sub) || words.some((w) => /^-(?:r|P|e|R[nsc]*)$/.test(w) || w === '--remove' || w === '--purge');
  const user = name === 'brew' || name === 'flatpak' && words.includes('--user');
  if (removes) {
    a.add('destroy', user ? 'low' : 'medium', `${name} removes system packages`, undefined, ctx);
  } else if (installs) {
    const local = p.pos.slice(1).find((f) => /\.(?:deb|rpm|apk|pkg\.tar\.\w+|snap)$/.test(f.s) || /^https?:/.test(f.s));
    if (local && /^https?:/.test(local.s)) a.add('download-exec', 'high', `${name} installs a package straight from ${display(local.s)} (its scripts run as root)`, undefined, ctx);
    else if (local) {
      const r = resolveField(a, local, ctx);
      const fi = r ? ctx.env.files.get(r.abs) : undefined;
      if (fi?.downloaded) a.add('download-exec', 'high', `${name} installs ${r!.abs}, downloaded earlier in this session (its scripts run as root)`, { chain: [fi.downloaded] }, ctx);
      else a.add('system-modify', 'medium', `${name} installs a local package file (its scripts run as root)`, undefined, ctx);
    } else a.add('system-modify', user ? 'low' : 'medium', `${name} ${sub || 'installs'}: changes system packages (maintainer scripts run as root)`, undefined, ctx);
  }
  return UNKNOWN_STREAM;
}

/** uv/poetry/pipenv/conda/bundle/nix-shell: `run CMD`, `exec CMD`, `--run 'CMD'`. */
export function runner(inv: Invocation): Stream {
  const { name } = inv;
  const args = inv.args;
  for (let i = 0; i < args.length; i++) {
    const s = args[i]!.s;
    if ((s === '--run' || s === '--command') && args[i + 1]) return runShellCode(inv, args[i + 1]!, `${name} ${s}`);
    if (s === 'run' || s === 'exec' || (s === 'x' && name === 'uv')) {
      const p = parseArgs(args.slice(i + 1), ['--with', '-w', '--python', '-p', '--env-file', '-n', '--name', '--prefix', '--from'], { stopAtPositional: true });
      return runNestedArgv(inv, p.rest, `${name} ${s}`);
    }
    if (s === 'tool' && args[i + 1]?.s === 'run') return runNestedArgv(inv, args.slice(i + 2).filter((f) => !f.s.startsWith('-')), `${name} tool run`);
    if (!s.startsWith('-')) break;
  }
  return UNKNOWN_STREAM;
}

export function vscode(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const w = inv.args.map((f) => f.s);
  if (w[0] === 'tunnel' && !/^(?:--help|-h|status|kill|prune|unregister|user)$/.test(w[1] ?? '')) {
    a.add('tunnel', 'high', 'code tunnel exposes this machine for remote access through a relay', undefined, ctx);
    return NO_STREAM;
  }
  const ext = inv.args.findIndex((f) => f.s === '--install-extension');
  if (ext >= 0) a.add('download', 'low', `installs the editor extension ${display(w[ext + 1] ?? '?')}`, undefined, ctx);
  for (const f of inv.args.filter((x) => !x.s.startsWith('-'))) {
    const r = resolveField(a, f, ctx);
    if (r?.info.classes.has('secret')) readFiles(inv, [f], 'code');
  }
  return NO_STREAM;
}
