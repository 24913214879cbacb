/**
 * Knowledge base: what programs do with their arguments, as data. The analyser reads this table; a
 * program that is not listed is still judged by its arguments (secret paths, URLs, `/dev/tcp/`, shell
 * paths, command-valued options), so the table sharpens verdicts but is not what makes them.
 *
 * `handler` names custom logic in `effects.ts` for programs whose arguments form a language of their
 * own (find, git, curl, tar, socat, ...). Everything else is declarative.
 */
import type { EffectKind, Risk } from '../types.js';

export type BinKind =
  | 'shell' // runs shell code: -c STRING, a script file, or stdin
  | 'interp' // runs program code in another language
  | 'wrapper' // runs another command (argv)
  | 'reader' // reads files named by positionals, writes to stdout
  | 'meta' // touches file metadata / names only (ls, stat, chmod...)
  | 'producer' // writes its arguments to stdout (echo, printf)
  | 'writer' // writes files
  | 'net' // network client
  | 'transform' // stdin/file -> stdout transformation (base64, gzip, xxd)
  | 'editor' // interactive editor (can run commands)
  | 'pager' // interactive pager (can run commands)
  | 'pkg' // package manager
  | 'build' // compiler / build tool
  | 'sys' // system administration
  | 'db' // database client
  | 'cloud' // cloud / cluster CLI
  | 'search' // searches file names / content
  | 'benign'; // no side effects worth noting (true, date, whoami)

export type PosRole = 'read' | 'meta' | 'data' | 'write' | 'copy' | 'delete' | 'exec' | 'pattern-read' | 'none';

export interface StaticEffect {
  kind: EffectKind;
  risk: Risk;
  reason: string;
  suggestion?: string;
}

export interface BinSpec {
  kind: BinKind;
  val?: readonly string[];
  pos?: PosRole;
  writes?: readonly string[];
  reads?: readonly string[];
  execs?: readonly string[];
  /** Options after which the rest of the argv is a command (`strace -- cmd`, `perf stat cmd`). */
  code?: readonly string[];
  lang?: string;
  lead?: number;
  priv?: boolean;
  always?: readonly StaticEffect[];
  handler?: string;
  /** Wrappers that start an interactive shell when given no command (nsenter, unshare). */
  shellIfEmpty?: boolean;
  /** Recon: harmless alone, but an earlier step of a recon -> persistence chain. */
  recon?: boolean;
  /** Whether stdout is its stdin passed through (cat with no files), a literal, or unknown. */
  out?: 'stdin' | 'unknown';
}

const e = (kind: EffectKind, risk: Risk, reason: string, suggestion?: string): StaticEffect =>
  suggestion === undefined ? { kind, risk, reason } : { kind, risk, reason, suggestion };

function names(list: string, spec: BinSpec, into: Record<string, BinSpec>): void {
  for (const n of list.split(' ')) if (n) into[n] = spec; // lists are single-space separated (a regex split cost ~0.5 ms cold)
}

const T: Record<string, BinSpec> = {};

// --- shells ---
names('sh bash dash zsh ksh mksh ash yash posh rbash lksh pdksh', { kind: 'shell', handler: 'shell', val: ['-o', '-O', '--rcfile', '--init-file'] }, T);
names('csh tcsh', { kind: 'shell', handler: 'shell', val: [] }, T);
names('fish', { kind: 'shell', handler: 'shell', val: ['-C', '--init-command'], execs: ['-C', '--init-command'] }, T);
names('elvish xonsh nu', { kind: 'shell', handler: 'shell', val: [] }, T);
names('pwsh powershell', { kind: 'shell', handler: 'shell', val: ['-Command', '-c', '-File', '-f', '-EncodedCommand', '-e'] }, T);
names('busybox toybox', { kind: 'wrapper', handler: 'busybox' }, T);

