#!/usr/bin/env bash
# Install the moto AWS emulator (and, with --awscli, the aws CLI for the benchmark) into the
# project-local virtual environment .venv, once. Safe to run from parallel test binaries: the
# install runs under a lock, and a second caller finds it done.
#
#   scripts/install-moto.sh [--awscli]
#
# Needs only python3 (with the venv module) and network access to PyPI.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
want_cli=0
[[ "${1:-}" == "--awscli" ]] && want_cli=1

installed() {
    [[ -x "$venv/bin/moto_server" ]] || return 1
    [[ $want_cli == 0 || -x "$venv/bin/aws" ]]
}

install() {
    installed && return 0
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "install-moto: creating $venv" >&2
        python3 -m venv "$venv"
    fi
    local pkgs=("moto[server]>=5.2,<6")
    [[ $want_cli == 1 ]] && pkgs+=("awscli")
    echo "install-moto: pip install ${pkgs[*]} into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}" >&2
    installed
}

# The lock lives under target/, which git ignores.
mkdir -p "$root/target"
lock="$root/target/install-moto.lock"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    flock -w 900 9
    install
else
    # No flock: a directory is created atomically; wait for whoever holds it.
    for _ in $(seq 1 900); do
        if mkdir "$lock.d" 2>/dev/null; then
            trap 'rmdir "$lock.d"' EXIT
            install
            exit 0
        fi
        installed && exit 0
        sleep 1
    done
    echo "install-moto: timed out waiting for $lock.d" >&2
    exit 1
fi
