import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helperPath } from '../sandbox/helper-path.js';
import { probeReport, probeSandbox, type HelperProbe, type ProbeReport } from '../sandbox/probe.js';

/**
 * The kernel probe (`warden-helper --probe`, a process spawn) is cached per boot, per user, per
 * helper binary, per Landlock cap and per cgroup membership (/proc/self/cgroup: the probe reports
 * this process's own cgroup directories, and a new terminal or service is often in another one):
 * none of what it reports changes while those stay the same.
 * A stale entry cannot weaken anything — the helper itself refuses any layer it cannot install
 * (fail closed) — it could only make Warden plan for a layer that then refuses. The cache lives in
 * Warden's state, out of the sandbox's reach.
 */
function cacheKey(env: NodeJS.ProcessEnv, helper: string): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const st = statSync(helper);
    const cgroups = readFileSync('/proc/self/cgroup', 'utf8');
    return createHash('sha256')
      .update([boot, process.getuid?.() ?? -1, helper, st.size, st.mtimeMs, st.ino, env['WARDEN_LANDLOCK_ABI_MAX'] ?? '', cgroups].join('\0'))
      .digest('hex')
      .slice(0, 32);
  } catch {
    return undefined;
  }
}

export async function cachedProbe(env: NodeJS.ProcessEnv, stateDir: string): Promise<ProbeReport> {
  const helper = helperPath();
  const key = cacheKey(env, helper);
  const file = key ? join(stateDir, 'cache', `probe-${key}.json`) : undefined;
  if (file) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as HelperProbe;
      if (raw.helper === 1) return probeReport(raw, { helperPath: helper, env, supervisorPid: process.pid });
    } catch {
      /* miss */
    }
  }
  const report = await probeSandbox(env, { helperPath: helper });
  if (file) {
    try {
      mkdirSync(join(stateDir, 'cache'), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(report.raw), { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      /* a cache that cannot be written only costs time */
    }
  }
  return report;
}