// --- interpreters: option that carries code, and the language for the code scanner ---
names('python python2 python3 pypy pypy3 python2.7 python3.6 python3.7 python3.8 python3.9 python3.10 python3.11 python3.12 python3.13 python3.14', { kind: 'interp', handler: 'interp', code: ['-c'], lang: 'python', val: ['-m', '-W', '-X', '-Q'] }, T);
names('perl perl5', { kind: 'interp', handler: 'interp', code: ['-e', '-E'], lang: 'perl', val: ['-M', '-m', '-I', '-x', '-i', '-F', '-l', '-0'] }, T);
names('ruby jruby', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'ruby', val: ['-r', '-I', '-C', '-E', '-F', '-x'] }, T);
names('irb', { kind: 'interp', handler: 'interp', code: [], lang: 'ruby' }, T);
names('node nodejs', { kind: 'interp', handler: 'interp', code: ['-e', '--eval', '-p', '--print'], lang: 'js', val: ['-r', '--require', '--import', '--loader', '--experimental-loader', '--input-type', '--env-file', '--inspect-port', '--max-old-space-size', '--stack-size', '-C', '--conditions'] }, T);
names('deno', { kind: 'interp', handler: 'interp', code: [], lang: 'js' }, T);
names('bun', { kind: 'interp', handler: 'interp', code: ['-e', '--eval', '-p', '--print'], lang: 'js' }, T);
names('php php7 php8 php-cli', { kind: 'interp', handler: 'interp', code: ['-r', '-B', '-R', '-E'], lang: 'php', val: ['-S', '-t', '-d', '-c', '-f', '-z'] }, T);
names('lua lua5.1 lua5.2 lua5.3 lua5.4 luajit texlua', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'lua', val: ['-l'] }, T);
names('julia', { kind: 'interp', handler: 'interp', code: ['-e', '--eval', '-E', '--print'], lang: 'julia', val: ['-p', '-t', '--project', '-J'] }, T);
names('R Rscript', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'r', val: [] }, T);
names('octave octave-cli', { kind: 'interp', handler: 'interp', code: ['--eval'], lang: 'octave' }, T);
names('guile', { kind: 'interp', handler: 'interp', code: ['-c'], lang: 'scheme', val: ['-L', '-l', '-e', '-x'] }, T);
names('gnuplot', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'gnuplot' }, T);
names('tclsh wish expect', { kind: 'interp', handler: 'interp', code: ['-c'], lang: 'tcl' }, T);
names('jrunscript jjs', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'js' }, T);
names('slsh', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'slang' }, T);
names('groovy', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'groovy' }, T);
names('bpftrace', { kind: 'interp', handler: 'interp', code: ['-e'], lang: 'bpftrace', val: ['-c', '-p', '-o'], execs: ['-c'], writes: ['-o'], always: [e('system-modify', 'medium', 'bpftrace loads kernel tracing programs')] }, T);
names('awk gawk mawk nawk original-awk', { kind: 'interp', handler: 'awk', lang: 'awk', val: ['-F', '-v', '-f', '--file', '-i', '--include', '-l', '--load', '-E', '--exec'] }, T);
names('sed gsed', { kind: 'transform', handler: 'sed', val: ['-e', '--expression', '-f', '--file', '-l', '--line-length'] }, T);
names('emacs', { kind: 'editor', handler: 'editor', code: ['--eval', '-eval', '--execute', '-l', '--load'], lang: 'elisp', val: ['-f', '--funcall', '-L'] }, T);
names('vi vim nvim view rvim ex vim.basic vim.tiny gvim', { kind: 'editor', handler: 'vim', val: ['-c', '--cmd', '-S', '-u', '-U', '-i', '-T', '-w', '-W', '-s'] }, T);
names('nano pico ed red joe mcedit micro', { kind: 'editor', pos: 'read' }, T);
names('gdb', { kind: 'interp', handler: 'gdb', val: ['-ex', '--ex', '-eval-command', '--eval-command', '-x', '-p', '--pid', '-iex', '-ix', '--init-command', '--command'] }, T);
names('make gmake', { kind: 'build', handler: 'make', val: ['-f', '--file', '--makefile', '-C', '--directory', '-j', '--jobs', '-I', '--include-dir', '-o', '-W', '--eval', '-l'] }, T);
names('sqlite3', { kind: 'db', handler: 'sqlite', val: ['-cmd', '-separator', '-newline', '-nullvalue', '-init', '-vfs'] }, T);
names('mysql mariadb psql clickhouse-client cqlsh mongo mongosh redis-cli sqlcmd cockroach', { kind: 'db', handler: 'sqlclient', val: ['-e', '--execute', '-c', '--command', '-q', '--query', '--eval', '-u', '-U', '-h', '-H', '--host', '-p', '-P', '--port', '-d', '--dbname', '-D', '--database', '-f', '--file', '-Q', '-S', '-n'] }, T);

