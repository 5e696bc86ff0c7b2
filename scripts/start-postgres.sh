#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster (Debian's postgresql package, 15 on
# Debian 12) for gpuvmd's tests and prints its URL on stdout:
#
#   export GPUVM_TEST_PG_URL="$(scripts/start-postgres.sh --dir /tmp/pg)"
#   ...
#   scripts/start-postgres.sh --stop /tmp/pg
#
# The cluster listens on 127.0.0.1 only, on a free port, trust
# authentication for the postgres role (nothing else can reach it), fsync
# off (a test database need not survive a power loss). As root, the server
# runs as the postgres user (initdb refuses root). Nothing is downloaded.
set -euo pipefail

usage() { echo "usage: $0 [--dir DIR] | --stop DIR" >&2; exit 2; }

dir=""
stop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; dir="$2"; shift 2 ;;
    --stop) [ $# -ge 2 ] || usage; dir="$2"; stop=1; shift 2 ;;
    *) usage ;;
  esac
done

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "$0: PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi

# Run a PostgreSQL program as the cluster owner, argv passed as is.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$stop" -eq 1 ]; then
  [ -d "$dir/data" ] || { echo "$0: no cluster in $dir" >&2; exit 1; }
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  rm -rf -- "$dir"
  exit 0
fi

if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/gpuvm-pg.XXXXXX); fi
mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
chmod 700 "$dir"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }

echo "$0: PostgreSQL running in $dir (stop: $0 --stop $dir)" >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres"
