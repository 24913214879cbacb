# Shared by bench/peers/*.sh (sourced, not run). Resolves paths, checks prerequisites, and builds
# the per-run scratch state: a workspace, a WARDEN_HOME, srt's settings file and a CODEX_HOME.
# shellcheck shell=bash

PEERS_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PEERS_SCRIPT_DIR/../.." && pwd)"
PEERS_DIR="${PEERS_DIR:-/tmp/warden-peers}"
RESULTS_DIR="${RESULTS_DIR:-$PEERS_SCRIPT_DIR/results}"
SRT="$PEERS_DIR/node_modules/.bin/srt"
CODEX="$PEERS_DIR/node_modules/.bin/codex"
WARDEN_JS="$REPO_ROOT/bin/warden.cjs"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# The native Codex binary behind the npm shim (bin/codex.js spawns it), for the "no node shim" row.
codex_native() {
  local arch triple
  case "$(uname -m)" in
    x86_64) arch=x64 triple=x86_64-unknown-linux-musl ;;
    aarch64) arch=arm64 triple=aarch64-unknown-linux-musl ;;
    *) return 1 ;;
  esac
  local b="$PEERS_DIR/node_modules/@openai/codex-linux-$arch/vendor/$triple/bin/codex"
  [[ -x "$b" ]] && echo "$b"
}

check_prereqs() {
  local missing=()
  [[ -f "$REPO_ROOT/dist/bundle/main.js" ]] || missing+=("dist/bundle/main.js")
  [[ -x "$REPO_ROOT/native/build/warden-helper" ]] || missing+=("native/build/warden-helper")
  if ((${#missing[@]})); then
    die "Warden is not built (missing: ${missing[*]}). Build it first: (cd $REPO_ROOT && npm ci && npm run build)"
  fi
  command -v hyperfine >/dev/null || die "hyperfine not found: run bench/peers/setup.sh"
  command -v bwrap >/dev/null || die "bwrap not found: run bench/peers/setup.sh"
  command -v socat >/dev/null || die "socat not found (srt needs it): run bench/peers/setup.sh"
  [[ -x "$SRT" ]] || die "srt not found under $PEERS_DIR: run bench/peers/setup.sh"
  [[ -x "$CODEX" ]] || die "codex not found under $PEERS_DIR: run bench/peers/setup.sh"
}

# Scratch state, removed on exit. Sets WORKSPACE, WARDEN_HOME, SRT_SETTINGS, CODEX_HOME.
make_scratch() {
  SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/warden-peers-bench.XXXXXX")"
  WORKSPACE="$SCRATCH/workspace"
  mkdir -p "$WORKSPACE" "$SCRATCH/warden-home"
  export WARDEN_HOME="$SCRATCH/warden-home"
  # srt: no network (empty allowlist: srt still starts its HTTP/SOCKS proxy and socat bridges),
  # writes only to the workspace (its cwd), reads everywhere except ~/.ssh.
  SRT_SETTINGS="$SCRATCH/srt-settings.json"
  cat >"$SRT_SETTINGS" <<'JSON'
{
  "network": { "allowedDomains": [], "deniedDomains": [] },
  "filesystem": { "denyRead": ["~/.ssh"], "allowRead": [], "allowWrite": ["."], "denyWrite": [] }
}
JSON
  # Codex refuses to create its arg0 helper links (codex-linux-sandbox) under the temp dir, and its
  # sandbox then fails with "execvp codex-linux-sandbox", so its home lives outside TMPDIR.
  export CODEX_HOME="${CODEX_BENCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/warden-bench/codex-home}"
  mkdir -p "$CODEX_HOME"
  trap 'rm -rf "$SCRATCH"' EXIT
}

# Codex sandbox flags: workspace-write (cwd and /tmp writable, rest read-only, no network),
# the closest match to srt's and Warden's defaults.
CODEX_SANDBOX_ARGS=(sandbox -c 'sandbox_mode="workspace-write"' --)

# Each peer once, to fail early (with its own message) rather than inside hyperfine.
smoke() {
  local name="$1"; shift
  local out
  if ! out="$("$@" 2>&1 </dev/null)"; then
    echo "$out" >&2
    die "$name failed its smoke run: $*"
  fi
}

# Prints the host and load average; at "end", also how the CPUs' time split since "start" (from
# /proc/stat): on a shared VM, "steal" is the time the hypervisor gave to other guests, which no
# load average shows and which stretches every row measured meanwhile.
machine_info() {
  echo "host: $(uname -srm), $(nproc) cpus, node $(node -v)"
  echo "load average at $1: $(cut -d' ' -f1-3 /proc/loadavg)"
  local now
  now="$(head -1 /proc/stat)"
  if [[ $1 == end && -n "${CPU_AT_START:-}" ]]; then
    echo "cpu time since start: $(cpu_split "$CPU_AT_START" "$now")"
  fi
  CPU_AT_START="$now"
}

# "user 41%, system 12%, idle 30%, iowait 1%, steal 16%" between two /proc/stat cpu lines.
cpu_split() {
  local -a a b
  read -r -a a <<<"$1"
  read -r -a b <<<"$2"
  local names=(user nice system idle iowait irq softirq steal) total=0 i out=()
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  ((total > 0)) || { echo "n/a"; return; }
  for i in 1 3 4 5 8; do out+=("${names[i - 1]} $(((b[i] - a[i]) * 100 / total))%"); done
  local IFS=,
  echo "${out[*]}" | sed 's/,/, /g'
}

# hyperfine in ROUNDS rounds (default 5), every command in every round, RUNS runs per command in
# all (split evenly, rounded up), each round after WARMUP warm-up runs; then the rounds merged into
# OUT (merge-rounds.mjs says why: a drifting VM otherwise slows some rows only).
#   hyperfine_rounds OUT HYPERFINE_ARGS...   (no --runs, --warmup or --export-json in them)
hyperfine_rounds() {
  local out="$1"; shift
  local rounds="${ROUNDS:-5}" r files=()
  ((rounds >= 1 && RUNS >= rounds)) || die "ROUNDS=$rounds must be between 1 and RUNS=$RUNS"
  local per=$(((RUNS + rounds - 1) / rounds))
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r of $rounds ($per runs per command)"
    files+=("$SCRATCH/round-$r.json")
    hyperfine --warmup "$WARMUP" --runs "$per" --export-json "${files[-1]}" "$@"
  done
  node "$PEERS_SCRIPT_DIR/merge-rounds.mjs" "$out" "${files[@]}"
}
