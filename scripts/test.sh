#!/usr/bin/env bash
# Run all of Graft's tests, failing fast:
#   1. compiler unit tests          cargo test -p graft-compiler
#   2. extension tests (#[pg_test])  cargo pgrx test pg15, cluster run as postgres
#   3. SQL regression suite          cargo pgrx install --release, then pg_test/run.sh
#   4. introspection check           tests/introspection (node), skipped until it exists
#   5. sidecar over HTTP and WS       tests/sidecar/run.sh (Python requests/PyJWT, the YAML fixtures
#                                    of tests/sidecar/fixtures, Node graphql-js,
#                                    graphql-request and the graphql-http audit)
#   6. event and scheduled triggers  tests/events/run.sh: graft preloaded, its worker delivering to
#                                    a local webhook receiver (faults, restarts, throughput)
#   7. permission property test      tests/permissions/run.sh: random permissions, plain and
#                                    inherited roles, random queries and mutations vs a SQL oracle
#   8. hostile inputs                tests/hostile/run.sh: seeded mutated, deep, huge and malformed
#                                    requests over SQL and HTTP; answers, no crash, bounded memory
#   9. reinstall beside a cluster    tests/install/run.sh: the package installed again while a
#                                    cluster has graft loaded; nothing of it crashes
#  10. benchmark harness, quick mode bench/run.sh --quick and bench/live.sh --quick: fail only
#                                    on wrong answers, never on slow numbers (reports:
#                                    bench/out/RESULTS-quick.md, bench/out/RESULTS-live-quick.md)
#
#   scripts/test.sh                       all ten, in order
#   scripts/test.sh regress introspection  only the named steps (compiler, pgrx, regress,
#                                          introspection, sidecar, events, permissions, hostile,
#                                          install, bench); introspection needs regress
#
# Expects the dependencies from scripts/install-deps.sh (setup.sh and .ci/run run it).
# Build outputs in target/ are reused between steps and runs; the release build happens once.
#
# Environment: GRAFT_TEST_PORT (pg_test cluster, default 54329),
#              GRAFT_PGRX_PGDATA (cargo pgrx test cluster, default /tmp/graft-pgrx-test).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$GRAFT_ROOT"

TEST_PORT="${GRAFT_TEST_PORT:-54329}"
export GRAFT_TEST_PORT="$TEST_PORT"
PGRX_PGDATA="${GRAFT_PGRX_PGDATA:-/tmp/graft-pgrx-test}"
INTRO_DIR="$GRAFT_ROOT/tests/introspection"
WORK="$(mktemp -d /tmp/graft-test.XXXXXX)"

steps=("$@")
for s in "${steps[@]}"; do
    case "$s" in
        compiler|pgrx|regress|introspection|sidecar|events|permissions|hostile|install|bench) ;;
        *) echo "usage: scripts/test.sh [compiler] [pgrx] [regress] [introspection] [sidecar] [events] [permissions] [hostile] [install] [bench]" >&2; exit 2 ;;
    esac
done
want() {
    [ "${#steps[@]}" -eq 0 ] && return 0
    local s; for s in "${steps[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}
if want introspection && ! want regress; then
    echo "scripts/test.sh: the introspection step queries the regression cluster: add 'regress'" >&2
    exit 2
fi

total_start=$(date +%s)
total_passed=0
total_failed=0
summary=()
current=

# Add the "N passed; M failed" counts of every cargo test binary in log $1 to the totals;
# sets $counted to "N passed, M failed" for the summary.
counted=
count_cargo() {
    local p f
    p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$6} END {print s+0}')
    total_passed=$((total_passed + p)); total_failed=$((total_failed + f))
    counted="$p passed, $f failed"
}

# Add the counts of the last "<prefix>: N passed, M failed" line of log $1 to the totals; sets
# $counted to "N passed, M failed" for the summary.
count_line() {
    local line p f
    line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    total_passed=$((total_passed + ${p:-0})); total_failed=$((total_failed + ${f:-0}))
    counted="${p:-0} passed, ${f:-0} failed"
}

# The pg_test cluster kept running (PG_TEST_KEEP=1) for the introspection step.
stop_kept_cluster() {
    local datadir
    datadir=$("$PG_BINDIR/psql" -X -At -h 127.0.0.1 -p "$TEST_PORT" -U postgres -d postgres \
        -c 'SHOW data_directory' 2>/dev/null) || return 0
    case "$datadir" in
        /tmp/graft-pg_test.*/data)
            as_postgres "$PG_BINDIR/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
            rm -rf "$(dirname "$datadir")" ;;
    esac
}

