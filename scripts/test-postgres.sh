#!/usr/bin/env bash
# Starts (or stops) the throwaway PostgreSQL server the tests load warehouse rows into: its own
# cluster in /tmp on 127.0.0.1:${CDP_TEST_POSTGRES_PORT:-55432}, user "cdp" with trust
# authentication, database "cdp_test". It never touches a PostgreSQL the machine already runs.
#   scripts/test-postgres.sh start   # prints CDP_TEST_POSTGRES=127.0.0.1:PORT for the tests
#   scripts/test-postgres.sh stop
# As root (CI), the server runs as the "postgres" user the Debian package creates: PostgreSQL
# refuses to run as root.
set -euo pipefail

port=${CDP_TEST_POSTGRES_PORT:-55432}
dir=/tmp/cdp-test-postgres-$port
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "test-postgres: no PostgreSQL server is installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      rm -rf "$dir"
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      as_owner "$bin/initdb" -D "$dir/data" -U cdp --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    fi
    if ! psql -h 127.0.0.1 -p "$port" -U cdp -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'cdp_test'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$port" -U cdp -d postgres -qc "CREATE DATABASE cdp_test" >/dev/null
    fi
    echo "CDP_TEST_POSTGRES=127.0.0.1:$port"
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: scripts/test-postgres.sh start|stop" >&2
    exit 2
    ;;
esac
