/**
 * What the caller (policy → spec mapping, tests) asks of the sandbox. A spec is declarative and
 * already resolved: every path is absolute, normalised and free of symlinks (the caller ran
 * realpath; see `resolveHostPaths` in host-paths.ts for the I/O part). `buildPlan` turns a spec and
 * a probe of the kernel into a `Plan`; it refuses anything ambiguous rather than guessing.
 */

/** Layers the helper reports on the status channel. */
export type LayerName =
  | 'userns'
  | 'mountns'
  | 'pidns'
  | 'netns'
  | 'ipcns'
  | 'utsns'
  | 'landlock'
  | 'seccomp'
  | 'caps'
  | 'nnp'
  | 'rlimits'
  | 'pidmax'
  | 'cgroup'
  | 'fds'
  | 'env'
  | 'egress';

/**
 * Layers that `--allow-degraded` may name. The namespaces, capability drop, no_new_privs, fd and
 * env hygiene cannot be degraded: without them nothing else holds.
 */
export const DEGRADABLE_LAYERS = ['landlock', 'seccomp', 'pidmax', 'cgroup'] as const;
export type DegradableLayer = (typeof DEGRADABLE_LAYERS)[number];

export interface SandboxLimits {
  /** Total memory of the sandboxed tree, bytes. cgroup memory limit where delegable, else RLIMIT_DATA per process. */
  memoryBytes?: number;
  /** Max tasks (processes + threads). cgroup pids.max where delegable, plus RLIMIT_NPROC and the per-pid-namespace pid_max floor. */
  pids?: number;
  /** CPU bandwidth in cores (e.g. 1.5). cgroup cpu quota only; without cgroups it is not enforced (reported in plan notes). */
  cpu?: number;
  /** CPU seconds per process (RLIMIT_CPU; SIGXCPU then SIGKILL). */
  cpuSeconds?: number;
  /** Max open file descriptors per process (RLIMIT_NOFILE). */
  nofile?: number;
  /** Max size of a file a process may write, bytes (RLIMIT_FSIZE; SIGXFSZ beyond). */
  fsizeBytes?: number;
  /** Size of the private /tmp and /dev/shm tmpfs, bytes (default 512 MiB each). */
  tmpBytes?: number;
}

