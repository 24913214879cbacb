#!/usr/bin/env bash
# Egress proxy throughput, side by side in one run: direct vs Warden (a real `warden run`: client in
# the sandbox -> relay -> proxy decides -> tunnel handed back to the relay) vs srt's proxy, measured
# by bench/egress/throughput.ts (the same client code per route, interleaved runs; see
# bench/egress/README.md).
#
#   bench/peers/setup.sh            # once
#   bench/peers/proxy.sh [extra throughput.ts args, e.g. --streams 4 --c-reference]
#   env: BYTES (default 1 GiB per run), RUNS (5), LATENCY_N (2000), PEERS_DIR, OUT
#
# srt's proxy is stood up by srt-proxy.mjs from srt's own modules (srt itself demands a
# per-session proxy credential that throughput.ts does not send); two srt routes:
#   srt proxy            the host-side mux + HTTP CONNECT proxy alone;
#   srt proxy + socat    srt's whole Linux path: in-sandbox socat -> unix socket -> host socat -> proxy.
# Budget (DESIGN.md §5): Warden's CONNECT throughput >= 0.8x direct.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BYTES="${BYTES:-$((1 << 30))}"
RUNS="${RUNS:-5}"
LATENCY_N="${LATENCY_N:-2000}"

command -v socat >/dev/null || die "socat not found: run bench/peers/setup.sh"
[[ -f "$PEERS_DIR/node_modules/@anthropic-ai/sandbox-runtime/dist/sandbox/http-proxy.js" ]] \
  || die "srt not found under $PEERS_DIR: run bench/peers/setup.sh"
[[ -d "$REPO_ROOT/node_modules/tsx" ]] || die "tsx missing: (cd $REPO_ROOT && npm ci)"
[[ -f "$REPO_ROOT/dist/bench/egress/throughput.js" && -x "$REPO_ROOT/native/build/warden-helper" ]] \
  || die "Warden is not built: (cd $REPO_ROOT && npm run build)"
mkdir -p "$RESULTS_DIR"
OUT="${OUT:-$RESULTS_DIR/proxy-$(date -u +%Y%m%dT%H%M%SZ).json}"

# srt's proxy in the background; its stdin is a pipe we hold, so it ends when this script does.
coproc SRTP { exec node "$PEERS_SCRIPT_DIR/srt-proxy.mjs" "$PEERS_DIR"; }
srt_pid=$SRTP_PID
exec {srt_in}>&"${SRTP[1]}"
trap 'kill "$srt_pid" 2>/dev/null || true' EXIT
read -r -t 20 ports <&"${SRTP[0]}" || die "srt-proxy.mjs did not start"
mux=$(node -e 'console.log(JSON.parse(process.argv[1]).mux)' "$ports")
bridge=$(node -e 'console.log(JSON.parse(process.argv[1]).bridge)' "$ports")

machine_info start
cd "$REPO_ROOT"
# srt's tunnels sometimes lose the tail of a download: its CONNECT handler (and its mux) destroy
# the client socket on the upstream's 'close' while writes are still queued, so when the server
# closes right after its last byte, throughput.ts sees "got X of Y bytes" and stops. A run that
# hits that is retried, up to ATTEMPTS (3) times, and the count is printed.
ATTEMPTS="${ATTEMPTS:-3}"
err="$(mktemp)"
for ((attempt = 1; ; attempt++)); do
  if node --import tsx bench/egress/throughput.ts --bytes "$BYTES" --runs "$RUNS" --latency-n "$LATENCY_N" \
    --proxy "http://127.0.0.1:$mux" --proxy "http://127.0.0.1:$bridge" --target-host 127.0.0.2 "$@" >"$OUT" 2>"$err"; then
    break
  fi
  short="$(grep -Eo 'Error: http://127\.0\.0\.1:[0-9]+: got [0-9]+ of [0-9]+ bytes' "$err" | head -1 || true)"
  if [[ -z "$short" ]]; then cat "$err" >&2; die "throughput.ts failed"; fi
  short="${short//127.0.0.1:$mux:/srt proxy:}"
  short="${short//127.0.0.1:$bridge:/srt proxy + socat bridges:}"
  echo "attempt $attempt: truncated download through ${short#Error: http://}" >&2
  ((attempt < ATTEMPTS)) || die "gave up after $ATTEMPTS attempts"
done
cat "$err" >&2; rm -f "$err"
echo "throughput.ts attempts: $attempt (a retry = a truncated srt download, see above)"
machine_info end
echo "results: $OUT"
echo
node - "$OUT" "$mux" "$bridge" <<'JS'
const [file, mux, bridge] = process.argv.slice(2);
const r = JSON.parse(require('fs').readFileSync(file, 'utf8'));
const label = (n) => n === `http://127.0.0.1:${mux}` ? 'srt proxy' : n === `http://127.0.0.1:${bridge}` ? 'srt proxy + socat bridges' : n;
const rows = [['route', `MiB/s median (${r.runs} runs, ${r.streams} stream${r.streams > 1 ? 's' : ''})`, 'MiB/s min-max', 'ratio to direct (per-run range)', 'setup p50 / p99 ms']];
for (const x of r.results) rows.push([label(x.route), String(x.mib_per_s_median), `${x.mib_per_s_min}-${x.mib_per_s_max}`, `${x.ratio_to_direct.toFixed(2)} (${x.ratio_per_run_min.toFixed(2)}-${x.ratio_per_run_max.toFixed(2)})`, `${x.setup_p50_ms.toFixed(2)} / ${x.setup_p99_ms.toFixed(2)}`]);
const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
const line = (row) => `| ${row.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
console.log(line(rows[0]));
console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));
JS