finish() {
    local rc=$?
    section_end
    stop_kept_cluster
    rm -rf "$WORK"
    echo
    printf '%s==== Summary (%ss) ====%s\n' "$_c_bold" "$(( $(date +%s) - total_start ))" "$_c_off"
    local line
    for line in "${summary[@]}"; do echo "  $line"; done
    if [ "$rc" -ne 0 ]; then
        [ -z "$current" ] || echo "  FAILED: $current"
        # A step can fail without a failing test to count (build error, crash): count it.
        [ "$total_failed" -gt 0 ] || total_failed=1
        echo "scripts/test.sh: FAILED (exit $rc)"
    fi
    echo "total: $total_passed passed, $total_failed failed"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v cargo >/dev/null 2>&1 || die "cargo not found (looked in PATH and ~/.cargo/bin); install Rust, then run scripts/install-deps.sh"
cargo pgrx --version >/dev/null 2>&1 || die "cargo-pgrx not found; run scripts/install-deps.sh"
require_pg_binaries

# ---- 1 ------------------------------------------------------------------------------------
if want compiler; then
    current="1/10 compiler and sidecar unit tests (cargo test -p graft-compiler -p graft-server)"
    section "$current"
    t0=$(date +%s)
    cargo test -p graft-compiler -p graft-server 2>&1 | tee "$WORK/compiler.log"
    count_cargo "$WORK/compiler.log"
    summary+=("1/10 compiler unit tests: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("1/10 compiler unit tests: not selected")
fi

# ---- 2 ------------------------------------------------------------------------------------
if want pgrx; then
    current="2/10 extension tests (cargo pgrx test pg15)"
    section "$current"
    t0=$(date +%s)
    # pgrx initdb's its own cluster here as postgres; start from an empty directory it can write.
    rm -rf "$PGRX_PGDATA"
    mkdir -p "$PGRX_PGDATA"
    as_root chown postgres: "$PGRX_PGDATA"
    # `cargo pgrx test` installs its test build into the PostgreSQL it is configured with, in
    # place: into the system one, that would crash every running cluster that has graft loaded
    # (setup.sh's, a benchmark's). It gets a private copy of PostgreSQL instead (Debian's build
    # is relocatable), and its own PGRX_HOME pointing there.
    private_pg_for_pgrx
    PGRX_HOME="$PGRX_PRIVATE_HOME" cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_PGDATA" 2>&1 | tee "$WORK/pgrx.log"
    count_cargo "$WORK/pgrx.log"
    summary+=("2/10 extension tests: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("2/10 extension tests: not selected")
fi

# ---- 3 ------------------------------------------------------------------------------------
if want regress; then
    current="3/10 SQL regression suite (pg_test/run.sh)"
    section "$current"
    t0=$(date +%s)
    # Always (re)install: step 2 leaves its debug, pg_test-featured build installed.
    log "cargo pgrx install --release"
    install_extension
    # Keep the cluster running afterwards: step 4 queries it. finish() stops it.
    PG_TEST_KEEP=1 "$GRAFT_ROOT/pg_test/run.sh" 2>&1 | tee "$WORK/pg_regress.log"
    count_line "$WORK/pg_regress.log" pg_regress
    summary+=("3/10 SQL regression suite: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("3/10 SQL regression suite: not selected")
fi

# ---- 4 ------------------------------------------------------------------------------------
if want introspection; then
    current="4/10 introspection check (tests/introspection)"
    section "$current"
    t0=$(date +%s)
    if [ ! -f "$INTRO_DIR/package.json" ] || [ ! -f "$INTRO_DIR/check.mjs" ] || [ ! -f "$INTRO_DIR/print-query.mjs" ]; then
        info "SKIPPED: tests/introspection/{package.json,check.mjs,print-query.mjs} do not exist yet"
        summary+=("4/10 introspection check: skipped (tests/introspection not written yet)")
    else
        command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
            die "node and npm are needed for tests/introspection (apt-get install nodejs npm)"
        if [ -f "$INTRO_DIR/package-lock.json" ]; then
            (cd "$INTRO_DIR" && npm ci --no-audit --no-fund)
        else
            (cd "$INTRO_DIR" && npm install --no-audit --no-fund)
        fi
        node "$INTRO_DIR/print-query.mjs" > "$WORK/introspection.graphql"
        [ -s "$WORK/introspection.graphql" ] || die "tests/introspection/print-query.mjs printed nothing"
        # The regression cluster (database graft_regress, demo blog tracked by 01_metadata).
        # The query goes in as a psql variable, i.e. a quoted literal, never spliced as SQL.
        echo "SELECT graphql.resolve(:'q');" |
            "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$TEST_PORT" -U postgres \
                -d graft_regress -v q="$(cat "$WORK/introspection.graphql")" > "$WORK/introspection.json"
        info "introspection response: $(wc -c < "$WORK/introspection.json") bytes"
        # check.mjs reads the response file named by its first argument (also in INTROSPECTION_RESPONSE).
        INTROSPECTION_RESPONSE="$WORK/introspection.json" node "$INTRO_DIR/check.mjs" "$WORK/introspection.json"
        total_passed=$((total_passed + 1))
        summary+=("4/10 introspection check: passed ($(( $(date +%s) - t0 ))s)")
    fi
else
    summary+=("4/10 introspection check: not selected")
fi

# ---- 5 ------------------------------------------------------------------------------------
if want sidecar; then
    current="5/10 sidecar over HTTP (tests/sidecar/run.sh)"
    section "$current"
    t0=$(date +%s)
    tests/sidecar/run.sh 2>&1 | tee "$WORK/sidecar.log"
    p=$(grep -Eo 'sidecar: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $2}')
    l=$(grep -Eo 'sidecar limits: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $3}')
    n=$(grep -Eo 'sidecar node: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $3}')
    x=$(grep -Eo '^fixtures: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $2}')
    wp=$(grep -Eo 'sidecar websocket python: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $4}')
    wn=$(grep -Eo 'sidecar websocket node: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $4}')
    wa=$(grep -Eo 'sidecar websocket auth: [0-9]+ passed' "$WORK/sidecar.log" | awk '{print $4}')
    total_passed=$((total_passed + ${p:-0} + ${l:-0} + ${n:-0} + ${x:-0} + ${wp:-0} + ${wn:-0} + ${wa:-0}))
    summary+=("5/10 sidecar over HTTP and WebSocket: $(( ${p:-0} + ${l:-0} )) Python, ${x:-0} YAML fixture, ${n:-0} Node and $(( ${wp:-0} + ${wn:-0} + ${wa:-0} )) WebSocket checks passed ($(( $(date +%s) - t0 ))s)")
else
    summary+=("5/10 sidecar over HTTP: not selected")
fi

# ---- 6 ------------------------------------------------------------------------------------
if want events; then
    current="6/10 event and scheduled triggers (tests/events/run.sh)"
    section "$current"
    t0=$(date +%s)
    # Step 3 installed the release extension; otherwise install it here.
    want regress || install_extension
    tests/events/run.sh 2>&1 | tee "$WORK/events.log"
    count_line "$WORK/events.log" events
    summary+=("6/10 event and scheduled triggers: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("6/10 event and scheduled triggers: not selected")
fi

# ---- 7 ------------------------------------------------------------------------------------
if want permissions; then
    current="7/10 permission property test (tests/permissions/run.sh)"
    section "$current"
    t0=$(date +%s)
    # Its own throwaway cluster (port 55621, GRAFT_PERM_PORT); a seeded run of
    # GRAFT_PERM_CASES cases (GRAFT_PERM_SEED). Step 3 installed the release extension already.
    want regress || want events || install_extension
    tests/permissions/run.sh 2>&1 | tee "$WORK/permissions.log"
    count_line "$WORK/permissions.log" permissions
    summary+=("7/10 permission property test: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("7/10 permission property test: not selected")
fi

# ---- 8 ------------------------------------------------------------------------------------
if want hostile; then
    current="8/10 hostile inputs over SQL and HTTP (tests/hostile/run.sh)"
    section "$current"
    t0=$(date +%s)
    # Its own throwaway cluster (port 55631, GRAFT_HOSTILE_PORT) and sidecar; the extension
    # installed by an earlier step (or here), the sidecar built by step 5 (or here).
    want regress || want events || want permissions || install_extension
    tests/hostile/run.sh 2>&1 | tee "$WORK/hostile.log"
    count_line "$WORK/hostile.log" hostile
    summary+=("8/10 hostile inputs: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("8/10 hostile inputs: not selected")
fi

# ---- 9 ------------------------------------------------------------------------------------
if want install; then
    current="9/10 reinstall beside a running cluster (tests/install/run.sh)"
    section "$current"
    t0=$(date +%s)
    # Reinstalls the package an earlier step's install_extension built (target/graft-package).
    [ -d "$GRAFT_ROOT/target/graft-package" ] || install_extension
    tests/install/run.sh 2>&1 | tee "$WORK/install.log"
    count_line "$WORK/install.log" install
    summary+=("9/10 reinstall beside a running cluster: $counted ($(( $(date +%s) - t0 ))s)")
else
    summary+=("9/10 reinstall beside a running cluster: not selected")
fi

# ---- 10 -----------------------------------------------------------------------------------
if want bench; then
    current="10/10 benchmark harness, quick mode (bench/run.sh --quick)"
    section "$current"
    t0=$(date +%s)
    # Its own throwaway cluster (port 55432, GRAFT_BENCH_PORT); exits non-zero only when an
    # answer differs from the hand-written SQL's (or a query errors), never on slow numbers.
    # Step 3 installed the release extension already; otherwise run.sh builds and installs it.
    bench_args=(--quick)
    if want regress; then bench_args+=(--no-build); fi
    "$GRAFT_ROOT/bench/run.sh" "${bench_args[@]}"
    # The live-query harness (issue 14): 200 subscribers, change-driven and plain polling, and
    # streams when the schema has them; fails when a subscriber sees another user's row or
    # misses a write, or a stream loses or repeats a row. Uses the extension installed above.
    "$GRAFT_ROOT/bench/live.sh" --quick
    total_passed=$((total_passed + 1))
    summary+=("10/10 benchmark harness (quick): answers match the hand-written SQL, live queries and streams correct; numbers in bench/out/RESULTS-quick.md and RESULTS-live-quick.md ($(( $(date +%s) - t0 ))s)")
else
    summary+=("10/10 benchmark harness (quick): not selected")
fi

current=
section_end
