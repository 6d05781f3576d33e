#!/usr/bin/env bash
# Installs what building and testing Yunke needs and is missing, on Debian:
# Chromium (Debian's package; browsers are never downloaded), Node.js and npm,
# ffmpeg (the recorder's tests decode every file they write with it), the
# sqlite3 shell (browser tests file scripted recordings with it),
# the front end's node modules, and — unless TEST_DATABASE_URL / TEST_REDIS_ADDR
# point elsewhere — a local PostgreSQL and Redis that the tests can reach on
# 127.0.0.1 (installed and started when missing). Idempotent, and silent when
# all is there. Runs as root, or through sudo when that is available.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
# A Chinese font, or every Chinese character in a browser-test screenshot is an empty box.
{ fc-list :lang=zh 2>/dev/null | grep -q .; } || dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)

# reachable HOST PORT: is something listening there?
reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

want_pg=0 want_redis=0
if [[ -z ${TEST_DATABASE_URL:-} ]] && ! reachable 127.0.0.1 5432; then
  want_pg=1
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
fi
if [[ -z ${TEST_REDIS_ADDR:-} ]] && ! reachable 127.0.0.1 6379; then
  want_redis=1
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
fi

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

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL for the storage tests: start the cluster, let local TCP
# connections in without a password (a throwaway test server only) and create
# the database `test` that TEST_DATABASE_URL's default names.
if ((want_pg)); then
  echo "ensure-deps: starting PostgreSQL for the tests"
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  for _ in $(seq 1 50); do reachable 127.0.0.1 5432 && break; sleep 0.2; done
  if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname = 'test'" postgres | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -c 'create database test' postgres >/dev/null
  fi
fi

# Redis for the presence and matching tests: a memory-only instance.
if ((want_redis)); then
  echo "ensure-deps: starting Redis for the tests"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/yunke-test.log
  for _ in $(seq 1 50); do reachable 127.0.0.1 6379 && break; sleep 0.2; done
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
