/**
 * Knowledge base: what a filesystem path *is*, as data. The classifier judges effects by where a
 * command reads, writes, deletes or executes, so the same table serves every binary, known or not.
 *
 * Patterns are globs over absolute, normalised paths: `~` stands for any home directory (the session's
 * home, `/root`, `/home/<user>`), `*` matches within one path component, `**` across components.
 * `examples` are concrete instances used when the *argument* is itself a glob or has unknown parts
 * (`cat /e??/sh*`, `cat $D/.ssh/id_rsa`): such an argument is flagged if it could name an example.
 */

export type PathClass =
  | 'secret' // credentials, private keys, shadow, tokens, history (content is sensitive)
  | 'secret-dir' // a directory that holds secrets (recursive readers of it read secrets)
  | 'sensitive' // world-readable but recon-worthy: /etc/passwd, ssh known_hosts
  | 'persistence' // runs code later: shell rc, cron, systemd units, autostart, git hooks, authorized_keys
  | 'privesc' // sudoers, passwd/shadow/group (write), PAM, polkit
  | 'preload' // ld.so.preload, ld.so.conf: code injection into every process
  | 'log' // system logs and audit trails
  | 'history' // shell history files
  | 'agent-config' // the agent's own configuration (permissions, hooks, MCP servers)
  | 'warden' // Warden's own state, keys, policy
  | 'system-bin' // system executables and libraries
  | 'system-config' // anything else under /etc
  | 'boot' // /boot, kernel images, bootloader
  | 'disk-device' // block devices
  | 'mem-device' // /dev/mem, /dev/kmem, /dev/port
  | 'proc-mem' // /proc/<pid>/mem, environ: other processes' secrets
  | 'kernel-control' // /proc/sys, /sys, /proc/sysrq-trigger
  | 'metadata-endpoint' // unused for paths; kept for symmetry with hosts
  | 'tmp' // world-writable scratch space
  | 'null-device'; // /dev/null, /dev/zero and friends

export interface PathRule {
  glob: string;
  classes: PathClass[];
  what: string;
  examples?: string[];
}

