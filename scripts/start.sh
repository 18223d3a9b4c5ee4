#!/usr/bin/env bash
# Runs the product for a newcomer on this machine kind: VS Code (code-server, in the browser) on
# 127.0.0.1 with SSH Tunnels installed in a profile of its own under .vscode-test/run/, reading
# your real ~/.ssh/config. Prints the URL to open; Ctrl-C stops it.
#   PORT=8080 npm start      choose the port (default: 8765)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval "$(bash test/e2e/setup.sh --no-chromium --no-vsce | grep -E '^(NODE24|CODE_SERVER)=')"
node esbuild.config.mjs --production

version=$(node -p "require('./package.json').version")
publisher=$(node -p "require('./package.json').publisher")
name=$(node -p "require('./package.json').name")
run=.vscode-test/run
ext="$run/extensions/$publisher.$name-$version"
rm -rf "$ext"
mkdir -p "$ext" "$run/user-data"
cp -r package.json README.md dist media "$ext/"

port=${PORT:-8765}
echo
echo "SSH Tunnels is running in VS Code at:  http://127.0.0.1:$port/?folder=$PWD"
echo "(open the SSH Tunnels view in the activity bar; Ctrl-C stops)"
echo
exec "$NODE24" "$CODE_SERVER" --auth none --disable-telemetry --disable-update-check \
  --disable-workspace-trust --user-data-dir "$run/user-data" --extensions-dir "$run/extensions" \
  --bind-addr "127.0.0.1:$port" "$PWD"
