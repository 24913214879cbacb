/**
 * System administration: scheduled jobs and services (persistence), kernel parameters and modules,
 * logging and audit controls, firewalls, process signals, power state, accounts.
 *
 * Threats: persistence outside the session (cron, enabled units, accounts), switching off the
 * machinery that records or restricts what happens (auditd, journald, firewall, security agents),
 * and availability (shutdown, killing everything).
 */
import { display, type Invocation, lit, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { hasOpt, optValue, parseArgs } from './args.js';
import { readFiles, writeFile } from './common.js';

const SECURITY_SERVICES = /^(?:auditd?|apparmor|selinux|firewalld|ufw|iptables|nftables|fail2ban|rsyslog|syslog(?:-ng)?|systemd-journald|journald|falco|osqueryd?|wazuh(?:-agent)?|ossec|clamav|clamd|crowdstrike|falcon-sensor|sysmon|sysdig|auditbeat|filebeat|elastic-agent|sentinelone|cbagentd|aide|tripwire|warden[\w-]*)(?:\.service)?$/;

export function crontab(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  if (hasOpt(p, '-l')) {
    a.facts.recon.push(a.link(ctx, 'cron listing'));
    return UNKNOWN_STREAM;
  }
  if (hasOpt(p, '-r')) {
    a.add('destroy', 'medium', 'crontab -r deletes all scheduled jobs of the user', undefined, ctx);
    return NO_STREAM;
  }
  const file = p.pos[0];
  const content = !file || file.s === '-' ? inv.stdin : readFiles(inv, [file], 'crontab');
  a.add('write-persistence', 'high', 'installs a crontab: commands that run on a schedule, outside this session', { chain: a.facts.recon.length ? a.facts.recon.slice(-4) : undefined }, ctx);
  if (hasOpt(p, '-e')) return NO_STREAM;
  writeFile(inv, lit('/var/spool/cron/crontabs/' + (optValue(p, '-u')?.s ?? 'user')), content, false, 'crontab');
  return NO_STREAM;
}

export function systemctl(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s).filter((x) => !x.startsWith('-'));
  let verb: string;
  let units: string[];
  if (name === 'service') {
    units = w.slice(0, 1);
    verb = w[1] ?? 'status';
  } else {
    verb = w[0] ?? 'list-units';
    units = w.slice(1);
  }
  const user = inv.args.some((f) => f.s === '--user');
  const sec = units.find((u) => SECURITY_SERVICES.test(u));
  const tor = units.find((u) => /^tor(?:\.service|@.*)?$/.test(u));
  if (/^(?:stop|disable|mask|kill|freeze)$/.test(verb)) {
    if (sec) a.add('security-tampering', 'high', `${name} ${verb} ${sec}: switches off a logging/security service`, undefined, ctx);
    else a.add('system-modify', user ? 'low' : 'medium', `${name} ${verb} ${units.join(' ')}`, undefined, ctx);
  } else if (/^(?:enable|link|edit|set-property|add-wants|add-requires|preset|revert|daemon-reload|reenable)$/.test(verb)) {
    a.add('write-persistence', 'high', `${name} ${verb} ${units.join(' ')}: makes a service start automatically`, { chain: a.facts.recon.length ? a.facts.recon.slice(-4) : undefined }, ctx);
  } else if (/^(?:start|restart|reload|try-restart|reload-or-restart)$/.test(verb)) {
    if (tor) a.add('tunnel', 'high', `${name} ${verb} ${tor}: starts the Tor anonymising proxy`, undefined, ctx);
    else if (sec && verb !== 'start') a.add('security-tampering', 'medium', `${name} ${verb} ${sec}`, undefined, ctx);
    else a.add('system-modify', user ? 'low' : 'medium', `${name} ${verb} ${units.join(' ')}`, undefined, ctx);
  } else if (/^(?:poweroff|reboot|halt|kexec|suspend|hibernate|rescue|emergency|isolate|default)$/.test(verb)) {
    a.add('destroy', 'high', `${name} ${verb}: takes the machine down`, undefined, ctx);
  }
  return UNKNOWN_STREAM;
}

const SYSCTL_SECURITY = /^(?:kernel\.(?:randomize_va_space|yama\.ptrace_scope|kptr_restrict|dmesg_restrict|modules_disabled|unprivileged_bpf_disabled|perf_event_paranoid|sysrq|core_pattern)|fs\.(?:protected_\w+|suid_dumpable)|net\.ipv4\.ip_forward|vm\.mmap_min_addr|user\.max_user_namespaces)$/;

export function sysctl(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const sets = p.pos.filter((f) => f.s.includes('='));
  for (const f of sets) {
    const [k] = f.s.split('=');
    if (k && SYSCTL_SECURITY.test(k)) a.add('security-tampering', 'high', `sysctl ${display(f.s)}: weakens a kernel protection`, undefined, ctx);
    else a.add('system-modify', 'high', `sysctl ${display(f.s)}: changes a kernel parameter`, undefined, ctx);
  }
  if (hasOpt(p, '-p', '--load', '--system')) a.add('system-modify', 'medium', 'sysctl loads kernel parameters from a file', undefined, ctx);
  // Keys are paths under /proc/sys: `sysctl -n ../../etc/shadow` reads whatever it names.
  for (const f of p.pos.filter((x) => !x.s.includes('=') && x.s.includes('/'))) readFiles(inv, [{ ...f, s: '/proc/sys/' + f.s.replace(/^\/+/, '') }], 'sysctl');
  return UNKNOWN_STREAM;
}