// --- wrappers: run another command ---
names('nice', { kind: 'wrapper', handler: 'wrapper', val: ['-n', '--adjustment'] }, T);
names('timeout', { kind: 'wrapper', handler: 'wrapper', val: ['-s', '--signal', '-k', '--kill-after'], lead: 1 }, T);
names('nohup setsid disown stdbuf unbuffer caffeinate chronic catchsegv rlwrap xvfb-run dbus-launch dbus-run-session ifne', { kind: 'wrapper', handler: 'wrapper', val: ['-i', '-o', '-e', '--input', '--output', '--error', '-n', '-s', '--server-args'] }, T);
names('ionice', { kind: 'wrapper', handler: 'wrapper', val: ['-c', '--class', '-n', '--classdata', '-p', '-P', '-u', '--pid', '--pgid', '--uid'] }, T);
names('chrt', { kind: 'wrapper', handler: 'wrapper', lead: 1, val: ['-T', '-P', '-D'] }, T);
names('taskset', { kind: 'wrapper', handler: 'wrapper', lead: 1, val: ['-c', '--cpu-list'] }, T);
names('numactl', { kind: 'wrapper', handler: 'wrapper', val: ['-C', '-N', '-m', '-p', '-i', '--physcpubind', '--cpunodebind', '--membind', '--preferred', '--interleave'] }, T);
names('cpulimit', { kind: 'wrapper', handler: 'wrapper', val: ['-l', '--limit', '-p', '--pid', '-e', '--exe'] }, T);
names('prlimit', { kind: 'wrapper', handler: 'wrapper', val: ['-p', '--pid'] }, T);
names('faketime', { kind: 'wrapper', handler: 'wrapper', lead: 1, val: ['-m', '-f'] }, T);
names('flock', { kind: 'wrapper', handler: 'wrapper', lead: 1, val: ['-w', '--timeout', '-E', '--conflict-exit-code', '-c', '--command'], execs: ['-c', '--command'] }, T);
names('chroot', { kind: 'wrapper', handler: 'wrapper', lead: 1, val: ['--userspec', '--groups'], always: [e('privilege-escalation', 'medium', 'chroot changes the root directory (needs root)')] }, T);
names('setarch linux32 linux64 i386 x86_64', { kind: 'wrapper', handler: 'wrapper', lead: 0, val: [] }, T);
names('aa-exec', { kind: 'wrapper', handler: 'wrapper', val: ['-p', '--profile', '-n', '--namespace'] }, T);
names('time', { kind: 'wrapper', handler: 'wrapper', val: ['-f', '--format', '-o', '--output'], writes: ['-o', '--output'] }, T);
names('multitime', { kind: 'wrapper', handler: 'wrapper', val: ['-n', '-s', '-i', '-o', '-l'] }, T);
names('logsave', { kind: 'wrapper', handler: 'wrapper', lead: 1 }, T);
names('pexec distcc ccache icecc sem proot fakeroot fakechroot firejail valgrind', { kind: 'wrapper', handler: 'wrapper', val: ['--tool', '--log-file', '-j', '--profile'] }, T);
names('torsocks torify proxychains proxychains4 tsocks', { kind: 'wrapper', handler: 'wrapper', val: ['-f', '-q', '-a', '-P'], always: [e('tunnel', 'medium', 'routes traffic through an anonymising proxy (Tor/SOCKS)')] }, T);
names('strace ltrace', { kind: 'wrapper', handler: 'wrapper', val: ['-o', '-e', '-p', '-s', '-u', '-E', '-O', '-S', '-a', '-b', '-P', '-I', '-X', '-A', '-n', '-F', '-L', '-l'], writes: ['-o'] }, T);
names('perf', { kind: 'wrapper', handler: 'subwrapper', val: ['-e', '-o', '-p', '-t', '-C', '-c', '-F', '-g', '--call-graph', '-r', '-x'], writes: ['-o'] }, T);
names('pidstat', { kind: 'wrapper', handler: 'optwrapper', execs: ['-e'] }, T);
names('start-stop-daemon', { kind: 'wrapper', handler: 'optwrapper', execs: ['-x', '--exec', '-a', '--startas'], val: ['-p', '--pidfile', '-n', '--name', '-u', '--user', '-c', '--chuid', '-d', '--chdir', '-N', '--nicelevel'] }, T);
names('watch', { kind: 'wrapper', handler: 'watch', val: ['-n', '--interval', '-d', '--differences', '-q', '--equexit', '--errexit'] }, T);
names('xargs', { kind: 'wrapper', handler: 'xargs', val: ['-a', '--arg-file', '-d', '--delimiter', '-E', '-e', '--eof', '-I', '-i', '--replace', '-L', '-l', '--max-lines', '-n', '--max-args', '-P', '--max-procs', '-s', '--max-chars', '--process-slot-var'] }, T);
names('parallel', { kind: 'wrapper', handler: 'parallel', val: ['-j', '--jobs', '-S', '--sshlogin', '--env', '-a', '--arg-file', '--delay', '--timeout'] }, T);
names('env', { kind: 'wrapper', handler: 'env' }, T);
names('sudo', { kind: 'wrapper', handler: 'sudo', priv: true, val: ['-u', '--user', '-g', '--group', '-C', '--close-from', '-D', '--chdir', '-h', '--host', '-p', '--prompt', '-r', '--role', '-t', '--type', '-U', '--other-user', '-T', '--command-timeout'] }, T);
names('doas', { kind: 'wrapper', handler: 'sudo', priv: true, val: ['-u', '-C'] }, T);
names('pkexec run0', { kind: 'wrapper', handler: 'sudo', priv: true, val: ['--user', '-u'] }, T);
names('su runuser', { kind: 'wrapper', handler: 'su', priv: true, val: ['-c', '--command', '--session-command', '-s', '--shell', '-g', '--group', '-G', '--supp-group', '-w', '--whitelist-environment'], execs: ['-c', '--command', '--session-command'] }, T);
names('sg', { kind: 'wrapper', handler: 'sg', val: ['-c'] }, T);
names('newgrp', { kind: 'wrapper', handler: 'newgrp' }, T);
names('nsenter', { kind: 'wrapper', handler: 'wrapper', val: ['-t', '--target', '-S', '--setuid', '-G', '--setgid', '-w', '--wd', '-r', '--root', '-m', '-u', '-i', '-n', '-p', '-U', '-C', '-T'], shellIfEmpty: true, always: [e('privilege-escalation', 'high', "nsenter enters another process's namespaces (container escape)")] }, T);
names('unshare', { kind: 'wrapper', handler: 'wrapper', val: ['--map-user', '--map-group', '--propagation', '--setgroups', '-S', '--setuid', '-G', '--setgid', '-R', '--root', '-w', '--wd', '--mount-proc'], shellIfEmpty: true }, T);
names('systemd-run', { kind: 'wrapper', handler: 'systemd-run', val: ['--unit', '-u', '-p', '--property', '--description', '--slice', '--on-calendar', '--on-active', '--on-boot', '--on-startup', '--on-unit-active', '--on-unit-inactive', '--on-clock-change', '--uid', '--gid', '-E', '--setenv', '--working-directory', '-M', '--machine', '--nice', '-H', '--host', '--timer-property', '--path-property', '--socket-property'] }, T);
names('script', { kind: 'wrapper', handler: 'optwrapper', execs: ['-c', '--command'], val: ['-E', '--echo', '-T', '--log-timing', '-I', '--log-in', '-O', '--log-out', '-B', '--log-io', '-m', '--logging-format'], pos: 'write' }, T);
names('run-parts', { kind: 'wrapper', handler: 'run-parts', val: ['-u', '--umask', '--regex', '-a', '--arg'] }, T);
names('npx pnpx bunx', { kind: 'wrapper', handler: 'npx', val: ['-p', '--package', '-c', '--call'], execs: ['-c', '--call'] }, T);
names('uv poetry pipenv pdm hatch rye conda mamba micromamba pixi', { kind: 'pkg', handler: 'runner' }, T);
names('yarn pnpm', { kind: 'pkg', handler: 'jspkg', val: ['--cwd', '-C', '--dir', '--filter', '-F', '--workspace'] }, T);
names('npm', { kind: 'pkg', handler: 'jspkg', val: ['--prefix', '-w', '--workspace', '--registry', '--script-shell'] }, T);
names('bundle bundler', { kind: 'pkg', handler: 'runner' }, T);
names('nix-shell nix', { kind: 'pkg', handler: 'runner', val: ['-p', '--packages', '--run', '--command', '-I'], execs: ['--run', '--command'] }, T);

