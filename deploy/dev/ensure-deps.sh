#!/usr/bin/env bash
# Installs what building and testing Yunke needs and is missing, on Debian:
# Chromium (Debian's package; browsers are never downloaded), Node.js and npm,
# and the front end's node modules. Idempotent, and silent when all is there.
# Runs as root, or through sudo when that is available.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Durable storage and multi-node tests will need these; not yet:
# command -v psql >/dev/null 2>&1 || need+=(postgresql); command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if ((${#need[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: missing ${need[*]}; install them (this script knows only apt-get)" >&2
    exit 1
  fi
  sudo=()
  if [[ $(id -u) != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "ensure-deps: missing ${need[*]}; run as root or install sudo" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "ensure-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The front end's modules, when they are missing or older than the manifest or lock.
if [[ -f web/package.json ]]; then
  stamp=web/node_modules/.package-lock.json
  if [[ ! -f $stamp || web/package.json -nt $stamp || (-f web/package-lock.json && web/package-lock.json -nt $stamp) ]]; then
    echo "ensure-deps: installing web modules"
    if [[ -f web/package-lock.json ]]; then
      (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    else
      (cd web && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    fi
    mkdir -p web/node_modules && touch "$stamp"
  fi
fi
