#!/usr/bin/env bash
# Graft's pg_regress suite: pg_test/sql/NAME.sql is run with psql and its output compared
# with pg_test/expected/NAME.out.
#
#   pg_test/run.sh                  run the whole schedule (pg_test/schedule)
#   pg_test/run.sh 01_metadata ...  run 00_setup and the named tests only
#   pg_test/run.sh --update [...]   run, then copy the actual output over expected/
#                                   (also PG_TEST_UPDATE=1); review with `git diff pg_test/`
#
# It starts its own throwaway cluster (as the postgres OS user, in a temp dir under /tmp,
# 127.0.0.1 only, fsync off) on port 54329 (GRAFT_TEST_PORT), creates database graft_regress
# and stops the cluster on exit. It tests the graft extension INSTALLED in the system
# PostgreSQL 15: run `cargo pgrx install --release` first (scripts/test.sh does).
#
# Results land in pg_test/results/, the diff in pg_test/regression.diffs, the server log in
# pg_test/log/server.log (all git-ignored). PG_TEST_KEEP=1 leaves the cluster running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# The server must print the same errors everywhere: pgrx appends a Rust backtrace to errors
# that pass through Rust code when RUST_BACKTRACE is set in its environment.
export RUST_BACKTRACE=0

TEST_DIR="$GRAFT_ROOT/pg_test"
PORT="${GRAFT_TEST_PORT:-54329}"
DB=graft_regress
UPDATE="${PG_TEST_UPDATE:-0}"

tests=()
while [ $# -gt 0 ]; do
    case "$1" in
        --update) UPDATE=1 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (try --help)" ;;
        *) tests+=("${1%.sql}") ;;
    esac
    shift
done

require_pg_binaries
PG_REGRESS="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress"
[ -x "$PG_REGRESS" ] || die "pg_regress not found at $PG_REGRESS (it comes with postgresql-server-dev-$GRAFT_PG_MAJOR; run scripts/install-deps.sh)"
graft_extension_installed ||
    die "the graft extension is not installed in PostgreSQL $GRAFT_PG_MAJOR ($("$PG_CONFIG" --sharedir)/extension/graft.control).
       Build and install it first:  cargo pgrx install --release --pg-config $PG_CONFIG
       (scripts/test.sh and scripts/setup.sh do this for you)"
port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is in use (a leftover test cluster?); set GRAFT_TEST_PORT"

# A test without an expected file makes pg_regress itself fail (exit 2): with --update start
# it from an empty one, otherwise say what to do.
if [ "${#tests[@]}" -gt 0 ]; then
    # 00_setup creates the objects every other test uses.
    [ "${tests[0]}" = 00_setup ] || tests=(00_setup "${tests[@]}")
    to_run=("${tests[@]}")
else
    read -r -a to_run <<< "$(sed -n 's/^test:[[:space:]]*//p' "$TEST_DIR/schedule" | tr '\n' ' ')"
fi
for t in "${to_run[@]}"; do
    [ -f "$TEST_DIR/sql/$t.sql" ] || die "no such test: pg_test/sql/$t.sql"
    if [ ! -f "$TEST_DIR/expected/$t.out" ]; then
        if [ "$UPDATE" = 1 ]; then
            mkdir -p "$TEST_DIR/expected"
            : > "$TEST_DIR/expected/$t.out"
        else
            die "pg_test/expected/$t.out does not exist. Run pg_test/run.sh --update to create it from the actual output, then review it."
        fi
    fi
done

# ---- throwaway cluster -------------------------------------------------------------------
TMP="$(mktemp -d /tmp/graft-pg_test.XXXXXX)"
PGDATA_DIR="$TMP/data"
SERVER_LOG="$TMP/server.log"
chmod 755 "$TMP"
as_root chown postgres: "$TMP"