// --- package managers (system-wide installs run maintainer scripts as root) ---
names('apt apt-get aptitude dnf yum zypper pacman apk emerge pkg pkg_add port brew snap flatpak', { kind: 'pkg', handler: 'syspkg', val: ['-o', '-c', '-t', '--option', '--config-file', '--target-release', '-r', '--root'] }, T);
names('dpkg rpm', { kind: 'pkg', handler: 'syspkg', val: ['--eval', '-E', '--pipe', '--root', '--dbpath', '--define', '-D', '--admindir', '--instdir'], execs: ['--pipe'] }, T);
names('rpmdb rpmbuild rpmspec rpmquery', { kind: 'pkg', handler: 'syspkg', val: ['--eval', '-E', '--define', '-D', '--dbpath'] }, T);
names('pip pip2 pip3 pipx gem cargo go rustup composer cpan cpanm luarocks conan vcpkg mvn gradle dotnet nuget', { kind: 'pkg', handler: 'langpkg', val: ['-r', '--requirement', '-c', '--constraint', '-i', '--index-url', '--extra-index-url', '-e', '--editable', '-t', '--target', '--editor'] }, T);

// --- readers: content of positional files goes to stdout ---
names('cat tac nl head tail more less most pg column fmt fold pr paste join comm uniq sort cut expand unexpand rev tr wc od hd hexdump xxd strings look grep egrep fgrep rg ag ack zgrep zcat bzcat xzcat zless zmore bzless lzcat lz4cat zstdcat diff diff3 sdiff cmp iconv base32 base58 ascii85 basenc uuencode uudecode sha1sum sha256sum sha512sum md5sum b2sum cksum sum split csplit jq yq xmllint tidy highlight pygmentize bat batcat glow mdcat nroff groff troff eqn pic tbl soelim refer grap man mandoc w3m lynx links elinks aspell hunspell enscript a2ps file readelf objdump nm ldd size gcore dos2unix unix2dos recode msgattrib msgcat msgconv msgfilter msgfmt msgmerge msguniq msgen msgexec tee', { kind: 'reader', pos: 'read' }, T);
// grep-likes: first positional is a pattern unless -e/-f given.
names('grep egrep fgrep rg ag ack zgrep', { kind: 'search', handler: 'grep', val: ['-e', '--regexp', '-f', '--file', '-m', '--max-count', '-A', '-B', '-C', '--context', '--include', '--exclude', '--exclude-dir', '-d', '-D', '--color', '--colour', '-g', '--glob', '-t', '--type', '-T', '--label'] }, T);
names('base64 base32 basenc', { kind: 'transform', handler: 'base64', val: ['-w', '--wrap'] }, T);
names('xxd', { kind: 'transform', handler: 'xxd', val: ['-c', '-g', '-l', '-s', '-o', '-n', '-C'] }, T);
names('od hexdump hd', { kind: 'transform', pos: 'read', val: ['-A', '-t', '-N', '-j', '-w', '-e', '-f', '-n', '-s'] }, T);
names('gzip gunzip bzip2 bunzip2 xz unxz lzma unlzma zstd unzstd lz4 unlz4 lzop brotli compress uncompress pigz pbzip2', { kind: 'transform', handler: 'compress', val: ['-S', '--suffix', '-o', '--output', '-T', '--threads', '-b', '-L', '-#'] }, T);
names('openssl', { kind: 'transform', handler: 'openssl' }, T);
names('gpg gpg2', { kind: 'transform', handler: 'gpg', val: ['-o', '--output', '-r', '--recipient', '-u', '--local-user', '--homedir', '--passphrase', '--keyserver', '--recv-keys'] }, T);
names('age', { kind: 'transform', pos: 'read', val: ['-o', '--output', '-r', '-R', '-i'], writes: ['-o', '--output'] }, T);
names('tar bsdtar gtar', { kind: 'writer', handler: 'tar', val: ['-f', '--file', '-C', '--directory', '-I', '--use-compress-program', '-T', '--files-from', '-X', '--exclude-from', '--exclude', '-b', '-H', '--format', '-V', '--label', '-g', '--listed-incremental', '--transform', '--xform', '--rsh-command', '--to-command', '--checkpoint-action', '--owner', '--group', '--mode', '--strip-components', '-K', '-N', '--newer', '--info-script', '-F', '--new-volume-script'], execs: ['-I', '--use-compress-program', '--rsh-command', '--to-command', '--info-script', '-F', '--new-volume-script'] }, T);
names('zip', { kind: 'writer', handler: 'zip', val: ['-TT', '--unzip-command', '-P', '--password', '-x', '-i', '-b', '-n', '-t', '-tt', '-O', '--output-file'], execs: ['-TT', '--unzip-command'] }, T);
names('unzip 7z 7za 7zr arj rar unrar cpio pax ar lha zipinfo', { kind: 'writer', handler: 'archive', val: ['-d', '-x', '-P', '-p', '-o', '-i', '-w', '-F', '-H', '-s', '-t', '-f', '-E', '-R', '-D', '--directory', '--file'] }, T);

