#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing when it is already
# there: OpenSSH server and client (the integration tests start real sshds on 127.0.0.1), ps and
# useradd/chpasswd (the fixture's test user), and — through test/e2e/setup.sh — Node 24,
# code-server and Debian chromium for the tests in a real VS Code. Run as root (apt, sshd, a local
# test user). `npm test` runs it first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test/setup.sh: run as root: the tests install OpenSSH with apt, start sshd and create a local test user." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
{ [ -x /usr/bin/ssh ] && [ -x /usr/bin/ssh-keygen ] && [ -x /usr/bin/ssh-agent ]; } || need+=(openssh-client)
command -v ps >/dev/null 2>&1 || need+=(procps)
{ command -v useradd >/dev/null 2>&1 && command -v chpasswd >/dev/null 2>&1; } || need+=(passwd)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if [ "${#need[@]}" -gt 0 ]; then
  echo "test/setup.sh: installing ${need[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# sshd refuses to start without its privilege separation directory.
mkdir -p /run/sshd

bash test/e2e/setup.sh >/dev/null