export function journalctl(inv: Invocation): Stream {
  const { a, ctx } = inv;
  if (inv.args.some((f) => /^--(?:vacuum-(?:time|size|files)|rotate|flush|relinquish-var)/.test(f.s))) {
    a.add('security-tampering', 'high', 'journalctl deletes or rotates away system logs', undefined, ctx);
  }
  return UNKNOWN_STREAM;
}

export function auditctl(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const w = inv.args.map((f) => f.s);
  if (w.includes('-D') || w.some((x, i) => x === '-e' && /^0$/.test(w[i + 1] ?? ''))) a.add('security-tampering', 'high', 'auditctl deletes audit rules or disables auditing', undefined, ctx);
  else if (w.some((x) => x === '-a' || x === '-A' || x === '-w' || x === '-d' || x === '-W')) a.add('security-tampering', 'medium', 'auditctl changes which actions are audited', undefined, ctx);
  else if (w.includes('-l') || w.includes('-s')) a.facts.recon.push(a.link(ctx, 'audit rule listing'));
  return UNKNOWN_STREAM;
}

export function firewall(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  const all = w.join(' ');
  if (/^(?:-L|-S|--list|list|status|show|-nL|-nvL|-vnL)/.test(w[0] ?? '') || /(?:^|\s)(?:-L|--list(?:-\w+)?|-S|status|show)(?:\s|$)/.test(all) && !/-[ADIF]\b|--(?:append|delete|insert|flush)/.test(all)) return UNKNOWN_STREAM;
  if (/(?:^|\s)(?:-F|--flush|-X|--delete-chain)(?:\s|$)|\bdisable\b|\bflush\s+ruleset\b|\breset\b|-P\s+\w+\s+ACCEPT|--panic-off|--set-default-zone[= ]trusted|\bstop\b/.test(all)) {
    a.add('security-tampering', 'high', `${name} ${display(all)}: removes firewall protection`, undefined, ctx);
  } else {
    a.add('system-modify', 'medium', `${name} changes firewall rules`, undefined, ctx);
  }
  return UNKNOWN_STREAM;
}

export function kill(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const targets = p.pos.map((f) => f.s);
  if (name === 'kill' && targets.some((t) => t === '-1' || t === '1')) a.add('destroy', 'high', `${name} ${targets.join(' ')}: signals init or every process`, undefined, ctx);
  if (inv.args.some((f) => f.s === '-1') && name === 'kill') a.add('destroy', 'high', 'kill -1 signals every process of the user', undefined, ctx);
  const sec = targets.find((t) => SECURITY_SERVICES.test(t.replace(/^.*\//, '')) || /^(?:auditd|rsyslogd|syslogd|systemd-journald|falcon-sensor|osqueryd|sysmon|wazuh|ossec|sshd|warden)$/.test(t));
  if (sec && name !== 'kill') a.add('security-tampering', 'high', `${name} ${sec}: stops a logging/security process`, undefined, ctx);
  return NO_STREAM;
}

export function kmod(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  if (name === 'rmmod' || w.includes('-r') || w.includes('--remove')) a.add('system-modify', 'medium', `${name} unloads a kernel module`, undefined, ctx);
  else if (name === 'depmod') a.add('system-modify', 'low', 'depmod rebuilds module dependencies', undefined, ctx);
  else if (w.some((x) => !x.startsWith('-'))) a.add('code-injection', 'high', `${name} loads a kernel module (code running in the kernel; rootkit vector)`, undefined, ctx);
  return NO_STREAM;
}

export function power(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  if (name === 'shutdown' && w.includes('-c')) return NO_STREAM;
  if ((name === 'init' || name === 'telinit') && !w.some((x) => /^[06sS1]$/.test(x))) return NO_STREAM;
  a.add('destroy', 'high', `${name} ${w.join(' ')}`.trim() + ': shuts down or reboots the machine', undefined, ctx);
  return NO_STREAM;
}

export function usermod(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  const all = w.join(' ');
  if (/(?:^|\s)-u\s+0\b|-o\b.*-u\s+0|\buid=0/.test(all)) a.add('privilege-escalation', 'critical', `${name} gives an account uid 0 (a second root)`, undefined, ctx);
  else if (/(?:-a?G|--groups|--append\s+--groups|-a)\s*\S*\b(?:sudo|wheel|root|admin|adm|docker|lxd|disk|shadow|libvirt|kvm)\b/.test(all) || name === 'gpasswd' && /-a\s+\S+\s+(?:sudo|wheel|root|admin|docker|lxd|disk)\b/.test(all)) {
    a.add('privilege-escalation', 'high', `${name} adds an account to a privileged group`, undefined, ctx);
  } else if (/(?:^|\s)(?:-p|--password)\s/.test(all)) a.add('privilege-escalation', 'high', `${name} sets an account password`, undefined, ctx);
  else if (/(?:^|\s)(?:-s|--shell)\s/.test(all)) a.add('write-persistence', 'medium', `${name} changes an account's login shell`, undefined, ctx);
  else a.add('system-modify', 'medium', `${name} changes a user account`, undefined, ctx);
  return NO_STREAM;
}

export function getent(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const db = inv.args.find((f) => !f.s.startsWith('-'))?.s ?? '';
  if (db === 'shadow' || db === 'gshadow') {
    a.facts.secretReads.push(a.link(ctx, 'secret read'));
    a.add('read-secret', 'high', `getent ${db} prints password hashes`, undefined, ctx);
    return { text: null, taint: { secret: `${db} password hashes`, links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
  }
  if (db === 'passwd' || db === 'group') a.facts.recon.push(a.link(ctx, 'account enumeration'));
  return UNKNOWN_STREAM;
}