// --- metadata-only / harmless ---
names('ls dir vdir stat realpath readlink basename dirname du df lsattr namei test [ which type whereis hash pwd true false : sleep wait id whoami groups logname users who w last lastlog uptime uname hostname hostnamectl date cal bc dc expr seq yes printenv locale tty nproc free vmstat iostat mpstat lscpu lsblk lsusb lspci lsmod arch getconf ulimit umask jobs fg bg help tput clear reset stty sync true mktemp cd pushd popd dirs shopt bind complete compgen read mapfile readarray getopts shift return exit break continue let local declare typeset export readonly unalias tree fd locate mlocate plocate ps pgrep pstree top htop btop atop free pidof lsof ss netstat ip ifconfig route arp tput gettext ngettext envsubst', { kind: 'meta', pos: 'meta' }, T);
names('echo printf', { kind: 'producer', pos: 'data' }, T);
names('man', { kind: 'pager', pos: 'read', val: ['-H', '-P', '--pager', '--html', '-M', '-S', '-L', '-C', '-m', '-p', '-E', '-R'], execs: ['-H', '-P', '--pager', '--html'] }, T);
names('less more most pg', { kind: 'pager', pos: 'read', val: ['-p', '--pattern', '-t', '--tag', '-x', '--tabs', '-y', '-z', '-b', '-h', '-j', '-k', '-o', '-O', '-P', '-T'] }, T);
names('tee', { kind: 'writer', handler: 'tee', val: [] }, T);
names('touch mkdir mkfifo mknod', { kind: 'writer', pos: 'write', val: ['-m', '--mode', '-d', '--date', '-r', '--reference', '-t', '-Z', '--context'] }, T);
names('cp mv install ln link gcp', { kind: 'writer', handler: 'copy', val: ['-t', '--target-directory', '-S', '--suffix', '-m', '--mode', '-o', '--owner', '-g', '--group', '--backup', '--reflink', '--sparse', '--preserve', '--no-preserve', '-Z', '--context'] }, T);
names('dd', { kind: 'writer', handler: 'dd' }, T);
names('truncate', { kind: 'writer', handler: 'truncate', val: ['-s', '--size', '-r', '--reference', '-o'] }, T);
names('rm unlink rmdir shred srm wipe', { kind: 'writer', handler: 'rm', val: ['-n', '--iterations', '-s', '--size', '--random-source', '--interactive'] }, T);
names('chmod', { kind: 'meta', handler: 'chmod', val: ['--reference'] }, T);
names('chown chgrp', { kind: 'meta', handler: 'chown', val: ['--reference', '--from'] }, T);
names('chattr', { kind: 'meta', handler: 'chattr', val: ['-v', '-p'] }, T);
names('setfacl', { kind: 'meta', handler: 'chown', val: ['-m', '-M', '-x', '-X', '--modify', '--set'] }, T);
names('setcap', { kind: 'meta', handler: 'setcap' }, T);
names('getcap', { kind: 'meta', handler: 'getcap' }, T);
names('find gfind bfs', { kind: 'search', handler: 'find' }, T);

