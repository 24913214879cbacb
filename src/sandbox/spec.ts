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
  | 'env';

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
   * Symlinks to recreate in the sandbox root, e.g. `/bin -> usr/bin` on merged-/usr systems (the
   * targets themselves must be granted separately). Links inside a granted directory need not
   * be listed: the bind mount shows them.
   */
  symlinks?: Array<{ path: string; target: string }>;
  /** The command's environment, exactly (nothing is inherited). */
  env: Record<string, string>;
  limits: SandboxLimits;
  /** TCP ports the sandbox may connect to (Landlock ABI >= 4). Empty for now: the egress relay comes later. */
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
  /** Test hook: use the mount(2) remount path even where mount_setattr exists. */
  legacyMount?: boolean;
}