export interface SandboxSpec {
  /** The project directory: an existing directory, mounted read-write at the same path. */
  workspace: string;
  /** Readable and executable (read_file | read_dir | execute), mounted read-only at the same path. */
  readPaths: string[];
  /** Readable, writable and executable (every Landlock right), mounted read-write at the same path. */
  writePaths: string[];
  /**
   * Never accessible; overrides read/write. A denied path inside a read/write path is masked (an
   * empty read-only tmpfs for a directory, an empty unreadable file otherwise); read/write paths
   * at or under a denied path are dropped. Deny paths that do not exist at launch are skipped.
   */
  denyPaths: string[];
  /**
   * "Ask" zones (`filesystem.ask`): masked at the floor exactly like `denyPaths`; with
   * `mediateExec` every open(2) family call whose path lies in one traps to the helper, which
   * asks the supervisor and, on yes, opens the host file itself and injects the fd (ADDFD). Paths
   * that do not exist yet are allowed (nothing to mask; opens are still trapped).
   */
  askPaths?: string[];
  /**
   * Other names of ask zones — reached through a symlink (outside every write grant), or where
   * nothing can be masked now (a file or an unreadable directory on the way): opens by these names
   * are trapped and asked like opens in `askPaths`, but they are not masked (the helper's
   * no-symlink walk would refuse them; a zone's real location, where there is one, is in
   * `askPaths`).
   */
  askAliases?: string[];
  /**
   * Private directories (`filesystem.private`): copy-on-write over the host's directory at that
   * path — its files readable, every change in a tmpfs of the sandbox's own for the session (size
   * `limits.tmpBytes`), gone at the end; an empty tmpfs where the host has no directory there
   * (reached without symlinks). The host's directory is never changed. Threat: a cache a host tool later trusts (npx's,
   * corepack's, pre-commit's, a build cache) is a way out of the sandbox by persistence, like
   * ~/.bashrc; a private one is not. Named literally, not resolved: the sandbox sees it where
   * its tools look. Deny, or a grant of the same path, overrides it; a grant inside one shows the
   * host's again; in a read-only grant it must already exist (its mount point cannot be made).
   */
  privatePaths?: string[];
  /**
   * Paths whose place must not move during the session (existing ones: literal deny and ask
   * paths, the policy file, Warden's package): every directory between one of them and the write
   * grant holding it is bound onto itself, so the agent can neither rename nor remove it, and the
   * next session still finds the path where it names it. Glob matches need none: they are
   * expanded again at every start.
   */
  pinned?: string[];
  /**
   * Warden's own directories as they resolve on the host (WARDEN_HOME may be named through a
   * symlink): checked like their names against every grant.
   */
  ownPaths?: string[];
  /**
   * Symlinks to recreate in the sandbox root, e.g. `/bin -> usr/bin` on merged-/usr systems (the
   * targets themselves must be granted separately). Links inside a granted directory need not
   * be listed: the bind mount shows them.
   */
  symlinks?: Array<{ path: string; target: string }>;
  /** The command's environment, exactly (nothing is inherited). */
  env: Record<string, string>;
  limits: SandboxLimits;
  /** TCP ports the sandbox may connect to (Landlock ABI >= 4); the egress relay's ports are added by `egress`. */
  tcpConnectPorts: number[];
  /** TCP ports the sandbox may bind (Landlock ABI >= 4). Default none. */
  tcpBindPorts?: number[];
  /** Layers that may be missing or weaker than planned; the run reports them as degraded. */
  allowDegraded: Iterable<DegradableLayer>;
  /** The command and its arguments; argv[0] is looked up in env PATH when it has no '/'. */
  argv: string[];
  /** Working directory inside the sandbox; defaults to the workspace. */
  cwd?: string;
  /**
   * Start the command in a new session (setsid), default true: it then has no controlling
   * terminal and cannot inject keystrokes into the caller's terminal (TIOCSTI). Interactive use
   * may set false (job control needs the terminal); seccomp also blocks TIOCSTI/TIOCLINUX.
   */
  newSession?: boolean;
  /** Hostname in the UTS namespace (default "warden"). */
  hostname?: string;
  /** Minimum Landlock ABI (default 6: every right DESIGN.md §2 lists; raised to 4 if TCP ports are listed). */
  landlockMinAbi?: number;
  /** ABI >= 7: also log denials after exec to the kernel audit log (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON). */
  landlockAuditLog?: boolean;
  /**
   * The egress layer (DESIGN.md §2 L2): a relay in the sandbox's network namespace forwards TCP on
   * 127.0.0.1:`port` to the supervisor's proxy socket and DNS on 127.0.0.1:53 (UDP and TCP) to its
   * DNS stub socket. The plan then grants TCP connect to those two ports only, sets the proxy
   * variables (upper and lower case), and binds `resolvConf` (a host file saying
   * `nameserver 127.0.0.1`) read-only over `resolvConfAt` (default /etc/resolv.conf; the host's
   * symlink target when /etc/resolv.conf is a symlink). Without it the sandbox has no network.
   */
  egress?: SandboxEgress;
  /**
   * Live exec mediation (DESIGN.md §2 L1): execve/execveat trap to seccomp user-notify; the
   * helper's outer loop relays each one to the supervisor on fd 6 and applies its verdict.
   */
  mediateExec?: boolean;
  /** Test hook: use the mount(2) remount path even where mount_setattr exists. */
  legacyMount?: boolean;
}

export interface SandboxEgress {
  /** Absolute path of the supervisor's proxy unix socket (at most 107 bytes, no symlinks). */
  proxySocket: string;
  /** Absolute path of the supervisor's DNS stub stream socket (2-byte framed). */
  dnsSocket: string;
  /** The relay's TCP port inside the namespace (default 3128; the namespace is private). */
  port?: number;
  /** Host file bound read-only as the sandbox's resolv.conf. */
  resolvConf: string;
  /** Where it is bound inside (default /etc/resolv.conf). */
  resolvConfAt?: string;
}

/** The relay's fixed port inside the sandbox's private network namespace. */
export const EGRESS_PORT = 3128;
export const EGRESS_DNS_PORT = 53;

/** The proxy variables a sandbox with egress gets (upper and lower case). */
export function egressEnv(port: number = EGRESS_PORT): Record<string, string> {
  const http = `http://127.0.0.1:${port}`;
  const vars: Record<string, string> = {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    // The proxy sniffs SOCKS5 vs HTTP on the same port; socks5h = names resolved by the proxy.
    ALL_PROXY: `socks5h://127.0.0.1:${port}`,
    // The sandbox's own loopback stays direct (nothing there but the relay; TCP connect elsewhere
    // is denied by Landlock, so this fails fast rather than reaching the host's loopback).
    NO_PROXY: 'localhost,127.0.0.1,::1',
  };
  for (const [k, v] of Object.entries(vars)) vars[k.toLowerCase()] = v;
  return vars;
}