// --- network ---
names('curl', { kind: 'net', handler: 'curl' }, T);
names('wget wget2', { kind: 'net', handler: 'wget' }, T);
names('http https xh httpie', { kind: 'net', handler: 'httpie' }, T);
names('aria2c axel', { kind: 'net', handler: 'fetcher', val: ['-o', '-d', '--out', '--dir', '-i', '--input-file'] }, T);
names('nc ncat netcat nc.openbsd nc.traditional pwncat', { kind: 'net', handler: 'nc' }, T);
names('socat', { kind: 'net', handler: 'socat' }, T);
names('telnet', { kind: 'net', handler: 'telnet' }, T);
names('ssh dbclient', { kind: 'net', handler: 'ssh', val: ['-b', '-c', '-D', '-E', '-e', '-F', '-I', '-i', '-J', '-L', '-l', '-m', '-O', '-o', '-p', '-Q', '-R', '-S', '-W', '-w', '-B'] }, T);
names('scp', { kind: 'net', handler: 'scp', val: ['-c', '-F', '-i', '-J', '-l', '-o', '-P', '-S', '-X'] }, T);
names('sftp', { kind: 'net', handler: 'sftp', val: ['-b', '-B', '-c', '-D', '-F', '-i', '-J', '-l', '-o', '-P', '-R', '-S', '-s', '-X'] }, T);
names('rsync', { kind: 'net', handler: 'rsync', val: ['-e', '--rsh', '--rsync-path', '--exclude', '--include', '--exclude-from', '--include-from', '--filter', '-f', '--files-from', '--chmod', '--chown', '--log-file', '--password-file', '-T', '--temp-dir', '--backup-dir', '--suffix', '--compare-dest', '--link-dest', '--copy-dest', '--timeout', '--port', '--bwlimit', '--partial-dir', '--out-format', '--max-size', '--min-size'], execs: ['-e', '--rsh', '--rsync-path'] }, T);
names('ftp tftp lftp ncftp ncftpput ncftpget smbclient rclone gsutil azcopy s3cmd mc', { kind: 'net', handler: 'transfer' }, T);
names('ping ping6 traceroute traceroute6 tracepath mtr dig nslookup host drill whois', { kind: 'net', handler: 'dns' }, T);
names('finger', { kind: 'net', handler: 'finger' }, T);
names('nmap masscan zmap rustscan unicornscan hping3 arp-scan netdiscover nikto gobuster dirb ffuf wfuzz sqlmap hydra medusa john hashcat', { kind: 'net', always: [e('recon', 'medium', 'network/credential scanning or cracking tool')] }, T);
names('tcpdump tshark wireshark dumpcap ettercap bettercap dsniff ngrep', { kind: 'net', handler: 'sniffer', val: ['-i', '-c', '-w', '-r', '-s', '-C', '-G', '-W', '-z', '-Z', '-F', '-B', '-E', '-M', '-y'], execs: ['-z'], writes: ['-w'] }, T);
names('ngrok cloudflared devtunnel chisel frpc frps bore lt localtunnel iodine dnscat dnscat2 ptunnel sshuttle gost tor inlets zrok pinggy', { kind: 'net', handler: 'tunnel', val: ['--ssh-cmd', '-e', '-r', '--remote'], execs: ['--ssh-cmd', '-e'] }, T);
names('mail mailx sendmail mutt msmtp s-nail', { kind: 'net', handler: 'mail', val: ['-s', '-a', '-A', '-r', '-c', '-b', '-S', '-E', '--exec', '-q'], execs: ['--exec'] }, T);
names('lp lpr', { kind: 'net', pos: 'read', val: ['-h', '-H', '-d', '-P', '-n', '-o', '-t', '-U'] }, T);
names('ldapsearch ldapadd ldapmodify ldapdelete', { kind: 'net', handler: 'ldap', val: ['-H', '-h', '-D', '-w', '-f', '-b', '-s', '-x', '-y'] }, T);
names('gh', { kind: 'net', handler: 'gh' }, T);
names('git', { kind: 'net', handler: 'git' }, T);
names('docker podman nerdctl', { kind: 'cloud', handler: 'docker' }, T);
names('kubectl oc k3s microk8s', { kind: 'cloud', handler: 'kubectl' }, T);
names('helm', { kind: 'cloud', handler: 'helm' }, T);
names('aws gcloud az doctl oci heroku flyctl fly vercel netlify linode-cli hcloud exo scw ibmcloud aliyun', { kind: 'cloud', handler: 'cloud' }, T);
names('terraform tofu pulumi terragrunt cdk', { kind: 'cloud', handler: 'iac' }, T);
names('code code-insiders', { kind: 'editor', handler: 'vscode' }, T);

