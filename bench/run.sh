#!/usr/bin/env bash
# Graft's benchmark harness (issue 7): one command, one throwaway cluster, interleaved rounds.
#
#   bench/run.sh [--quick|--full] [--rounds N] [options]
#
#   --quick          small dataset (scale 0.5: 5k users, 50k articles), 1 round x 1s, no
#                    warm-up: keeps the harness working, the numbers are not for reading; what CI
#                    runs (scripts/test.sh bench). Writes bench/out/RESULTS-quick.md.
#   --full           scale 10 (100k users, 1M articles, 2M comments; the default). Rewrites
#                    bench/RESULTS.md.
#   --rounds N       timed rounds per query and implementation (quick 1, full 5)
#   --duration S     seconds per pgbench / oha run (quick 1, full 10)
#   --clients N      pgbench clients, part 1 (default 2)
#   --concurrency N  oha connections, part 2 (default 8)
#   --scale X        override the gen_synth.sql scale
#   --parts LIST     comma-separated subset of 1,2,3,4,profile (default: all)
#   --port P         cluster port on 127.0.0.1 (default 55432; GRAFT_BENCH_PORT)
#   --out FILE       where the report goes (default: see --quick / --full)
#   --no-build       use the graft extension already installed (skip cargo pgrx install)
#   --keep           leave the cluster running at the end (to profile by hand)
#   -h, --help       this text
#
# Parts (README.md in this directory has the details):
#   1  in-database: graphql.resolve(...) vs the hand-written SQL of bench/kit/sql, pgbench -M prepared
#   2  over HTTP: the graft sidecar vs PostGraphile (pinned in bench/package.json), oha
#   3  cold start: first graphql.resolve in a new backend (and first answer of `graft serve`) with
#      100 and 1,000 tracked tables (bench/kit/gen_wide.sql), backend / sidecar RSS
#   4  memory: sidecar RSS idle and under load
#   profile  pg_stat_statements and EXPLAIN ANALYZE (auto_explain) of Graft's generated SQL vs
#            the hand-written SQL, once per query, after the timed rounds
# Parts 2 and 4 need the sidecar binary target/release/graft (built here when crates/server
# exists). Without it part 2 runs PostGraphile alone in --full mode (a baseline, no ratio) and
# is skipped in --quick mode; part 4 is skipped.
#
# Every answer is checked against the hand-written SQL's JSON before it is timed; a mismatch
# fails the run (exit 1) after the report is written. Slow numbers never fail the run.
# Raw results, logs and EXPLAIN output: bench/out/ (git-ignored).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/../scripts/lib.sh"
# The commit the run starts from (the tree may move on while a full run takes half an hour).
START_COMMIT="$(cd "$GRAFT_ROOT" && git rev-parse --short HEAD)$(cd "$GRAFT_ROOT" && git diff --quiet HEAD -- src crates sql 2>/dev/null || echo '+dirty')"

# ---- options ---------------------------------------------------------------------------
MODE=full
ROUNDS=
DURATION=
CLIENTS=2
CONCURRENCY=8
SCALE=
PARTS="1,2,3,4,profile"
PORT="${GRAFT_BENCH_PORT:-55432}"
OUT_FILE=
BUILD=1
KEEP=0
ORIG_ARGS=("$@")

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) MODE=quick ;;
        --full) MODE=full ;;
        --rounds) ROUNDS="${2:?--rounds needs a number}"; shift ;;
        --duration) DURATION="${2:?--duration needs seconds}"; shift ;;
        --clients) CLIENTS="${2:?--clients needs a number}"; shift ;;
        --concurrency) CONCURRENCY="${2:?--concurrency needs a number}"; shift ;;
        --scale) SCALE="${2:?--scale needs a number}"; shift ;;
        --parts) PARTS="${2:?--parts needs a list}"; shift ;;
        --port) PORT="${2:?--port needs a number}"; shift ;;
        --out) OUT_FILE="${2:?--out needs a file}"; shift ;;
        --no-build) BUILD=0 ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done
if [ "$MODE" = quick ]; then
    : "${ROUNDS:=1}" "${DURATION:=1}" "${SCALE:=0.5}"
    WIDE_ROUNDS=3 WARMUP=0 PROFILE_SECONDS=1
    : "${OUT_FILE:=$BENCH_DIR/out/RESULTS-quick.md}"
else
    : "${ROUNDS:=5}" "${DURATION:=10}" "${SCALE:=10}"
    WIDE_ROUNDS=10 WARMUP=3 PROFILE_SECONDS=5
    : "${OUT_FILE:=$BENCH_DIR/RESULTS.md}"
