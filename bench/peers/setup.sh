#!/usr/bin/env bash
# Installs the peers that bench/peers/*.sh compare Warden with, OUTSIDE the repository:
#  - Debian packages (when root): hyperfine, bubblewrap, socat, ripgrep (srt needs bwrap+socat+rg);
#  - npm packages into a scratch prefix (PEERS_DIR, default /tmp/warden-peers):
#    @anthropic-ai/sandbox-runtime (CLI `srt`) and @openai/codex (CLI `codex`).
# Idempotent: skips what is already there. The peers never become project dependencies.
set -euo pipefail

PEERS_DIR="${PEERS_DIR:-/tmp/warden-peers}"
APT_PKGS=(hyperfine bubblewrap socat ripgrep)
NPM_PKGS=(@anthropic-ai/sandbox-runtime @openai/codex)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: apt-get install ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: not root; please install: ${missing[*]}" >&2
  fi
fi

need_npm=0
for p in "${NPM_PKGS[@]}"; do
  [[ -f "$PEERS_DIR/node_modules/$p/package.json" ]] || need_npm=1
done
if ((need_npm)); then
  mkdir -p "$PEERS_DIR"
  # A package.json of its own so npm does not walk up into some other project.
  [[ -f "$PEERS_DIR/package.json" ]] || echo '{"name":"warden-bench-peers","private":true}' >"$PEERS_DIR/package.json"
  echo "setup: npm install --prefix $PEERS_DIR ${NPM_PKGS[*]}" >&2
  npm install --prefix "$PEERS_DIR" --no-audit --no-fund "${NPM_PKGS[@]}"
fi

echo "setup: peers in $PEERS_DIR"
for b in srt codex; do
  if [[ -x "$PEERS_DIR/node_modules/.bin/$b" ]]; then
    v=$(cd /tmp && "$PEERS_DIR/node_modules/.bin/$b" --version 2>/dev/null | head -1 || true)
    echo "  $b: ${v:-?}"
  else
    echo "  $b: MISSING" >&2
  fi
done
for b in hyperfine bwrap socat rg; do
  if ! command -v "$b" >/dev/null; then echo "  $b: MISSING" >&2; continue; fi
  if [[ $b == socat ]]; then v=$(socat -V 2>&1 | grep -m1 'socat version'); else v=$("$b" --version 2>&1 | head -1); fi
  echo "  $b: $v"
done