// --- system administration ---
names('crontab', { kind: 'sys', handler: 'crontab', val: ['-u'] }, T);
names('at batch', { kind: 'sys', always: [e('write-persistence', 'high', 'schedules a job with at (runs later, outside the session)')] }, T);
names('systemctl service', { kind: 'sys', handler: 'systemctl' }, T);
names('launchctl', { kind: 'sys', always: [e('write-persistence', 'high', 'launchctl loads launch agents/daemons')] }, T);
names('useradd adduser pw luseradd newusers', { kind: 'sys', always: [e('write-persistence', 'high', 'creates a user account (backdoor account persistence)')] }, T);
names('usermod gpasswd', { kind: 'sys', handler: 'usermod', val: ['-g', '-G', '-a', '-s', '-d', '-u', '-l', '-c', '-e', '-f', '-p', '-L', '-U', '-o'] }, T);
names('userdel deluser groupdel', { kind: 'sys', always: [e('destroy', 'high', 'deletes a user or group account')] }, T);
names('groupadd addgroup', { kind: 'sys', always: [e('system-modify', 'medium', 'creates a group')] }, T);
names('passwd chpasswd chage', { kind: 'sys', always: [e('privilege-escalation', 'high', 'changes account passwords')] }, T);
names('chsh chfn', { kind: 'sys', always: [e('write-persistence', 'medium', "changes an account's login shell or details")] }, T);
names('visudo', { kind: 'sys', always: [e('privilege-escalation', 'high', 'edits sudo rules')] }, T);
names('mount', { kind: 'sys', handler: 'mount', val: ['-t', '-o', '-L', '-U', '--bind', '--rbind', '-B', '-M', '--move'] }, T);
names('umount', { kind: 'sys', always: [e('system-modify', 'medium', 'unmounts a filesystem')] }, T);
names('insmod modprobe rmmod kmod depmod', { kind: 'sys', handler: 'kmod' }, T);
names('sysctl', { kind: 'sys', handler: 'sysctl', val: ['-p', '--load', '-f'] }, T);
names('mkfs mkfs.ext2 mkfs.ext3 mkfs.ext4 mkfs.xfs mkfs.btrfs mkfs.vfat mkfs.fat mkfs.ntfs mkfs.f2fs mke2fs mkswap mkdosfs mkntfs wipefs blkdiscard', { kind: 'sys', handler: 'mkfs' }, T);
names('fdisk sfdisk cfdisk gdisk sgdisk parted partprobe hdparm cryptsetup lvremove vgremove pvremove zpool', { kind: 'sys', handler: 'partition' }, T);
names('shutdown reboot halt poweroff init telinit', { kind: 'sys', handler: 'power' }, T);
names('kill pkill killall skill slay xkill', { kind: 'sys', handler: 'kill', val: ['-s', '--signal', '-n', '-u', '-U', '-g', '-G', '-P', '-t', '-F'] }, T);
names('journalctl', { kind: 'sys', handler: 'journalctl' }, T);
names('auditctl', { kind: 'sys', handler: 'auditctl' }, T);
names('setenforce', { kind: 'sys', always: [e('security-tampering', 'high', 'changes SELinux enforcement')] }, T);
names('aa-disable aa-teardown aa-complain apparmor_parser', { kind: 'sys', always: [e('security-tampering', 'high', 'disables or changes AppArmor confinement')] }, T);
names('ufw iptables ip6tables iptables-restore nft firewall-cmd ebtables', { kind: 'sys', handler: 'firewall' }, T);
names('logger', { kind: 'sys', pos: 'none', val: ['-t', '--tag', '-p', '--priority', '-f', '--file', '-n', '--server', '-P', '--port', '-u', '--socket'], reads: ['-f', '--file'] }, T);
names('sshfs', { kind: 'net', handler: 'sshfs' }, T);
// Programs that run a filter/command they are given (gettext's msgfilter/msgexec).
names('screen', { kind: 'wrapper', handler: 'screen', val: ['-S', '-c', '-t', '-p', '-X', '-Logfile', '-h', '-e', '-T', '-s'] }, T);
names('tmux', { kind: 'wrapper', handler: 'tmux' }, T);
names('zcat gzcat bzcat xzcat zstdcat lz4cat', { kind: 'transform', handler: 'compress', val: ['-S', '--suffix'] }, T);
names('msgfilter msgexec', { kind: 'wrapper', handler: 'wrapper', val: ['-i', '--input', '-o', '--output-file', '-D', '--directory', '-w', '--width'] }, T);
names('gcore', { kind: 'sys', always: [e('read-secret', 'high', "gcore dumps a process's memory (secrets in it included)")] }, T);
names('pax', { kind: 'writer', handler: 'archive', val: ['-f', '-s', '-o', '-x', '-b', '-B', '-G', '-U', '-T'] }, T);
names('ztcp', { kind: 'net', handler: 'ztcp' }, T);
names('printenv', { kind: 'meta', handler: 'env' }, T);
names('httpd lighttpd darkhttpd mini_httpd thttpd webfsd', { kind: 'net', handler: 'httpd', val: ['-p', '--port', '-h', '-d', '--root', '-r', '-c', '-u', '-f'] }, T);
names('ip', { kind: 'meta', handler: 'ip' }, T);
names('ss', { kind: 'meta', pos: 'meta', val: ['-F', '--filter', '-f', '--family', '-A', '--query'], reads: ['-F', '--filter'] }, T);
names('shuf', { kind: 'reader', pos: 'read', val: ['-n', '--head-count', '-o', '--output', '--random-source', '-i', '--input-range'], writes: ['-o', '--output'] }, T);
names('rake', { kind: 'interp', handler: 'interp', code: ['-e', '--execute', '-p', '--execute-print', '-E', '--execute-continue'], lang: 'ruby', val: ['-f', '--rakefile', '-C', '--directory', '-I', '--libdir', '-r', '--require'] }, T);
names('rview vimdiff', { kind: 'editor', handler: 'vim', val: ['-c', '--cmd', '-S', '-u', '-U', '-i', '-T', '-w', '-W', '-s'] }, T);
names('zmodload', { kind: 'meta', pos: 'meta' }, T);
names('tex latex pdftex pdflatex xetex xelatex luatex lualatex etex context', { kind: 'interp', handler: 'tex', lang: 'tex' }, T);
names('history', { kind: 'sys', handler: 'history' }, T);
names('ldconfig', { kind: 'sys', always: [e('system-modify', 'medium', 'rebuilds the dynamic linker cache')] }, T);
names('update-alternatives', { kind: 'sys', always: [e('system-modify', 'medium', 'changes system default programs')] }, T);
names('swapoff swapon', { kind: 'sys', always: [e('system-modify', 'medium', 'changes system swap')] }, T);
names('hostnamectl-set timedatectl localectl', { kind: 'sys', always: [e('system-modify', 'medium', 'changes system settings')] }, T);
names('sudoedit', { kind: 'sys', always: [e('privilege-escalation', 'high', 'edits a file as root')] }, T);
names('getent', { kind: 'meta', handler: 'getent' }, T);
names('ssh-keygen', { kind: 'sys', pos: 'none', val: ['-f', '-t', '-b', '-C', '-N', '-P', '-s', '-I', '-n', '-V', '-z', '-R', '-F', '-E', '-O', '-Y'] }, T);
names('ssh-copy-id', { kind: 'net', always: [e('write-persistence', 'high', 'installs an SSH key on a remote host (authorized_keys)')] }, T);
names('ssh-add', { kind: 'sys', pos: 'none' }, T);
names('ssh-keyscan', { kind: 'net', always: [e('recon', 'low', 'collects SSH host keys')] }, T);
names('trap', { kind: 'sys', handler: 'trap' }, T);
names('source .', { kind: 'shell', handler: 'source' }, T);
names('eval', { kind: 'shell', handler: 'eval' }, T);
names('exec', { kind: 'wrapper', handler: 'exec', val: ['-a'] }, T);
names('command builtin', { kind: 'wrapper', handler: 'command' }, T);
names('alias', { kind: 'sys', handler: 'alias' }, T);
names('set', { kind: 'sys', handler: 'set' }, T);
names('unset', { kind: 'sys', handler: 'unset' }, T);
names('linpeas linpeas.sh linenum linenum.sh LinEnum.sh lse.sh les.sh linux-exploit-suggester pspy pspy64 pspy32 unix-privesc-check mimipenguin mimipenguin.sh lazagne laZagne.py AutoSUID.sh', { kind: 'benign', always: [e('recon', 'high', 'privilege-escalation / credential enumeration tool')] }, T);
names('xmrig xmr-stak minerd cpuminer cgminer bfgminer ethminer nbminer t-rex lolminer phoenixminer ccminer nanominer teamredminer srbminer xmrig-notls', { kind: 'benign', always: [e('resource-abuse', 'critical', 'cryptocurrency miner')] }, T);
names('stress stress-ng', { kind: 'benign', always: [e('resource-abuse', 'medium', 'load generator: exhausts CPU/memory')] }, T);
names('stratus', { kind: 'cloud', always: [e('security-tampering', 'high', 'cloud attack-simulation tool (detonates attack techniques)')] }, T);
names('ansible ansible-playbook ansible-test salt puppet chef-client', { kind: 'sys', handler: 'generic-exec' }, T);
names('gcc cc clang g++ c++ tcc as ld rustc tsc javac go-build', { kind: 'build', handler: 'compiler', val: ['-o', '--outFile', '--outDir', '-x', '-I', '-L', '-l', '-D', '-U', '-include', '-wrapper', '-B', '--project', '-p', '-std', '-M', '-MF', '-e'], writes: ['-o', '--outFile', '-MF'], execs: ['-wrapper'] }, T);

