#!/usr/bin/env bash
# Compare liaison-geo's conflict engine with PostGIS on the same workload.
#
#   bench/postgis/compare.sh [WORKDIR] [small|full|"S Z A Q"] [SEED]
#
# Generates the workload (seeded) unless WORKDIR already holds one, runs our
# benchmark (release build), loads the same ndjson files into PostgreSQL 15 +
# PostGIS 3 as geography columns with GiST indexes, runs the same queries with
# ST_DWithin(geography) and reports throughput of both and every difference
# (acceptable only within 1 m of the threshold).
#
# Needs a local server (PGHOST/PGPORT/PGUSER/PGDATABASE, default
# 127.0.0.1:5432, postgres, test, trust auth). Installs the Debian packages
# postgresql-15-postgis-3 and python3-psycopg2 when missing and running as root.
# Tables are named gb_*; they are dropped at the end unless KEEP_TABLES=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-/tmp/liaison-geo-bench}"
size="${2:-small}"
seed="${3:-1}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PGDATABASE="${PGDATABASE:-test}"
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
py=/usr/bin/python3

if ! [ -e /usr/share/postgresql/15/extension/postgis.control ] || ! $py -c 'import psycopg2' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 python3-psycopg2 >/dev/null
  else
    echo "install postgresql-15-postgis-3 and python3-psycopg2 first" >&2; exit 2
  fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -q -p liaison-geo --example geo_bench)
bin="$CARGO_TARGET_DIR/release/examples/geo_bench"

mkdir -p "$work"
work="$(cd "$work" && pwd)"
if ! [ -s "$work/queries.ndjson" ]; then
  # shellcheck disable=SC2086
  "$bin" gen "$work" $size "$seed"
fi

echo "== ours (3 runs)"
for i in 1 2 3; do "$bin" run "$work" "$work/ours.jsonl"; done

echo "== postgis load"
chmod o+rx "$work" && chmod o+r "$work"/*.ndjson
start=$(date +%s.%N)
psql -q -v dir="$work" -f "$here/load.sql"
echo "load+index: $(echo "$(date +%s.%N) - $start" | bc) s"

echo "== postgis queries"
$py "$here/run_queries.py" "$dsn" "$work/postgis.jsonl"

echo "== comparison"
rc=0
$py "$here/compare.py" "$dsn" "$work/ours.jsonl" "$work/postgis.jsonl" || rc=$?
if [ -z "${KEEP_TABLES:-}" ]; then
  psql -qc "DROP TABLE IF EXISTS gb_sites, gb_zones, gb_actives, gb_queries"
fi
exit $rc