cleanup() {
    local rc=$?
    if [ -f "$SERVER_LOG" ]; then
        mkdir -p "$TEST_DIR/log"
        cp "$SERVER_LOG" "$TEST_DIR/log/server.log"
    fi
    if [ "${PG_TEST_KEEP:-0}" = 1 ] && cluster_running "$PGDATA_DIR"; then
        log "PG_TEST_KEEP=1: cluster left running: psql -h 127.0.0.1 -p $PORT -U postgres $DB"
        log "stop it with: runuser -u postgres -- $PG_BINDIR/pg_ctl -D $PGDATA_DIR stop; rm -rf $TMP"
        return "$rc"
    fi
    if cluster_running "$PGDATA_DIR"; then
        stop_cluster "$PGDATA_DIR" || warn "could not stop the test cluster in $PGDATA_DIR"
    fi
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a throwaway PostgreSQL $GRAFT_PG_MAJOR on 127.0.0.1:$PORT ($PGDATA_DIR)"
# graft is preloaded for its per-table commit counters (16_change_counters, which also needs
# prepared transactions); no event worker runs: no test delivers events.
init_cluster "$PGDATA_DIR" --no-sync
write_cluster_conf "$PGDATA_DIR" "$PORT" \
    "fsync = off" \
    "synchronous_commit = off" \
    "full_page_writes = off" \
    "shared_preload_libraries = 'graft'" \
    "graft.event_databases = ''" \
    "max_prepared_transactions = 2" \
    "lc_messages = 'C'" \
    "log_min_messages = warning" \
    "log_line_prefix = '%m [%p] %q%u@%d '"
start_cluster "$PGDATA_DIR" "$SERVER_LOG"

PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8'"

# ---- pg_regress ----------------------------------------------------------------------------
rm -rf "$TEST_DIR/results" "$TEST_DIR/regression.diffs" "$TEST_DIR/regression.out"
args=(
    --use-existing
    --bindir="$PG_BINDIR"
    --host=127.0.0.1 --port="$PORT" --user=postgres
    --dbname="$DB"
    --inputdir="$TEST_DIR" --outputdir="$TEST_DIR"
)
if [ "${#tests[@]}" -gt 0 ]; then
    args+=("${tests[@]}")
else
    args+=(--schedule="$TEST_DIR/schedule")
fi

log "pg_regress (${tests[*]:-schedule: pg_test/schedule})"
# Error messages name files relative to the cwd: run from the repository root so they are
# the same on every machine.
set +e
(cd "$GRAFT_ROOT" && "$PG_REGRESS" "${args[@]}") 2>&1 | tee "$TMP/pg_regress.out"
rc="${PIPESTATUS[0]}"
set -e
# pg_regress (15) exits 1 when tests fail, 2 when it could not run them.
passed=$(grep -Ec ' \.\.\. ok ' "$TMP/pg_regress.out" || true)
failed=$(grep -Ec ' \.\.\. FAILED' "$TMP/pg_regress.out" || true)
[ "$rc" -le 1 ] || die "pg_regress could not run the tests (exit $rc); see the output above and pg_test/log/server.log"

if [ "$UPDATE" = 1 ]; then
    if [ ! -d "$TEST_DIR/results" ] || [ -z "$(ls -A "$TEST_DIR/results")" ]; then
        die "pg_regress produced no results to update from"
    fi
    mkdir -p "$TEST_DIR/expected"
    n=0
    for f in "$TEST_DIR"/results/*.out; do
        name="$(basename "$f")"
        if ! cmp -s "$f" "$TEST_DIR/expected/$name"; then
            cp "$f" "$TEST_DIR/expected/$name"
            info "updated pg_test/expected/$name"
            n=$((n + 1))
        fi
    done
    log "--update: $n expected file(s) changed. Review them before committing: git diff pg_test/expected"
    exit 0
fi

if [ -s "$TEST_DIR/regression.diffs" ]; then
    echo
    echo "======== pg_test/regression.diffs ========"
    head -n 2000 "$TEST_DIR/regression.diffs"
    [ "$(wc -l < "$TEST_DIR/regression.diffs")" -le 2000 ] || echo "... (truncated; see pg_test/regression.diffs)"
    echo "=========================================="
    echo "Actual output: pg_test/results/. If the new output is right: pg_test/run.sh --update"
fi

echo "pg_regress: $passed passed, $failed failed"
if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
    exit 1
fi