/** Order matters only for the description reported: the first matching rule names the path. */
export const PATH_RULES: readonly PathRule[] = [
  // --- credentials and keys ---
  { glob: '/etc/shadow', classes: ['secret', 'privesc'], what: 'password hashes' },
  { glob: '/etc/shadow-', classes: ['secret'], what: 'password hashes (backup)' },
  { glob: '/etc/gshadow', classes: ['secret', 'privesc'], what: 'group password hashes' },
  { glob: '/etc/security/opasswd', classes: ['secret'], what: 'old password hashes' },
  { glob: '/etc/sudoers', classes: ['secret', 'privesc'], what: 'sudo rules' },
  { glob: '/etc/sudoers.d/**', classes: ['secret', 'privesc'], what: 'sudo rules', examples: ['/etc/sudoers.d/99-dev'] },
  { glob: '/etc/sudoers.d', classes: ['secret-dir', 'privesc'], what: 'sudo rules directory' },
  { glob: '/etc/ssh/ssh_host_*_key', classes: ['secret'], what: 'SSH host private key', examples: ['/etc/ssh/ssh_host_rsa_key'] },
  { glob: '/etc/ssl/private/**', classes: ['secret'], what: 'TLS private key', examples: ['/etc/ssl/private/server.key'] },
  { glob: '/etc/krb5.keytab', classes: ['secret'], what: 'Kerberos keytab' },
  { glob: '/etc/machine-id', classes: ['sensitive'], what: 'machine id' },
  { glob: '~/.ssh/id_*.pub', classes: ['sensitive'], what: 'SSH public key' },
  { glob: '~/.ssh/id_*', classes: ['secret'], what: 'SSH private key', examples: ['~/.ssh/id_rsa', '~/.ssh/id_ed25519', '~/.ssh/id_ecdsa'] },
  { glob: '~/.ssh/authorized_keys*', classes: ['persistence'], what: 'SSH authorized keys', examples: ['~/.ssh/authorized_keys'] },
  { glob: '~/.ssh/rc', classes: ['persistence'], what: 'SSH login script' },
  { glob: '~/.ssh/config', classes: ['persistence', 'sensitive'], what: 'SSH client config (ProxyCommand runs code)' },
  { glob: '~/.ssh/known_hosts*', classes: ['sensitive'], what: 'SSH known hosts' },
  { glob: '~/.ssh/*', classes: ['secret'], what: 'SSH key material', examples: ['~/.ssh/deploy_key'] },
  { glob: '~/.ssh', classes: ['secret-dir'], what: 'SSH directory' },
  { glob: '~/.aws/credentials', classes: ['secret'], what: 'AWS credentials' },
  { glob: '~/.aws/**', classes: ['secret'], what: 'AWS configuration', examples: ['~/.aws/config', '~/.aws/sso/cache/x.json'] },
  { glob: '~/.aws', classes: ['secret-dir'], what: 'AWS directory' },
  { glob: '~/.azure/**', classes: ['secret'], what: 'Azure credentials', examples: ['~/.azure/accessTokens.json', '~/.azure/msal_token_cache.json'] },
  { glob: '~/.azure', classes: ['secret-dir'], what: 'Azure directory' },
  { glob: '~/.config/gcloud/**', classes: ['secret'], what: 'Google Cloud credentials', examples: ['~/.config/gcloud/credentials.db', '~/.config/gcloud/access_tokens.db'] },
  { glob: '~/.config/gcloud', classes: ['secret-dir'], what: 'Google Cloud directory' },
  { glob: '~/.oci/**', classes: ['secret'], what: 'Oracle Cloud credentials', examples: ['~/.oci/config', '~/.oci/sessions/x/token'] },
  { glob: '~/.oci', classes: ['secret-dir'], what: 'Oracle Cloud directory' },
  { glob: '~/.kube/config', classes: ['secret'], what: 'Kubernetes credentials' },
  { glob: '~/.kube/**', classes: ['secret'], what: 'Kubernetes configuration' },
  { glob: '~/.kube', classes: ['secret-dir'], what: 'Kubernetes directory' },
  { glob: '/var/run/secrets/**', classes: ['secret'], what: 'service-account token', examples: ['/var/run/secrets/kubernetes.io/serviceaccount/token'] },
  { glob: '/run/secrets/**', classes: ['secret'], what: 'mounted secret', examples: ['/run/secrets/db_password'] },
  { glob: '~/.docker/config.json', classes: ['secret'], what: 'Docker registry credentials' },
  { glob: '~/.git-credentials', classes: ['secret'], what: 'git credentials' },
  { glob: '~/.config/git/credentials', classes: ['secret'], what: 'git credentials' },
  { glob: '~/.config/gh/hosts.yml', classes: ['secret'], what: 'GitHub CLI token' },
  { glob: '~/.config/gh', classes: ['secret-dir'], what: 'GitHub CLI directory' },
  { glob: '~/.config/hub', classes: ['secret'], what: 'hub token' },
  { glob: '~/.netrc', classes: ['secret'], what: 'netrc credentials' },
  { glob: '~/.npmrc', classes: ['secret'], what: 'npm token' },
  { glob: '~/.yarnrc.yml', classes: ['secret'], what: 'yarn token' },
  { glob: '~/.pypirc', classes: ['secret'], what: 'PyPI token' },
  { glob: '~/.gem/credentials', classes: ['secret'], what: 'RubyGems token' },
  { glob: '~/.cargo/credentials*', classes: ['secret'], what: 'crates.io token', examples: ['~/.cargo/credentials.toml'] },
  { glob: '~/.m2/settings.xml', classes: ['secret'], what: 'Maven credentials' },
  { glob: '~/.gradle/gradle.properties', classes: ['secret'], what: 'Gradle credentials' },
  { glob: '~/.terraform.d/credentials.tfrc.json', classes: ['secret'], what: 'Terraform token' },
  { glob: '~/.vault-token', classes: ['secret'], what: 'Vault token' },
  { glob: '~/.config/doctl/**', classes: ['secret'], what: 'DigitalOcean token' },
  { glob: '~/.gnupg/**', classes: ['secret'], what: 'GnuPG keyring', examples: ['~/.gnupg/private-keys-v1.d/x.key', '~/.gnupg/secring.gpg'] },
  { glob: '~/.gnupg', classes: ['secret-dir'], what: 'GnuPG directory' },
  { glob: '~/.password-store/**', classes: ['secret'], what: 'password store' },
  { glob: '~/.local/share/keyrings/**', classes: ['secret'], what: 'desktop keyring' },
  { glob: '~/.mozilla/**/logins.json', classes: ['secret'], what: 'Firefox saved passwords', examples: ['~/.mozilla/firefox/x.default/logins.json'] },
  { glob: '~/.mozilla/**/key4.db', classes: ['secret'], what: 'Firefox key database' },
  { glob: '~/.mozilla/**/cookies.sqlite', classes: ['secret'], what: 'browser cookies' },
  { glob: '~/.config/google-chrome/**', classes: ['secret'], what: 'Chrome profile (passwords, cookies)', examples: ['~/.config/google-chrome/Default/Login Data'] },
  { glob: '~/.config/chromium/**', classes: ['secret'], what: 'Chromium profile (passwords, cookies)' },
  { glob: '~/.bash_history', classes: ['secret', 'history'], what: 'shell history' },
  { glob: '~/.zsh_history', classes: ['secret', 'history'], what: 'shell history' },
  { glob: '~/.sh_history', classes: ['secret', 'history'], what: 'shell history' },
  { glob: '~/.*_history', classes: ['secret', 'history'], what: 'history file', examples: ['~/.python_history', '~/.mysql_history', '~/.psql_history'] },
  { glob: '~/.local/share/fish/fish_history', classes: ['secret', 'history'], what: 'shell history' },
  { glob: '/root/**', classes: ['secret'], what: "root's home", examples: ['/root/.bash_history', '/root/.ssh/id_ed25519'] },
  { glob: '/root', classes: ['secret-dir'], what: "root's home" },
  { glob: '/proc/*/mem', classes: ['secret', 'proc-mem'], what: 'process memory', examples: ['/proc/1/mem'] },
  { glob: '/proc/*/environ', classes: ['secret', 'proc-mem'], what: 'process environment', examples: ['/proc/1/environ'] },
  { glob: '/proc/*/maps', classes: ['sensitive'], what: 'process memory map' },
  { glob: '/proc/*/map', classes: ['sensitive'], what: 'process memory map' },
  { glob: '/proc/kcore', classes: ['secret', 'mem-device'], what: 'kernel memory' },
  { glob: '/etc/passwd', classes: ['sensitive', 'privesc'], what: 'user database' },
  { glob: '/etc/group', classes: ['sensitive', 'privesc'], what: 'group database' },
  { glob: '/etc/pam.d/**', classes: ['privesc'], what: 'PAM configuration', examples: ['/etc/pam.d/sshd'] },
  { glob: '/etc/security/**', classes: ['privesc'], what: 'security configuration' },
  { glob: '/etc/polkit-1/**', classes: ['privesc'], what: 'polkit rules' },
  { glob: '/etc/ssh/sshd_config*', classes: ['persistence'], what: 'SSH server configuration' },
  // --- persistence ---
  { glob: '~/.bashrc', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.bash_profile', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.bash_login', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.bash_logout', classes: ['persistence'], what: 'shell logout file' },
  { glob: '~/.profile', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.zshrc', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.zshenv', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.zprofile', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.zlogin', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.cshrc', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.tcshrc', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.kshrc', classes: ['persistence'], what: 'shell startup file' },
  { glob: '~/.config/fish/**', classes: ['persistence'], what: 'fish startup file', examples: ['~/.config/fish/config.fish'] },
  { glob: '~/.xinitrc', classes: ['persistence'], what: 'X startup file' },
  { glob: '~/.xprofile', classes: ['persistence'], what: 'X startup file' },
  { glob: '~/.xsession', classes: ['persistence'], what: 'X startup file' },
  { glob: '~/.config/autostart/**', classes: ['persistence'], what: 'desktop autostart entry', examples: ['~/.config/autostart/sync.desktop'] },
  { glob: '~/.config/systemd/**', classes: ['persistence'], what: 'systemd user unit', examples: ['~/.config/systemd/user/x.service'] },
  { glob: '~/.local/share/systemd/**', classes: ['persistence'], what: 'systemd user unit' },
  { glob: '~/.vimrc', classes: ['persistence'], what: 'vim startup file (can run commands)' },
  { glob: '~/.gitconfig', classes: ['persistence'], what: 'git config (hooks, pager, aliases run code)' },
  { glob: '~/.local/bin/*', classes: ['persistence'], what: 'a directory on PATH (a file here shadows commands)', examples: ['~/.local/bin/ls'] },
  { glob: '~/bin/*', classes: ['persistence'], what: 'a directory on PATH (a file here shadows commands)' },
  { glob: '~/.config/git/config', classes: ['persistence'], what: 'git config (hooks, pager, aliases run code)' },
  { glob: '~/.local/lib/python*/site-packages/**', classes: ['persistence'], what: 'Python user site-packages (runs on every start)', examples: ['~/.local/lib/python3.11/site-packages/usercustomize.py'] },
  { glob: '**/site-packages/*.pth', classes: ['persistence'], what: 'Python .pth file (runs on every start)', examples: ['/usr/lib/python3/site-packages/x.pth'] },
  { glob: '**/sitecustomize.py', classes: ['persistence'], what: 'Python sitecustomize (runs on every start)' },
  { glob: '**/usercustomize.py', classes: ['persistence'], what: 'Python usercustomize (runs on every start)' },
  { glob: '**/.git/hooks/*', classes: ['persistence'], what: 'git hook (runs on git commands)', examples: ['/home/dev/project/.git/hooks/pre-commit'] },
  { glob: '**/.git/config', classes: ['persistence'], what: 'repository git config (hooks path, pager run code)' },
  { glob: '/etc/profile', classes: ['persistence'], what: 'system shell startup file' },
  { glob: '/etc/profile.d/**', classes: ['persistence'], what: 'system shell startup file', examples: ['/etc/profile.d/zz.sh'] },
  { glob: '/etc/bash.bashrc', classes: ['persistence'], what: 'system shell startup file' },
  { glob: '/etc/bashrc', classes: ['persistence'], what: 'system shell startup file' },
  { glob: '/etc/zsh/**', classes: ['persistence'], what: 'system shell startup file' },
  { glob: '/etc/environment', classes: ['persistence'], what: 'system environment' },
  { glob: '/etc/rc.local', classes: ['persistence'], what: 'boot script' },
  { glob: '/etc/init.d/**', classes: ['persistence'], what: 'init script' },
  { glob: '/etc/rc*.d/**', classes: ['persistence'], what: 'init script' },
  { glob: '/etc/cron*', classes: ['persistence'], what: 'cron configuration', examples: ['/etc/crontab'] },
  { glob: '/etc/cron*/**', classes: ['persistence'], what: 'cron job', examples: ['/etc/cron.d/sync', '/etc/cron.daily/x'] },
  { glob: '/var/spool/cron/**', classes: ['persistence'], what: 'user crontab', examples: ['/var/spool/cron/crontabs/root'] },
  { glob: '/etc/anacrontab', classes: ['persistence'], what: 'anacron table' },
  { glob: '/var/spool/at/**', classes: ['persistence'], what: 'at job' },
  { glob: '/etc/systemd/**', classes: ['persistence'], what: 'systemd unit', examples: ['/etc/systemd/system/x.service'] },
  { glob: '/lib/systemd/**', classes: ['persistence', 'system-bin'], what: 'systemd unit' },
  { glob: '/usr/lib/systemd/**', classes: ['persistence', 'system-bin'], what: 'systemd unit' },
  { glob: '/etc/xdg/autostart/**', classes: ['persistence'], what: 'desktop autostart entry' },
  { glob: '/etc/update-motd.d/**', classes: ['persistence'], what: 'login message script' },
  { glob: '/etc/udev/rules.d/**', classes: ['persistence'], what: 'udev rule (runs commands)' },
  { glob: '/etc/modules-load.d/**', classes: ['persistence'], what: 'kernel module autoload' },
  { glob: '/etc/modprobe.d/**', classes: ['persistence'], what: 'kernel module configuration' },
  { glob: '/etc/apt/apt.conf.d/**', classes: ['persistence'], what: 'APT hook configuration' },
  { glob: '/etc/ld.so.preload', classes: ['preload'], what: 'global library preload' },
  { glob: '/etc/ld.so.conf', classes: ['preload'], what: 'dynamic linker configuration' },
  { glob: '/etc/ld.so.conf.d/**', classes: ['preload'], what: 'dynamic linker configuration' },
  // --- the agent's and Warden's own configuration ---
  { glob: '~/.claude/**', classes: ['agent-config'], what: "the agent's configuration", examples: ['~/.claude/settings.json'] },
  { glob: '~/.claude', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '~/.claude.json', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '**/.claude/settings*.json', classes: ['agent-config'], what: "the agent's project permissions", examples: ['/home/dev/project/.claude/settings.local.json'] },
  { glob: '**/.claude/hooks/**', classes: ['agent-config'], what: "the agent's hooks" },
  { glob: '~/.codex/**', classes: ['agent-config'], what: "the agent's configuration", examples: ['~/.codex/config.toml'] },
  { glob: '~/.codex', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '**/.codex/config.toml', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '**/.mcp.json', classes: ['agent-config'], what: 'MCP server configuration (runs programs)' },
  { glob: '~/.cursor/**', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '~/.gemini/**', classes: ['agent-config'], what: "the agent's configuration" },
  { glob: '~/.config/warden/**', classes: ['warden'], what: "Warden's keys and configuration", examples: ['~/.config/warden/keys/audit.key'] },
  { glob: '~/.config/warden', classes: ['warden'], what: "Warden's configuration" },
  { glob: '~/.local/state/warden/**', classes: ['warden', 'log'], what: "Warden's audit log", examples: ['~/.local/state/warden/audit/log.jsonl'] },
  { glob: '~/.local/state/warden', classes: ['warden', 'log'], what: "Warden's state" },
  { glob: '/etc/warden/**', classes: ['warden'], what: "Warden's system configuration" },
  { glob: '**/warden.policy.y*ml', classes: ['warden'], what: 'a Warden policy' },
  { glob: '**/.warden/**', classes: ['warden'], what: "Warden's project configuration" },
  // --- logs ---
  { glob: '/var/log/**', classes: ['log'], what: 'system log', examples: ['/var/log/messages', '/var/log/syslog', '/var/log/auth.log', '/var/log/journal/x/system.journal'] },
  { glob: '/var/log', classes: ['log'], what: 'system log directory' },
  { glob: '/var/audit/**', classes: ['log'], what: 'audit trail' },
  { glob: '/var/spool/mail/**', classes: ['log'], what: 'local mail spool' },
  { glob: '/var/mail/**', classes: ['log'], what: 'local mail spool' },
  { glob: '/var/lib/docker/containers/**', classes: ['log'], what: 'container logs', examples: ['/var/lib/docker/containers/x/x-json.log'] },
  { glob: '/var/run/utmp', classes: ['log'], what: 'login records' },
  // --- system areas ---
  { glob: '/boot/**', classes: ['boot'], what: 'boot files' },
  { glob: '/boot', classes: ['boot'], what: 'boot files' },
  { glob: '/dev/null', classes: ['null-device'], what: 'null device' },
  { glob: '/dev/zero', classes: ['null-device'], what: 'zero device' },
  { glob: '/dev/u?random', classes: ['null-device'], what: 'random device' },
  { glob: '/dev/std*', classes: ['null-device'], what: 'standard stream' },
  { glob: '/dev/fd/*', classes: ['null-device'], what: 'file descriptor' },
  { glob: '/dev/tty*', classes: ['null-device'], what: 'terminal' },
  { glob: '/dev/pts/*', classes: ['null-device'], what: 'terminal' },
  { glob: '/dev/sd*', classes: ['disk-device'], what: 'disk', examples: ['/dev/sda', '/dev/sda1'] },
  { glob: '/dev/hd*', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/vd*', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/xvd*', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/nvme*', classes: ['disk-device'], what: 'disk', examples: ['/dev/nvme0n1'] },
  { glob: '/dev/mmcblk*', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/dm-*', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/md*', classes: ['disk-device'], what: 'RAID device' },
  { glob: '/dev/loop*', classes: ['disk-device'], what: 'loop device' },
  { glob: '/dev/mapper/**', classes: ['disk-device'], what: 'mapped disk' },
  { glob: '/dev/disk/**', classes: ['disk-device'], what: 'disk' },
  { glob: '/dev/fd0', classes: ['disk-device'], what: 'floppy disk' },
  { glob: '/dev/mem', classes: ['mem-device', 'secret'], what: 'physical memory' },
  { glob: '/dev/kmem', classes: ['mem-device', 'secret'], what: 'kernel memory' },
  { glob: '/dev/port', classes: ['mem-device'], what: 'I/O ports' },
  { glob: '/proc/sysrq-trigger', classes: ['kernel-control'], what: 'kernel SysRq trigger' },
  { glob: '/proc/sys/**', classes: ['kernel-control'], what: 'kernel parameters' },
  { glob: '/sys/**', classes: ['kernel-control'], what: 'kernel interfaces' },
  { glob: '/bin/**', classes: ['system-bin'], what: 'system binaries' },
  { glob: '/sbin/**', classes: ['system-bin'], what: 'system binaries' },
  { glob: '/usr/bin/**', classes: ['system-bin'], what: 'system binaries' },
  { glob: '/usr/sbin/**', classes: ['system-bin'], what: 'system binaries' },
  { glob: '/usr/local/bin/**', classes: ['system-bin'], what: 'local binaries' },
  { glob: '/usr/local/sbin/**', classes: ['system-bin'], what: 'local binaries' },
  { glob: '/lib/**', classes: ['system-bin'], what: 'system libraries' },
  { glob: '/lib64/**', classes: ['system-bin'], what: 'system libraries' },
  { glob: '/usr/lib/**', classes: ['system-bin'], what: 'system libraries' },
  { glob: '/usr/lib64/**', classes: ['system-bin'], what: 'system libraries' },
  { glob: '/usr/libexec/**', classes: ['system-bin'], what: 'system helpers' },
  { glob: '/usr/share/**', classes: ['system-bin'], what: 'system data' },
  { glob: '/etc/**', classes: ['system-config'], what: 'system configuration' },
  { glob: '/tmp/**', classes: ['tmp'], what: 'temporary directory' },
  { glob: '/var/tmp/**', classes: ['tmp'], what: 'temporary directory' },
  { glob: '/dev/shm/**', classes: ['tmp'], what: 'shared memory directory' },
];

/** Top-level directories whose recursive deletion or mass modification wrecks the system. */
export const SYSTEM_ROOTS: readonly string[] = [
  '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt', '/opt', '/proc',
  '/root', '/run', '/sbin', '/srv', '/sys', '/usr', '/var', '/snap', '/usr/bin', '/usr/lib', '/usr/local', '/usr/share',
  '/usr/sbin', '/var/lib', '/var/log',
];

/** Basenames that are secrets wherever they live (a `.env` in any directory, private keys). */
export const SECRET_BASENAMES: readonly { glob: string; what: string }[] = [
  { glob: '.env', what: 'environment secrets file' },
  { glob: '.env.local', what: 'environment secrets file' },
  { glob: '.env.production', what: 'environment secrets file' },
  { glob: '.env.prod', what: 'environment secrets file' },
  { glob: '.env.development', what: 'environment secrets file' },
  { glob: '.env.*.local', what: 'environment secrets file' },
  { glob: 'id_rsa', what: 'SSH private key' },
  { glob: 'id_dsa', what: 'SSH private key' },
  { glob: 'id_ecdsa', what: 'SSH private key' },
  { glob: 'id_ed25519', what: 'SSH private key' },
  { glob: '*.pem', what: 'PEM key or certificate' },
  { glob: '*.key', what: 'private key' },
  { glob: '*.p12', what: 'PKCS#12 keystore' },
  { glob: '*.pfx', what: 'PKCS#12 keystore' },
  { glob: '*.keystore', what: 'keystore' },
  { glob: '*.jks', what: 'Java keystore' },
  { glob: '*.kdbx', what: 'KeePass database' },
  { glob: 'credentials', what: 'credentials file' },
  { glob: 'credentials.json', what: 'credentials file' },
  { glob: 'credentials.db', what: 'credentials database' },
  { glob: 'access_tokens.db', what: 'token database' },
  { glob: 'accessTokens.json', what: 'token cache' },
  { glob: 'msal_token_cache.json', what: 'token cache' },
  { glob: '.netrc', what: 'netrc credentials' },
  { glob: '.git-credentials', what: 'git credentials' },
  { glob: '.pgpass', what: 'PostgreSQL passwords' },
  { glob: '.my.cnf', what: 'MySQL credentials' },
  { glob: 'secrets.y*ml', what: 'secrets file' },
  { glob: '*.tfstate', what: 'Terraform state (contains secrets)' },
  { glob: 'wp-config.php', what: 'WordPress credentials' },
  { glob: 'shadow', what: 'password hashes' },
  { glob: 'master.key', what: 'Rails master key' },
  { glob: 'service-account*.json', what: 'cloud service-account key' },
];

/** Basenames that look secret but are templates: reading them is fine. */
export const NOT_SECRET_BASENAMES: readonly string[] = [
  '.env.example', '.env.sample', '.env.template', '.env.dist', '.env.defaults', '.env.test.example', '*.pub',
  'credentials.example', '*.example', '*.sample', '*.template', '*.crt', 'cert.pem', 'ca.pem', 'chain.pem', 'fullchain.pem', '*.cert.pem',
];

/** Names used in `find -name` / `locate` credential hunts. */
export const SECRET_SEARCH_NAMES: readonly string[] = [
  'id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_*', '*.pem', '*.key', '.netrc', 'credentials', 'credentials.db',
  'access_tokens.db', 'accessTokens.json', 'msal_token_cache.json', '.git-credentials', '.env', 'shadow', '*.kdbx',
  'authorized_keys', 'known_hosts', '.bash_history', '*_history', 'token', '.gnupg', '.aws', '.ssh', 'wallet.dat',
  'logins.json', 'key4.db', '*.p12', '*.pfx', 'secrets*', '.pgpass', 'kubeconfig', 'config.json', 'hosts.yml', '*password*', '*passwd*', '*secret*', '*cred*',
];
