#!/usr/bin/env bash
# Cold start, side by side: `warden run -- true` against the peers running the same `true`, in one
# hyperfine invocation (no intermediate shell, -N), so the rows share the machine's state.
#
#   bench/peers/setup.sh            # once: hyperfine, bubblewrap, socat, ripgrep, srt, codex
#   bench/peers/cold-start.sh       # env: RUNS (default 20), ROUNDS (5), WARMUP (3), PEERS_DIR, OUT
#
# Budget (DESIGN.md §5): warden run -- true, cold, <= 80 ms median.
# The runs are made in ROUNDS rounds of every command (lib.sh hyperfine_rounds), so a slow stretch
# of a shared VM hits every row alike.
# "Cold" is a new process every run. Warden keeps a V8 code cache of its run bundle in its state
# directory (bin/warden.cjs), filled by the first run (here: the warm-up); the row "warden run (no
# code cache)" deletes it before every run, so it shows a first run after install or upgrade.
# Warden runs as installed: bin/warden.cjs executed as a program (npm's bin link), like the peers'
# own bins. NODE_EXTRA_CA_CERTS matters here: Node parses that file at start-up before any
# JavaScript runs (~45 ms on the development VM, where it is set globally). The bin hands it over
# past Node for `warden run` (bin/warden.cjs), so the row "warden run (node bin/warden.cjs)" shows
# what a plain `node` start costs in the same environment; srt and the codex shim pay it. Run the
# script again under `env -u NODE_EXTRA_CA_CERTS` for the rows without it.
# Writes the hyperfine JSON to bench/peers/results/cold-start-<UTC time>.json (or $OUT) and prints
# a table with each row's ratio to warden.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS="${RUNS:-20}"
WARMUP="${WARMUP:-3}"
((RUNS >= 20)) || echo "cold-start: RUNS=$RUNS is below the 20 the figures are quoted with" >&2

check_prereqs
make_scratch
mkdir -p "$RESULTS_DIR"
OUT="${OUT:-$RESULTS_DIR/cold-start-$(date -u +%Y%m%dT%H%M%SZ).json}"
cd "$WORKSPACE"

q() { printf '%q ' "$@"; }   # hyperfine -N splits its command like a POSIX shell would

names=() cmds=() preps=()
add() { names+=("$1"); shift; cmds+=("$(q "$@")"); preps+=("${PREP:-true}"); smoke "${names[-1]}" "$@"; }

WARDEN_BIN="$REPO_ROOT/bin/warden.cjs"
add "warden run"              "$WARDEN_BIN" run -- true
PREP="$(q rm -rf "$WARDEN_HOME/state/cache/code")" \
add "warden run (no code cache)" "$WARDEN_BIN" run -- true
add "warden run (node bin/warden.cjs)" node "$WARDEN_BIN" run -- true
add "srt"                     "$SRT" --settings "$SRT_SETTINGS" true
add "codex sandbox"           "$CODEX" "${CODEX_SANDBOX_ARGS[@]}" true
if native="$(codex_native)"; then
  add "codex sandbox (native)" "$native" "${CODEX_SANDBOX_ARGS[@]}" true
fi
add "bwrap --unshare-all"     bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all true
add "node -e 0"               node -e 0

args=(-N --style basic)
for i in "${!names[@]}"; do args+=(--prepare "${preps[$i]}"); done
for i in "${!names[@]}"; do args+=(--command-name "${names[$i]}" "${cmds[$i]}"); done

machine_info start
echo "NODE_EXTRA_CA_CERTS: ${NODE_EXTRA_CA_CERTS-unset}"
hyperfine_rounds "$OUT" "${args[@]}"
machine_info end
echo "results: $OUT"
echo
node "$PEERS_SCRIPT_DIR/table.mjs" "$OUT" "warden run"
