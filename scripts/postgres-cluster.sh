#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for trying several `ballot-server serve` instances by hand and
# for the PostgreSQL tests (.ci/run uses it). Loopback only, trust authentication, everything
# in one temporary folder that `stop` removes. Not for an election: see docs/operations.md.
#
#   scripts/postgres-cluster.sh start   # initdb (once) and start; prints the postgres:// URL
#   scripts/postgres-cluster.sh url     # the URL of the running cluster
#   scripts/postgres-cluster.sh crash   # pg_ctl stop -m immediate, keeping the data (start again with start)
#   scripts/postgres-cluster.sh stop    # stop and remove the folder
#
# EVOTE_PG_DIR (default /tmp/evote-postgres) is the folder; EVOTE_PG_PORT (default 54329) the
# first port tried: the next free one is taken. PostgreSQL refuses to run as root, so as root
# the cluster runs as the unprivileged user `postgres` (created when missing).
set -euo pipefail

dir="${EVOTE_PG_DIR:-/tmp/evote-postgres}"
first_port="${EVOTE_PG_PORT:-54329}"
data="$dir/data"

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return
  fi
  # Debian keeps the server programs out of PATH, one folder per major version.
  local candidate
  candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then
    echo "$candidate"
    return
  fi
  echo "postgres-cluster: initdb and pg_ctl not found; install Debian's postgresql package" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# Closes every descriptor above 2 of the calling (sub)shell. The server is a daemon and must
# not keep its starter's descriptors open: Foundation's Process, for one, learns that the
# script ended from a socket the script inherited, and waits as long as anyone holds it.
close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd="${fd##*/}"
    [ "$fd" -gt 2 ] 2>/dev/null || continue
    eval "exec $fd>&-" 2>/dev/null || true
  done
}

url() {
  echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

start() {
  if running; then
    url
    return
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
  fi
  # Keep the port across a crash and restart, so clients reconnect to the same URL.
  local port
  if [ -f "$dir/port" ]; then
    port="$(cat "$dir/port")"
  else
    port="$first_port"
    while port_in_use "$port"; do port=$((port + 1)); done
    echo "$port" >"$dir/port"
  fi
  (
    close_inherited_fds
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
  ) || {
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
  }
  url
}

bin="$(find_bin)"
case "${1:-}" in
  start) start ;;
  url)
    running || { echo "postgres-cluster: not running (run: $0 start)" >&2; exit 1; }
    url
    ;;
  crash)
    running && as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null
    ;;
  stop)
    if running; then as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|url|crash|stop" >&2
    exit 2
    ;;
esac