fi
for v in ROUNDS DURATION CLIENTS CONCURRENCY PORT; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive integer (got '${!v}')"
done
[[ "$SCALE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--scale must be a number (got '$SCALE')"
want_part() { [[ ",$PARTS," == *",$1,"* ]]; }
for p in ${PARTS//,/ }; do
    case "$p" in 1|2|3|4|profile) ;; *) die "--parts: unknown part '$p' (1,2,3,4,profile)" ;; esac
done

QUERIES=(b1_pk b2_list b3_nested b4_agg b5_perm b6_insert b7_deep b8_pk_vars)
# Over HTTP every request of a run has the same body (oha), so b8 (a new id per call) is
# measured in the database only.
HTTP_QUERIES=(b1_pk b2_list b3_nested b4_agg b5_perm b6_insert b7_deep)
KIT="$BENCH_DIR/kit"
OUT="$BENCH_DIR/out"
RESULTS="$OUT/results.jsonl"
GRAFT_BIN="$GRAFT_ROOT/target/release/graft"
DB=bench
B5_SESSION='{"x-hasura-role": "user", "x-hasura-user-id": "42"}'
PG_HTTP_PORT=$((PORT + 10))     # PostGraphile
GRAFT_HTTP_PORT=$((PORT + 11))  # graft serve
JWT_SECRET="graft-bench-$(date +%s)"
FAILURES=()

mkdir -p "$OUT"
rm -rf "$OUT/check" "$OUT/explain" "$OUT/pgbench" "$OUT/generated"
mkdir -p "$OUT/check" "$OUT/explain" "$OUT/pgbench" "$OUT/generated"
: > "$RESULTS"

PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
psql_db() { "${PSQL[@]}" -d "${PGDB:-$DB}" "$@"; }
# One value (unaligned, tuples only) from a statement.
sql_value() { psql_db -At -c "$1"; }

record() { echo "$1" >> "$RESULTS"; }
tool() { node "$BENCH_DIR/lib/tool.mjs" "$@"; }
jobj() { tool obj "$@"; }
# A failure (wrong answer, or a query that errors) makes the run exit 1 after the report.
# $1 = what failed: a query (part 1) or query@impl (part 2), which is then not timed; or "".
# $2 = the message.
declare -A BAD=()
fail() {
    [ -z "$1" ] || BAD[$1]=1
    FAILURES+=("$2")
    printf '%sFAIL:%s %s\n' "$_c_bold$_c_red" "$_c_off" "$2" >&2
}
is_bad() { [ -n "${BAD[$1]:-}" ]; }
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
now_ms() { date +%s%3N; }
elapsed() { echo "$(( $(date +%s) - RUN_START ))s"; }

# ---- cleanup ---------------------------------------------------------------------------
TMP=
PIDS_TO_STOP=()
cleanup() {
    local rc=$?
    local pid
    for pid in "${PIDS_TO_STOP[@]}"; do
        kill_tree "$pid"
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        [ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null || true
        if [ "$KEEP" = 1 ] && [ -d "$TMP/data" ] && cluster_running "$TMP/data"; then
            log "--keep: cluster left running: psql -h 127.0.0.1 -p $PORT -U postgres $DB"
            log "stop it with: runuser -u postgres -- $PG_BINDIR/pg_ctl -D $TMP/data stop; rm -rf $TMP"
        else
            if [ -d "$TMP/data" ] && cluster_running "$TMP/data"; then
                stop_cluster "$TMP/data" || warn "could not stop the bench cluster in $TMP/data"
            fi
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stop a process we started and its children (PostGraphile's cluster workers), by pid.
kill_tree() {
    local pid="$1" child
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do kill_tree "$child"; done
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

# Resident set size in kB of a process and all its descendants (VmRSS summed).
tree_rss_kb() {
    local pid="$1" total=0 rss child
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + ${rss:-0}))
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do
        total=$((total + $(tree_rss_kb "$child")))
    done
    echo "$total"
}

RUN_START=$(date +%s)
section "Graft benchmark ($MODE): rounds $ROUNDS x ${DURATION}s, scale $SCALE, parts $PARTS"
info "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; load $(load_now)"
command -v node >/dev/null 2>&1 || die "node is needed (JSON helpers, the report, PostGraphile): scripts/install-deps.sh installs it"
require_pg_binaries
[ -x "$PG_BINDIR/pgbench" ] || die "pgbench not found in $PG_BINDIR (it comes with postgresql-$GRAFT_PG_MAJOR)"
port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is in use (a leftover bench cluster?); use --port or GRAFT_BENCH_PORT"
LOAD_START=$(load_now)

# ---- build -----------------------------------------------------------------------------
section "build"
if [ "$BUILD" = 1 ]; then
    log "cargo pgrx install --release --pg-config $PG_CONFIG"
    install_extension
else
    log "--no-build: using the graft extension installed in PostgreSQL $GRAFT_PG_MAJOR"
fi
graft_extension_installed || die "the graft extension is not installed ($("$PG_CONFIG" --sharedir)/extension/graft.control); drop --no-build"

# The system PostgreSQL is shared: anyone's `cargo pgrx install` replaces graft.so, and every
# new backend (each pgbench run connects anew) would load whatever is installed at that moment.
# So the cluster runs from a private copy of the PostgreSQL installation (binaries, pkglibdir,
# sharedir; PostgreSQL finds them relative to its binary) taken right after the install.
TMP="$(mktemp -d /tmp/graft-bench.XXXXXX)"
chmod 755 "$TMP"
snapshot_pg() {
    local root="$TMP/pg" sys_share sys_lib
    sys_share="$("$PG_CONFIG" --sharedir)"
    sys_lib="$("$PG_CONFIG" --pkglibdir)"
    rm -rf "$root"
    mkdir -p "$root"
    # (not cp --parents: coreutils 9.1 fails on it with -a)
    local d
    for d in "$(dirname "$PG_BINDIR")" "$sys_share"; do
        mkdir -p "$root$(dirname "$d")"
        cp -a "$d" "$root$(dirname "$d")/"
    done
    if [ ! -f "$root$sys_lib/graft.so" ]; then
        mkdir -p "$root$(dirname "$sys_lib")"
        cp -a "$sys_lib" "$root$(dirname "$sys_lib")/"
    fi
    GRAFT_SO_SUM=$(md5sum "$root$sys_lib/graft.so" | cut -d' ' -f1)
}
SYS_GRAFT_SO="$("$PG_CONFIG" --pkglibdir)/graft.so"
BUILT_SO="$GRAFT_ROOT/target/release/libgraft.so"
for attempt in 1 2 3; do
    snapshot_pg
    # After our own install the copy must be the library we just built.
    if [ "$BUILD" = 0 ] || [ "$GRAFT_SO_SUM" = "$(md5sum "$BUILT_SO" | cut -d' ' -f1)" ]; then
        break
    fi
    [ "$attempt" -lt 3 ] || die "the installed graft.so keeps differing from $BUILT_SO (another install running?)"
    warn "the installed graft.so is not the one just built (someone else installed in between): installing again"
    install_extension
done
SYS_PG_BINDIR="$PG_BINDIR"
PG_BINDIR="$TMP/pg$SYS_PG_BINDIR"
info "private PostgreSQL copy: $TMP/pg (graft.so md5 $GRAFT_SO_SUM)"
HAVE_SIDECAR=0
if want_part 2 || want_part 3 || want_part 4; then
    if [ -f "$GRAFT_ROOT/crates/server/Cargo.toml" ]; then
        server_pkg=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$GRAFT_ROOT/crates/server/Cargo.toml" | head -1)
        log "cargo build --release -p $server_pkg --bin graft (the sidecar, crates/server)"
        (cd "$GRAFT_ROOT" && cargo build --release -p "$server_pkg" --bin graft)
    fi
    if [ -x "$GRAFT_BIN" ]; then
        HAVE_SIDECAR=1
        info "sidecar: $GRAFT_BIN"
    else
        warn "no sidecar binary ($GRAFT_BIN; crates/server does not exist yet): parts 2 and 4 and the sidecar cold start are skipped"
    fi
fi

# ---- cluster ---------------------------------------------------------------------------
section "cluster"
as_root chown postgres: "$TMP"
log "initdb + start PostgreSQL $GRAFT_PG_MAJOR on 127.0.0.1:$PORT ($TMP/data)"
init_cluster "$TMP/data" --no-sync
# fsync/full_page_writes off and synchronous_commit off: a throwaway cluster, data loaded in
# seconds, and b6 (insert) measures Graft's work rather than this VM's disk flush latency.
# pg_stat_statements is preloaded but tracks nothing until the profile pass turns it on.
write_cluster_conf "$TMP/data" "$PORT" \
    "shared_buffers = 256MB" \
    "work_mem = 16MB" \
    "maintenance_work_mem = 512MB" \
    "max_connections = 100" \
    "fsync = off" \
    "synchronous_commit = off" \
    "full_page_writes = off" \
    "max_wal_size = 8GB" \
    "checkpoint_timeout = 30min" \
    "autovacuum = off" \
    "shared_preload_libraries = 'pg_stat_statements'" \
    "pg_stat_statements.track = none" \
    "pg_stat_statements.max = 1000" \
    "lc_messages = 'C'" \
    "log_min_messages = warning" \
    "log_line_prefix = '%m [%p] %q%u@%d '"
start_cluster "$TMP/data" "$TMP/server.log"
PG_SETTINGS=$(PGDB=postgres sql_value "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
    WHERE name IN ('shared_buffers','work_mem','fsync','synchronous_commit','full_page_writes','jit','autovacuum','max_wal_size')")
PG_VERSION=$(PGDB=postgres sql_value "SHOW server_version")
info "PostgreSQL $PG_VERSION; $PG_SETTINGS"

# ---- data ------------------------------------------------------------------------------
section "data (gen_synth.sql, scale $SCALE)"
PGDB=postgres psql_db -c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8'"
t0=$(now_ms)
psql_db -v scale="$SCALE" -f "$KIT/gen_synth.sql" -o /dev/null 2> >(grep -v 'does not exist, skipping' >&2)
LOAD_SECONDS=$(( ($(now_ms) - t0) / 1000 ))
ROWS=$(sql_value "SELECT (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM articles) || ' articles, ' || (SELECT count(*) FROM comments) || ' comments'")
DB_SIZE=$(sql_value "SELECT pg_size_pretty(pg_database_size(current_database()))")
info "loaded $ROWS ($DB_SIZE) in ${LOAD_SECONDS}s"
log "CREATE EXTENSION graft; track_all('public'); select permission for role user on articles"
psql_db -At -o /dev/null <<'SQL'
CREATE EXTENSION graft;
CREATE EXTENSION pg_stat_statements;  -- the profile pass reads it; tracks nothing until then
SELECT graphql.track_all('public');
-- b5: role "user" sees its own articles; the session variable is bound as a parameter, the
-- hand-written SQL (kit/sql/b5_perm.sql) inlines X-Hasura-User-Id = 42.
SELECT graphql.metadata('{"type": "pg_create_select_permission",
  "args": {"source": "default", "table": {"schema": "public", "name": "articles"}, "role": "user",
           "permission": {"columns": ["id", "title", "rating"],
                          "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}');
SQL
# metadata() answers errors as JSON instead of raising: check the permission and the
# relationships the queries use really exist.
sql_value "SELECT graphql.export_metadata()" > "$OUT/metadata.json"
missing=$(sql_value "WITH t AS (SELECT json_array_elements(graphql.export_metadata()->'sources'->0->'tables') AS t),
    have AS (SELECT t->'table'->>'name' || ':' || (r->>'name') AS x FROM t,
               json_array_elements(coalesce(t->'object_relationships', '[]')) r
             UNION ALL SELECT t->'table'->>'name' || ':' || (r->>'name') FROM t, json_array_elements(coalesce(t->'array_relationships', '[]')) r
             UNION ALL SELECT t->'table'->>'name' || ':select_permission:' || (p->>'role') FROM t, json_array_elements(coalesce(t->'select_permissions', '[]')) p)
    SELECT string_agg(w, ', ') FROM unnest(ARRAY['users:articles', 'articles:comments', 'comments:user', 'articles:select_permission:user']) w
    WHERE w NOT IN (SELECT x FROM have)")
[ -z "$missing" ] || die "missing after track_all / pg_create_select_permission: $missing (see bench/out/metadata.json)"

# ---- queries ---------------------------------------------------------------------------
# The GraphQL text of query $1 (bench/kit/gql/$1.hasura.json).
gql_text() { tool get "$KIT/gql/$1.hasura.json" query; }
# The hand-written SQL of query $1 without its trailing semicolon and comment lines.
ideal_sql() { grep -v '^[[:space:]]*--' "$KIT/sql/$1.sql" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' | sed '$ s/;[[:space:]]*$//'; }
session_sql() { if [ "$1" = b5_perm ]; then echo "'$B5_SESSION'"; else echo NULL; fi; }
# The variables of query $1 as SQL: NULL, or (b8) its id, :id, as psql and pgbench set it.
vars_sql() { if [ "$1" = b8_pk_vars ]; then echo "json_build_object('id', (:id)::bigint)"; else echo NULL; fi; }
# The graphql.resolve call of query $1 (dollar-quoted GraphQL, never spliced unquoted).
graft_sql() {
    local q; q=$(gql_text "$1")
    [[ "$q" != *'$gql$'* ]] || die "query $1 contains \$gql\$"
    printf 'SELECT graphql.resolve($gql$%s$gql$, %s, %s)' "$q" "$(vars_sql "$1")" "$(session_sql "$1")"
}
# b8's id: a random user per call in pgbench, the id of its GraphQL variables in the checks.
B8_ID=$(tool get "$KIT/gql/b8_pk_vars.hasura.json" variables.id)
PSQL+=(-v id="$B8_ID")
NUSERS=$(sql_value "SELECT count(*) FROM users")
for q in "${QUERIES[@]}"; do
    [ -f "$KIT/gql/$q.hasura.json" ] && [ -f "$KIT/sql/$q.sql" ] || die "bench/kit is missing $q (gql/$q.hasura.json or sql/$q.sql)"
    for impl in graft ideal; do
        {
            if [ "$q" = b8_pk_vars ]; then echo "\\set id random(1, $NUSERS)"; fi
            if [ "$impl" = graft ]; then graft_sql "$q"; else ideal_sql "$q"; fi
            echo ';'
        } > "$OUT/pgbench/$q.$impl.sql"
    done
done

# ---- correctness -----------------------------------------------------------------------
# Read queries: graphql.resolve(...) and the hand-written SQL in one statement, compared as jsonb.
check_read_query() {
    local q="$1" line ok
    line=$(psql_db -At -F $'\t' <<SQL
SELECT (g::jsonb = h::jsonb), replace(g::text, E'\n', ' '), replace(h::text, E'\n', ' ')
FROM ($(graft_sql "$q")) AS a(g), (
$(ideal_sql "$q")
) AS b(h);
SQL
    ) || { fail "$q" "$q: the correctness check did not run (psql error above)"; return; }
    ok=$(cut -f1 <<< "$line")
    cut -f2 <<< "$line" > "$OUT/check/$q.graft.json"
    cut -f3 <<< "$line" > "$OUT/check/$q.ideal.json"
    if [ "$ok" = t ]; then
        info "$q: graphql.resolve = hand-written SQL ($(wc -c < "$OUT/check/$q.ideal.json") bytes of JSON)"
    else
        fail "$q" "$q: graphql.resolve's JSON differs from the hand-written SQL's (bench/out/check/$q.*.json)"
        diff <(tool pretty "$OUT/check/$q.ideal.json") <(tool pretty "$OUT/check/$q.graft.json") |
            head -20 | sed 's/^/      /' >&2 || true
    fi
}

# b6: both inserts in one transaction, rolled back: the same id (sequence reset in between),
# the same response and the same row.
check_insert() {
    local q=b6_insert out
    out=$(psql_db -At <<SQL
BEGIN;
SELECT max(id) AS base FROM comments \gset
SELECT setval(pg_get_serial_sequence('comments', 'id'), :base) \gset
SELECT ($(graft_sql "$q"))::text AS g \gset
SELECT coalesce((SELECT to_jsonb(c) - 'id' FROM comments c WHERE c.id = (:'g'::jsonb #>> '{data,insert_comments_one,id}')::bigint), 'null') AS grow \gset
DELETE FROM comments WHERE id > :base;
SELECT setval(pg_get_serial_sequence('comments', 'id'), :base) \gset
$(ideal_sql "$q") \gset h_
SELECT coalesce((SELECT to_jsonb(c) - 'id' FROM comments c WHERE c.id = (:'h_json_build_object'::jsonb #>> '{data,insert_comments_one,id}')::bigint), 'null') AS hrow \gset
ROLLBACK;
SELECT setval(pg_get_serial_sequence('comments', 'id'), :base) \gset
SELECT (:'g'::jsonb = :'h_json_build_object'::jsonb AND :'grow'::jsonb = :'hrow'::jsonb AND :'hrow'::jsonb <> 'null'), :'g', :'h_json_build_object';
SQL
    ) || { fail "$q" "$q: the correctness check did not run (psql error above)"; return; }
    out=$(tail -n1 <<< "$out")
    echo "$out" | cut -d'|' -f2 > "$OUT/check/$q.graft.json"
    echo "$out" | cut -d'|' -f3 > "$OUT/check/$q.ideal.json"
    if [ "${out%%|*}" = t ]; then
        info "$q: graphql.resolve inserts the same row and answers the same JSON ($(cat "$OUT/check/$q.graft.json"))"
    else
        fail "$q" "$q: the insert differs: graft $(cat "$OUT/check/$q.graft.json"), hand-written $(cat "$OUT/check/$q.ideal.json")"
    fi
}

if want_part 1 || want_part profile; then
    section "correctness: graphql.resolve vs hand-written SQL (jsonb equality)"
    for q in "${QUERIES[@]}"; do
        if [ "$q" = b6_insert ]; then check_insert; else check_read_query "$q"; fi
    done
    record "$(jobj part=check1 failures:="${#FAILURES[@]}")"
fi

# ---- part 1 ----------------------------------------------------------------------------
# b6 adds comments to article 1; remove them after every b6 run so every round sees the data
# the correctness check saw.
COMMENTS_BASE=$(sql_value "SELECT max(id) FROM comments")
reset_inserts() {
    psql_db -c "DELETE FROM comments WHERE id > $COMMENTS_BASE" -c "VACUUM comments" >/dev/null
}

# pgbench run: $1 script, $2 duration; prints "tps latency_ms failed".
run_pgbench() {
    local script="$1" dur="$2" log="$3"
    "$PG_BINDIR/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$dur" -f "$script" \
        -h 127.0.0.1 -p "$PORT" -U postgres "$DB" > "$log" 2>&1 ||
        { cat "$log" >&2; return 1; }
    local tps lat failed
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$log")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    [ -n "$tps" ] && [ -n "$lat" ] || { cat "$log" >&2; return 1; }
    echo "$tps $lat ${failed:-0}"
}

if want_part 1; then
    section "part 1: in-database, pgbench -M prepared, $CLIENTS clients, $ROUNDS rounds x ${DURATION}s"
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        warn "correctness failures above: part 1 times only the queries that answered correctly"
    fi
    [ "$WARMUP" -eq 0 ] || log "warm-up: every script for ${WARMUP}s"
    for q in "${QUERIES[@]}"; do
        [ "$WARMUP" -gt 0 ] || break
        for impl in graft ideal; do
            run_pgbench "$OUT/pgbench/$q.$impl.sql" "$WARMUP" "$OUT/pgbench/$q.$impl.warmup.log" >/dev/null ||
                fail "$q" "$q ($impl): pgbench failed during warm-up (bench/out/pgbench/$q.$impl.warmup.log)"
        done
        if [ "$q" = b6_insert ]; then reset_inserts; fi
    done
    for r in $(seq 1 "$ROUNDS"); do
        log "round $r/$ROUNDS (load $(load_now), $(elapsed))"
        for q in "${QUERIES[@]}"; do
            if is_bad "$q"; then continue; fi
            # Alternate which implementation goes first (ABBA), so drift hits both alike.
            if (( r % 2 )); then order=(graft ideal); else order=(ideal graft); fi
            line=$(printf '  %-10s' "$q")
            for impl in "${order[@]}"; do
                if res=$(run_pgbench "$OUT/pgbench/$q.$impl.sql" "$DURATION" "$OUT/pgbench/$q.$impl.r$r.log"); then
                    read -r tps lat failed <<< "$res"
                    record "$(jobj part:=1 query="$q" impl="$impl" round:="$r" tps:="$tps" lat_ms:="$lat" failed:="$failed" load="$(load_now)")"
                    line+=$(printf '  %-5s %9.1f tps %8.3f ms' "$impl" "$tps" "$lat")
                    [ "$failed" = 0 ] || fail "" "$q ($impl): $failed failed transactions in round $r"
                else
                    fail "" "$q ($impl): pgbench failed in round $r (bench/out/pgbench/$q.$impl.r$r.log)"
                fi
                if [ "$q" = b6_insert ]; then reset_inserts; fi
            done
            echo "$line"
        done
    done
fi

# ---- profile ---------------------------------------------------------------------------
# Where the time goes: pg_stat_statements with track = all sees the outer SELECT
# graphql.resolve(...) and the SQL Graft generated and ran through SPI; auto_explain prints the
# plan of every (nested) statement with actual times.
if want_part profile; then
    section "profile: pg_stat_statements (track = all) and EXPLAIN ANALYZE via auto_explain"
    PGDB=postgres psql_db -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" \
        -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    for q in "${QUERIES[@]}"; do
        psql_db -c "SELECT pg_stat_statements_reset()" >/dev/null
        for impl in graft ideal; do
            "$PG_BINDIR/pgbench" -n -M prepared -c 1 -T "$PROFILE_SECONDS" -f "$OUT/pgbench/$q.$impl.sql" \
                -h 127.0.0.1 -p "$PORT" -U postgres "$DB" > "$OUT/pgbench/$q.$impl.profile.log" 2>&1 ||
                fail "" "$q ($impl): pgbench failed in the profile pass"
        done
        if [ "$q" = b6_insert ]; then reset_inserts; fi
        # toplevel: the statement pgbench sent; nested: what graphql.resolve ran through SPI.
        psql_db -At -c "SELECT json_build_object('part', 'profile', 'query', '$q', 'statements', coalesce(json_agg(json_build_object(
                'toplevel', toplevel, 'calls', calls, 'mean_exec_ms', mean_exec_time, 'mean_plan_ms', mean_plan_time,
                'plans', plans, 'rows', rows, 'shared_blks_hit', shared_blks_hit, 'query', query) ORDER BY total_exec_time DESC), '[]'))
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND calls >= 5 AND query !~ 'pg_stat_statements_reset'" >> "$RESULTS"
        # EXPLAIN ANALYZE of the 7th call in one backend: Graft's SPI plan and pgbench's
        # prepared statement have both settled (custom vs generic plan) by then.
        for impl in graft ideal; do
            {
                echo "LOAD 'auto_explain';"
                echo "SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;"
                echo "SET auto_explain.log_buffers = on; SET auto_explain.log_nested_statements = on;"
                echo "SET auto_explain.log_level = 'notice'; SET client_min_messages = 'warning';"
                # (without b8's pgbench \set: psql sets :id itself)
                echo "PREPARE p AS $(grep -v '^\\set' "$OUT/pgbench/$q.$impl.sql" | tr '\n' ' ')"
                for i in 1 2 3 4 5 6; do echo "EXECUTE p;"; done
                if [ "$q" = b6_insert ]; then echo "DELETE FROM comments WHERE id > $COMMENTS_BASE;"; fi
                echo "SET client_min_messages = 'notice';"
                echo "EXECUTE p;"
            } | psql_db -o /dev/null > "$OUT/explain/$q.$impl.txt" 2>&1 ||
                warn "$q ($impl): auto_explain pass failed (bench/out/explain/$q.$impl.txt)"
        done
        if [ "$q" = b6_insert ]; then reset_inserts; fi
        # The SQL Graft generated, as it ran (pg_stat_statements shows constants as $n).
        sed -n 's/^Query Text: //p' "$OUT/explain/$q.graft.txt" | grep -v '^PREPARE p AS' | sed 's/$/;/' > "$OUT/generated/$q.sql" || true
        info "$q: bench/out/explain/$q.{graft,ideal}.txt, generated SQL in bench/out/generated/$q.sql"
    done
    PGDB=postgres psql_db -c "ALTER SYSTEM RESET pg_stat_statements.track" \
        -c "ALTER SYSTEM RESET pg_stat_statements.track_planning" -c "SELECT pg_reload_conf()" >/dev/null
fi

# ---- part 3: cold start ----------------------------------------------------------------
WIDE_QUERY='{ t50(order_by: {id: asc}, limit: 2) { id name parent { id name } t51s { id } } }'
# The first graphql.resolve in a fresh backend (library load, metadata + catalog load, schema
# build, compile, plan) and the second one, with the backend's RSS before and after.
cold_backend() {
    local db="$1"
    PGDB="$db" psql_db -At -F ' ' <<SQL
SELECT pg_read_file('/proc/self/status') AS s0 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT length(graphql.resolve(\$gql\$$WIDE_QUERY\$gql\$)::text) AS len1, clock_timestamp() AS t1 \gset
SELECT length(graphql.resolve(\$gql\$$WIDE_QUERY\$gql\$)::text) AS len2, clock_timestamp() AS t2 \gset
SELECT pg_read_file('/proc/self/status') AS s1 \gset
SELECT extract(epoch FROM (:'t1'::timestamptz - :'t0'::timestamptz)) * 1000,
       extract(epoch FROM (:'t2'::timestamptz - :'t1'::timestamptz)) * 1000,
       (regexp_match(:'s0', 'VmRSS:\s+(\d+)'))[1], (regexp_match(:'s1', 'VmRSS:\s+(\d+)'))[1],
       (regexp_match(:'s0', 'RssAnon:\s+(\d+)'))[1], (regexp_match(:'s1', 'RssAnon:\s+(\d+)'))[1];
SQL
}
# Start `graft serve` on database $1, time it to its first answered query; prints "ms rss_kb".
cold_sidecar() {
    local db="$1" t0 pid ms
    t0=$(now_ms)
    HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/$db" \
    HASURA_GRAPHQL_SERVER_HOST=127.0.0.1 HASURA_GRAPHQL_SERVER_PORT="$GRAFT_HTTP_PORT" \
    HASURA_GRAPHQL_ENABLE_CONSOLE=false HASURA_GRAPHQL_LOG_LEVEL=warn RUST_LOG=warn \
        "$GRAFT_BIN" serve > "$OUT/graft-serve-cold.log" 2>&1 &
    pid=$!
    PIDS_TO_STOP+=("$pid")
    if ms=$(tool wait "http://127.0.0.1:$GRAFT_HTTP_PORT/v1/graphql" "$(tool obj query="$WIDE_QUERY")" "$t0" "$pid" 60000); then
        echo "$ms $(tree_rss_kb "$pid")"
    else
        tail -5 "$OUT/graft-serve-cold.log" >&2
        echo "failed 0"
    fi
    kill_tree "$pid"
}

if want_part 3; then
    section "part 3: cold start with 100 and 1,000 tracked tables (gen_wide.sql), $WIDE_ROUNDS rounds"
    for n in 100 1000; do
        PGDB=postgres psql_db -c "CREATE DATABASE wide$n TEMPLATE template0"
        t0=$(now_ms)
        PGOPTIONS="-c bench.n=$n" PGDB="wide$n" psql_db -f "$KIT/gen_wide.sql" -o /dev/null
        gen_ms=$(( $(now_ms) - t0 ))
        t0=$(now_ms)
        PGDB="wide$n" psql_db -At -o /dev/null -c "CREATE EXTENSION graft" -c "SELECT graphql.track_all('public')"
        track_ms=$(( $(now_ms) - t0 ))
        tracked=$(PGDB="wide$n" sql_value "SELECT json_array_length(graphql.export_metadata()->'sources'->0->'tables')")
        info "wide$n: $tracked tables tracked (generated in ${gen_ms}ms, track_all in ${track_ms}ms)"
        record "$(jobj part=3setup tables:="$n" tracked:="$tracked" gen_ms:="$gen_ms" track_all_ms:="$track_ms")"
        # Correctness: the answer must match what the hand-written join returns.
        ok=$(PGDB="wide$n" sql_value "SELECT graphql.resolve(\$gql\$$WIDE_QUERY\$gql\$)::jsonb =
            (SELECT json_build_object('data', json_build_object('t50', coalesce(json_agg(json_build_object('id', t.id, 'name', t.name,
                'parent', (SELECT json_build_object('id', p.id, 'name', p.name) FROM t49 p WHERE p.id = t.parent_id),
                't51s', (SELECT coalesce(json_agg(json_build_object('id', c.id) ORDER BY c.id), '[]') FROM t51 c WHERE c.parent_id = t.id))
              ORDER BY t.id), '[]'))) FROM (SELECT * FROM t50 ORDER BY id LIMIT 2) t)::jsonb")
        [ "$ok" = t ] || fail "" "part 3 (wide$n): graphql.resolve's answer differs from the hand-written SQL's"
        for r in $(seq 1 "$WIDE_ROUNDS"); do
            read -r first second rss0 rss1 anon0 anon1 <<< "$(cold_backend "wide$n")"
            record "$(jobj part:=3 kind=backend tables:="$n" round:="$r" first_ms:="$first" second_ms:="$second" \
                rss_before_kb:="$rss0" rss_after_kb:="$rss1" anon_before_kb:="$anon0" anon_after_kb:="$anon1" load="$(load_now)")"
            printf '    round %d: first resolve %.1f ms, second %.2f ms, backend RSS %d -> %d MB\n' \
                "$r" "$first" "$second" $((rss0 / 1024)) $((rss1 / 1024))
        done
        if [ "$HAVE_SIDECAR" = 1 ]; then
            for r in $(seq 1 "$WIDE_ROUNDS"); do
                read -r ms rss <<< "$(cold_sidecar "wide$n")"
                if [[ "$ms" =~ ^[0-9]+$ ]]; then
                    record "$(jobj part:=3 kind=sidecar tables:="$n" round:="$r" first_ms:="$ms" rss_kb:="$rss")"
                    info "round $r: graft serve start -> first answer ${ms} ms, sidecar RSS $((rss / 1024)) MB"
                else
                    fail "" "part 3 (wide$n): graft serve did not answer ($ms; bench/out/graft-serve-cold.log)"
                    break
                fi
            done
        fi
    done
fi

# ---- parts 2 and 4: HTTP ---------------------------------------------------------------
PGL_PID=
GRAFT_PID=
start_postgraphile() {
    local workers="${BENCH_POSTGRAPHILE_WORKERS:-$(nproc)}"
    local args=(-c "postgres://postgres@127.0.0.1:$PORT/$DB" -s public -n 127.0.0.1 -p "$PG_HTTP_PORT"
        --simple-collections both --append-plugins @graphile/pg-aggregates
        --disable-query-log --disable-graphiql --jwt-secret "$JWT_SECRET")
    if [ "$workers" -gt 1 ]; then args+=(--cluster-workers "$workers"); fi
    log "PostGraphile $(node -p "require('$BENCH_DIR/node_modules/postgraphile/package.json').version") on 127.0.0.1:$PG_HTTP_PORT ($workers worker(s))"
    "$BENCH_DIR/node_modules/.bin/postgraphile" "${args[@]}" > "$OUT/postgraphile.log" 2>&1 &
    PGL_PID=$!
    PIDS_TO_STOP+=("$PGL_PID")
    wait_http "http://127.0.0.1:$PG_HTTP_PORT/graphql" "$PGL_PID" "$OUT/postgraphile.log"
}
start_graft_serve() {
    log "graft serve on 127.0.0.1:$GRAFT_HTTP_PORT"
    HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/$DB" \
    HASURA_GRAPHQL_SERVER_HOST=127.0.0.1 HASURA_GRAPHQL_SERVER_PORT="$GRAFT_HTTP_PORT" \
    HASURA_GRAPHQL_ENABLE_CONSOLE=false HASURA_GRAPHQL_LOG_LEVEL=warn RUST_LOG=warn \
        "$GRAFT_BIN" serve > "$OUT/graft-serve.log" 2>&1 &
    GRAFT_PID=$!
    PIDS_TO_STOP+=("$GRAFT_PID")
    wait_http "http://127.0.0.1:$GRAFT_HTTP_PORT/v1/graphql" "$GRAFT_PID" "$OUT/graft-serve.log"
}
# Wait (up to 60s) until a GraphQL endpoint answers { __typename }.
wait_http() {
    local url="$1" pid="$2" logf="$3" ms
    if ms=$(tool wait "$url" '{"query":"{ __typename }"}' "$(now_ms)" "$pid" 60000); then
        info "answering after ${ms} ms"
    else
        tail -20 "$logf" >&2
        die "the server behind $url did not answer (log: $logf)"
    fi
}
# The request body and headers per implementation and query.
http_body() {
    local impl="$1" q="$2"
    if [ "$impl" = graft ]; then
        tr -d '\n' < "$KIT/gql/$q.hasura.json"
    else
        tool gql-body "$BENCH_DIR/postgraphile/$q.graphql"
    fi
}
http_url() { if [ "$1" = graft ]; then echo "http://127.0.0.1:$GRAFT_HTTP_PORT/v1/graphql"; else echo "http://127.0.0.1:$PG_HTTP_PORT/graphql"; fi; }
http_headers() {
    local impl="$1" q="$2"
    echo "content-type: application/json"
    if [ "$q" = b5_perm ]; then
        if [ "$impl" = graft ]; then
            echo "x-hasura-role: user"
            echo "x-hasura-user-id: 42"
        else
            echo "authorization: Bearer $PGL_JWT"
        fi
    fi
}
http_request() {
    local impl="$1" q="$2" args=() h
    while IFS= read -r h; do args+=("$h"); done < <(http_headers "$impl" "$q")
    tool post "$(http_url "$impl")" "$(http_body "$impl" "$q")" "${args[@]}"
}
# Check one server's answer to query $2 against the hand-written SQL.
check_http() {
    local impl="$1" q="$2" resp ok
    resp=$(http_request "$impl" "$q") || { fail "$q@$impl" "$q ($impl over HTTP): no response"; return; }
    printf '%s\n' "$resp" > "$OUT/check/$q.$impl-http.json"
    if [ "$q" = b6_insert ]; then
        local id
        if [ "$impl" = graft ]; then
            id=$(tool get "$OUT/check/$q.$impl-http.json" data.insert_comments_one.id 2>/dev/null || true)
        else
            id=$(tool get "$OUT/check/$q.$impl-http.json" data.createComment.comment.id 2>/dev/null || true)
        fi
        ok=f
        [[ "$id" =~ ^[0-9]+$ ]] && ok=$(sql_value "SELECT count(*) = 1 FROM comments WHERE id = $id AND article_id = 1 AND user_id = 2 AND body = 'bench'")
        reset_inserts
    elif [ "$impl" = graft ]; then
        # Graft: the same JSON as the hand-written SQL (jsonb equality, as in part 1).
        # (the answer goes in through a file: b7's is megabytes, too long for an argument)
        ok=$(psql_db -At <<SQL
\set resp \`cat "$OUT/check/$q.$impl-http.json"\`
SELECT :'resp'::jsonb = (
$(ideal_sql "$q")
)::jsonb;
SQL
        ) || ok=f
    else
        # PostGraphile: its own shapes; node maps them onto Hasura's and compares the data.
        if node "$BENCH_DIR/lib/compare.mjs" "$q" "$OUT/check/$q.ideal.json" "$OUT/check/$q.$impl-http.json" > "$OUT/check/$q.$impl-http.diff" 2>&1; then
            ok=t
        else
            ok=f
        fi
    fi
    if [ "$ok" = t ]; then
        info "$q ($impl): same data as the hand-written SQL"
    else
        fail "$q@$impl" "$q ($impl over HTTP): the answer differs from the hand-written SQL's (bench/out/check/$q.$impl-http.*): $(head -c 300 "$OUT/check/$q.$impl-http.json")"
        if [ -s "$OUT/check/$q.$impl-http.diff" ]; then head -10 "$OUT/check/$q.$impl-http.diff" | sed 's/^/      /' >&2; fi
    fi
}
OHA=
ensure_oha() {
    if command -v oha >/dev/null 2>&1; then OHA=$(command -v oha); return; fi
    log "cargo install oha --locked (once; cached in ~/.cargo/bin)"
    cargo install oha --locked
    OHA=$(command -v oha) || die "oha is not on PATH after cargo install"
}
# One oha run; prints "rps p50_ms p99_ms ok_fraction max_rss_kb".
run_oha() {
    local impl="$1" q="$2" dur="$3" json="$4" pid args=() h sampler rssf
    while IFS= read -r h; do args+=(-H "$h"); done < <(http_headers "$impl" "$q")
    if [ "$impl" = graft ]; then pid="$GRAFT_PID"; else pid="$PGL_PID"; fi
    rssf="$json.rss"
    : > "$rssf"
    ( while :; do tree_rss_kb "$pid" >> "$rssf"; sleep 0.2; done ) &
    sampler=$!
    "$OHA" -z "${dur}s" -c "$CONCURRENCY" --no-tui --output-format json -m POST "${args[@]}" \
        -d "$(http_body "$impl" "$q")" "$(http_url "$impl")" > "$json" 2> "$json.err" || true
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    tool oha "$json" "$rssf" 2>/dev/null || { cat "$json.err" >&2; return 1; }
}

if want_part 2 || want_part 4; then
    section "parts 2 and 4: HTTP, oha -c $CONCURRENCY, $ROUNDS rounds x ${DURATION}s"
    if [ "$HAVE_SIDECAR" = 0 ] && [ "$MODE" = quick ]; then
        info "SKIPPED: no sidecar binary ($GRAFT_BIN); --quick skips PostGraphile alone too"
        record '{"part": "2skip", "reason": "no sidecar binary (target/release/graft)"}'
    else
        [ "$HAVE_SIDECAR" = 1 ] || info "no sidecar binary ($GRAFT_BIN): PostGraphile alone (a baseline, no ratio); part 4 skipped"
        [ "$HAVE_SIDECAR" = 1 ] || record '{"part": "2skip", "reason": "no sidecar binary (target/release/graft): PostGraphile baseline only"}'
        log "npm ci in bench/ (PostGraphile, pinned in package.json / package-lock.json)"
        (cd "$BENCH_DIR" && npm ci --no-audit --no-fund --loglevel=error)
        ensure_oha
        info "oha: $("$OHA" --version)"
        # PostGraphile's permissioned query: a JWT role and row-level security on articles (the
        # superuser connections of Graft and the hand-written SQL bypass RLS).
        psql_db -o /dev/null <<'SQL'
SET client_min_messages = warning;
DO $$ BEGIN CREATE ROLE bench_user NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT USAGE ON SCHEMA public TO bench_user;
GRANT SELECT ON articles TO bench_user;
ALTER TABLE articles ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS bench_user_own ON articles;
CREATE POLICY bench_user_own ON articles FOR SELECT TO bench_user
    USING (author_id = nullif(current_setting('jwt.claims.user_id', true), '')::bigint);
SQL
        PGL_JWT=$(node "$BENCH_DIR/lib/jwt.mjs" "$JWT_SECRET" 42)
        IMPLS=(postgraphile)
        start_postgraphile
        if [ "$HAVE_SIDECAR" = 1 ]; then
            start_graft_serve
            IMPLS=(graft postgraphile)
            sleep 2
            idle=$(tree_rss_kb "$GRAFT_PID")
            record "$(jobj part:=4 impl=graft state="idle after start" rss_kb:="$idle")"
            info "graft serve idle RSS: $((idle / 1024)) MB"
        fi
        record "$(jobj part:=4 impl=postgraphile state="idle after start" rss_kb:="$(tree_rss_kb "$PGL_PID")")"
        log "correctness over HTTP"
        for q in "${HTTP_QUERIES[@]}"; do
            [ -f "$OUT/check/$q.ideal.json" ] || { psql_db -At -c "$(ideal_sql "$q")" > "$OUT/check/$q.ideal.json"; }
            for impl in "${IMPLS[@]}"; do check_http "$impl" "$q"; done
        done
        if [ "$HAVE_SIDECAR" = 1 ]; then
            idle=$(tree_rss_kb "$GRAFT_PID")
            record "$(jobj part:=4 impl=graft state="idle after one request per query" rss_kb:="$idle")"
        fi
        [ "$WARMUP" -eq 0 ] || log "warm-up: every query on every server for ${WARMUP}s"
        for q in "${HTTP_QUERIES[@]}"; do
            [ "$WARMUP" -gt 0 ] || break
            for impl in "${IMPLS[@]}"; do run_oha "$impl" "$q" "$WARMUP" "$OUT/oha.warmup.json" >/dev/null || true; done
            if [ "$q" = b6_insert ]; then reset_inserts; fi
        done
        for r in $(seq 1 "$ROUNDS"); do
            log "round $r/$ROUNDS (load $(load_now), $(elapsed))"
            for q in "${HTTP_QUERIES[@]}"; do
                order=()
                for impl in "${IMPLS[@]}"; do is_bad "$q@$impl" || order+=("$impl"); done
                if (( r % 2 == 0 )) && [ "${#order[@]}" -eq 2 ]; then order=("${order[1]}" "${order[0]}"); fi
                line=$(printf '  %-10s' "$q")
                for impl in "${order[@]}"; do
                    if res=$(run_oha "$impl" "$q" "$DURATION" "$OUT/oha.$q.$impl.r$r.json"); then
                        read -r rps p50 p99 okrate rss <<< "$res"
                        record "$(jobj part:=2 query="$q" impl="$impl" round:="$r" rps:="$rps" p50_ms:="$p50" p99_ms:="$p99" \
                            success:="$okrate" rss_max_kb:="$rss" load="$(load_now)")"
                        line+=$(printf '  %-12s %8.1f req/s p50 %7.2f ms p99 %7.2f ms' "$impl" "$rps" "$p50" "$p99")
                    else
                        fail "" "$q ($impl): oha failed in round $r (bench/out/oha.$q.$impl.r$r.json.err)"
                    fi
                    if [ "$q" = b6_insert ]; then reset_inserts; fi
                done
                echo "$line"
            done
        done
        if [ "$HAVE_SIDECAR" = 1 ]; then
            sleep 2
            record "$(jobj part:=4 impl=graft state="idle after the load" rss_kb:="$(tree_rss_kb "$GRAFT_PID")")"
        fi
        record "$(jobj part:=4 impl=postgraphile state="idle after the load" rss_kb:="$(tree_rss_kb "$PGL_PID")")"
        if [ -n "$GRAFT_PID" ]; then kill_tree "$GRAFT_PID"; fi
        kill_tree "$PGL_PID"
    fi
fi

# ---- report ----------------------------------------------------------------------------
section "report"
LOAD_END=$(load_now)
if [ "$(md5sum "$SYS_GRAFT_SO" | cut -d' ' -f1)" != "$GRAFT_SO_SUM" ]; then
    info "the system graft.so changed during the run (another install); this run used its private copy throughout"
fi
jobj \
    mode="$MODE" command="bench/run.sh ${ORIG_ARGS[*]}" \
    commit="$START_COMMIT" \
    date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
    nproc="$(nproc)" cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
    ram="$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
    kernel="$(uname -r)" os="$(. /etc/os-release && echo "$PRETTY_NAME")" \
    load_start="$LOAD_START" load_end="$LOAD_END" \
    pg="$PG_VERSION" pg_settings="$PG_SETTINGS" \
    rows="$ROWS" db_size="$DB_SIZE" load_seconds="$LOAD_SECONDS" scale="$SCALE" \
    rounds:="$ROUNDS" duration:="$DURATION" clients:="$CLIENTS" concurrency:="$CONCURRENCY" \
    parts="$PARTS" sidecar:="$HAVE_SIDECAR" graft_so="$GRAFT_SO_SUM" \
    pgl_workers="${BENCH_POSTGRAPHILE_WORKERS:-$(nproc)}" \
    postgraphile="$(node -p "require('$BENCH_DIR/node_modules/postgraphile/package.json').version" 2>/dev/null || echo 'not installed')" \
    oha="$( [ -n "$OHA" ] && "$OHA" --version || echo '')" \
    node="$(node --version)" wall="$(elapsed)" \
    failures:="$(tool arr "${FAILURES[@]}")" > "$OUT/meta.json"
node "$BENCH_DIR/lib/report.mjs" "$OUT/meta.json" "$RESULTS" "$OUT_FILE"
log "wrote ${OUT_FILE#"$GRAFT_ROOT"/} (raw: bench/out/results.jsonl) in $(elapsed)"

if [ "${#FAILURES[@]}" -gt 0 ]; then
    echo
    printf '%s%d correctness failure(s):%s\n' "$_c_bold$_c_red" "${#FAILURES[@]}" "$_c_off" >&2
    printf '  %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
log "all answers matched the hand-written SQL"
