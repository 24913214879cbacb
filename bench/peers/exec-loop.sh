#!/usr/bin/env bash
# Exec-heavy workload, side by side: a shell loop of N (default 1,000) `/bin/true` execs, run
# unsandboxed, inside `warden run`, srt, codex sandbox and plain bwrap, in ROUNDS rounds of every
# command (lib.sh hyperfine_rounds), so a slow stretch of a shared VM hits every row alike.
#
#   bench/peers/setup.sh            # once
#   bench/peers/exec-loop.sh        # env: N (1000), RUNS (10), ROUNDS (5), WARMUP (1), PEERS_DIR, OUT, NO_STARTUP=1
#
# Budget (DESIGN.md §5): the loop inside warden <= 1.15x the same loop unsandboxed, every exec
# mediated and audited. The first table's ratio includes each tool's own start-up (and end); to
# split that off, every sandbox also runs the same `sh -c` with a 0-iteration loop ("[startup]"
# rows), and the second table gives (loop - startup) / N per exec, against the unsandboxed loop's
# own per-exec cost: the loop itself, which the budget is judged on (start-up has its own budget,
# cold-start.sh).
# After the run, one more warden run of the loop counts its audit records (a mediated, audited
# exec shows up there; a loop of N execs that leaves a handful of records was not mediated).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${N:-1000}"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-1}"

check_prereqs
make_scratch
mkdir -p "$RESULTS_DIR"
OUT="${OUT:-$RESULTS_DIR/exec-loop-$(date -u +%Y%m%dT%H%M%SZ).json}"
cd "$WORKSPACE"

loop() { echo "i=0; while [ \$i -lt $1 ]; do /bin/true; i=\$((i+1)); done"; }
LOOP="$(loop "$N")"
LOOP0="$(loop 0)"

q() { printf '%q ' "$@"; }
names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$(q "$@")"); smoke "${names[-1]}" "$@"; }

# Each sandbox as a prefix; the inner command is always `sh -c LOOP`.
declare -A PREFIX
order=("warden run" "srt" "codex sandbox")
# As installed (the bin executed as a program, like the peers' own bins; see cold-start.sh).
PREFIX["warden run"]="$(q "$WARDEN_JS" run --)"
PREFIX["srt"]="$(q "$SRT" --settings "$SRT_SETTINGS")"
PREFIX["codex sandbox"]="$(q "$CODEX" "${CODEX_SANDBOX_ARGS[@]}")"
if native="$(codex_native)"; then
  order+=("codex sandbox (native)")
  PREFIX["codex sandbox (native)"]="$(q "$native" "${CODEX_SANDBOX_ARGS[@]}")"
fi
order+=("bwrap --unshare-all")
PREFIX["bwrap --unshare-all"]="$(q bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all)"

add "unsandboxed" sh -c "$LOOP"
for name in "${order[@]}"; do
  eval "pre=(${PREFIX[$name]})"
  add "$name" "${pre[@]}" sh -c "$LOOP"
done
if [[ "${NO_STARTUP:-}" != 1 ]]; then
  add "unsandboxed [startup]" sh -c "$LOOP0"
  for name in "${order[@]}"; do
    eval "pre=(${PREFIX[$name]})"
    add "$name [startup]" "${pre[@]}" sh -c "$LOOP0"
  done
fi

args=(-N --style basic)
for i in "${!names[@]}"; do args+=(--command-name "${names[$i]}" "${cmds[$i]}"); done

machine_info start
hyperfine_rounds "$OUT" "${args[@]}"
machine_info end

# What warden recorded for one loop of N execs (fresh WARDEN_HOME so the count is this run's alone).
AUDIT_HOME="$SCRATCH/warden-home-audit"
mkdir -p "$AUDIT_HOME"
WARDEN_HOME="$AUDIT_HOME" "$WARDEN_JS" run -- sh -c "$LOOP" </dev/null
records=$(cat "$AUDIT_HOME"/state/audit/*/*.jsonl 2>/dev/null | wc -l)
echo "warden audit: $records records for one run of $N execs$( ((records < N)) && echo ' -- fewer than N: the execs were NOT individually mediated/audited in this build')"
echo "results: $OUT"
echo
node "$PEERS_SCRIPT_DIR/table.mjs" "$OUT" "unsandboxed" --budget 1.15 --per-exec "$N"