/** Options whose value, by name, is a command some program will run (`--password-command=...`). */
export const EXEC_OPTION_RE = /^-{1,2}(?:[\w-]*(?:command|cmd|exec|execute|shell|script|hook|wrapper|editor|pager|program|prog|rsh|ssh|helper|filter|action|runner|interpreter|launcher|viewer|browser|proxy-?command)[\w-]*|z|e)$/i;
/** Environment variables that name a program something will run. */
export const EXEC_ENV_RE = /^(?:PAGER|MANPAGER|GIT_PAGER|EDITOR|VISUAL|GIT_EDITOR|SUDO_EDITOR|SHELL|GIT_SSH|GIT_SSH_COMMAND|GIT_ASKPASS|SSH_ASKPASS|SUDO_ASKPASS|BROWSER|PERL5DB|PERL5OPT|RUBYOPT|NODE_OPTIONS|PYTHONSTARTUP|PYTHONINSPECT|BASH_ENV|ENV|PROMPT_COMMAND|PS[0-4]|[A-Z0-9_]*(?:_COMMAND|_CMD|_EXEC|_PROGRAM|_SHELL|_HELPER|_WRAPPER)|AUTOM4TE|AUTOCONF|M4|CC|CXX|LD|AR|MAKE|TAR|PKG_CONFIG|LESSOPEN|LESSCLOSE|FCEDIT|TERMINAL)$/;
/** Environment variables that inject code into every process started. */
export const INJECT_ENV_RE = /^(?:LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|DYLD_INSERT_LIBRARIES|DYLD_LIBRARY_PATH|PYTHONPATH|PERL5LIB|RUBYLIB|NODE_PATH|GCONV_PATH|BASH_FUNC_[\w%]+)$/;

export const SHELL_NAMES = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'yash', 'posh', 'rbash', 'csh', 'tcsh', 'fish', 'elvish', 'xonsh', 'lksh', 'pdksh', 'busybox', 'nu', 'pwsh']);

export const PROTECTED_BRANCHES_DEFAULT = ['main', 'master', 'trunk', 'develop', 'development', 'production', 'prod', 'release', 'release/*', 'stable', 'live', 'gh-pages'];

/**
 * Discovery commands: harmless alone (an agent runs them all the time), but remembered as the first
 * step of a recon -> persistence / privilege-escalation chain.
 */
export const RECON_PROGRAMS: ReadonlySet<string> = new Set([
  'id', 'whoami', 'uname', 'hostname', 'hostnamectl', 'groups', 'w', 'who', 'last', 'lastlog', 'users', 'ps', 'pstree', 'netstat',
  'ss', 'ip', 'ifconfig', 'route', 'arp', 'lsmod', 'lscpu', 'lsblk', 'lsusb', 'lspci', 'getent', 'printenv', 'env', 'dmesg',
]);

/** The table, frozen. */
export const BINARIES: Readonly<Record<string, BinSpec>> = Object.freeze(T);

/** System directories a bare program name resolves to, in PATH order (for glob resolution). */
export const SYSTEM_BIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Paths of system binaries, for resolving globbed program paths (`/???/b??/r?`) without touching the
 * filesystem: every table name under every system dir, deterministic and machine-independent.
 */
export function systemBinaryPaths(): readonly string[] {
  return SYSTEM_BINARY_PATHS;
}

const SYSTEM_BINARY_PATHS: readonly string[] = Object.freeze(
  Object.keys(T)
    .filter((name) => /^[\w.+-]+$/.test(name))
    .flatMap((name) => SYSTEM_BIN_DIRS.map((d) => `${d}/${name}`)),
);
