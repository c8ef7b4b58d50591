#!/usr/bin/env bash
# Permission property test (issue 11): random select/insert/update/delete permissions for plain
# and inherited roles over a two-tenant fixture (tenants/users/projects/tasks/comments, a scalar
# and a SETOF computed field), random queries and mutations over every access path (root lists,
# _by_pk, aggregates with nodes, nested relationships, where/order_by/distinct_on through
# relationships, computed fields, update/delete/insert/upsert with returning), each answer
# checked against an oracle that evaluates every permission as a plain SQL predicate, row by row.
#
#   tests/permissions/run.sh [--cases N] [--seed N] [--verbose] [--no-shrink]
#
# Environment: GRAFT_PERM_PORT   port of the throwaway cluster (default 55621)
#              GRAFT_PERM_SEED   random seed (default 11): the same seed makes the same cases
#              GRAFT_PERM_CASES  number of cases (default 1500, under 3 minutes on a loaded
#                                2-core machine); run many more by hand, e.g. 50000
#              GRAFT_PERM_PYTHON a Python with psycopg 3 (default: a venv made here)
# The extension must be installed in the system PostgreSQL 15 (cargo pgrx install).
# Each distinct failure class is printed once with a shrunk reproducer (permissions, session,
# query, expected vs got); statements over 1 s are skipped and reported as SLOW. The last
# line is "permissions: N passed, M failed"; the exit status is non-zero when any case failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
export RUST_BACKTRACE=0
cd "$GRAFT_ROOT"

PORT="${GRAFT_PERM_PORT:-55621}"
SEED="${GRAFT_PERM_SEED:-11}"
CASES="${GRAFT_PERM_CASES:-1500}"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cases) CASES="$2"; shift ;;
        --cases=*) CASES="${1#*=}" ;;
        --seed) SEED="$2"; shift ;;
        --seed=*) SEED="${1#*=}" ;;
        --verbose|-v) extra+=(--verbose) ;;
        --no-shrink) extra+=(--no-shrink) ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (try --help)" ;;
    esac
    shift
done

require_pg_binaries
graft_extension_installed || die "the graft extension is not installed in PostgreSQL $GRAFT_PG_MAJOR (cargo pgrx install --release)"
port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is in use (set GRAFT_PERM_PORT)"

TMP="$(mktemp -d /tmp/graft-perm.XXXXXX)"
chmod 755 "$TMP"
as_root chown postgres: "$TMP"
PGDATA_DIR="$TMP/data"
cleanup() {
    local rc=$?
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    if [ "$rc" -ne 0 ] && [ -f "$TMP/pg.log" ] && grep -q "terminated by signal\|PANIC" "$TMP/pg.log"; then
        echo "---- PostgreSQL log (crashes) ----"; grep -B2 -A5 "terminated by signal\|PANIC" "$TMP/pg.log" | tail -n 40
    fi
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a throwaway PostgreSQL on 127.0.0.1:$PORT"
init_cluster "$PGDATA_DIR" --no-sync
write_cluster_conf "$PGDATA_DIR" "$PORT" "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
    "lc_messages = 'C'" "log_min_messages = warning"
start_cluster "$PGDATA_DIR" "$TMP/pg.log"
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE perm"

PY="${GRAFT_PERM_PYTHON:-}"
if [ -z "$PY" ]; then
    log "Python client (psycopg)"
    python3 -m venv "$TMP/venv"
    "$TMP/venv/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==3.2.3"
    PY="$TMP/venv/bin/python"
fi
ADMIN="host=127.0.0.1 port=$PORT user=postgres dbname=perm"
APP="host=127.0.0.1 port=$PORT user=perm_app dbname=perm"
"$PY" tests/permissions/proptest.py --dsn-admin "$ADMIN" --dsn-app "$APP" --setup
log "permission property test: seed $SEED, $CASES cases"
"$PY" tests/permissions/proptest.py --dsn-admin "$ADMIN" --dsn-app "$APP" --seed "$SEED" --cases "$CASES" "${extra[@]}"
