#!/usr/bin/env bash
# A reinstall must not disturb a running cluster (issue 12 item 14).
#
#   tests/install/run.sh            reinstall the package built by the last install_extension
#                                   (target/graft-package) while a cluster has graft loaded
#   tests/install/run.sh --help     this text
#
# The cluster preloads graft (its postmaster, worker and every backend map graft.so), and one
# session keeps a backend that has run graphql.resolve. The package is installed again, as
# scripts/lib.sh's install_extension does (each file written beside its target, then renamed).
# Then: the old session still answers, the postmaster and the event worker are the same
# processes, a new session (which loads the new file) answers, and the server log shows no
# crash. Before, `cargo pgrx install` rewrote graft.so in place and every such process died.
# Environment: GRAFT_INSTALL_PORT (default 55651); GRAFT_INSTALL_IN_PLACE=1 copies the files
# over the installed ones in place instead, as `cargo pgrx install` did, to show that this test
# catches it (it crashes every cluster on the machine that has graft loaded: run it alone).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

case "${1:-}" in
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

PORT="${GRAFT_INSTALL_PORT:-55651}"
PKG="$GRAFT_ROOT/target/graft-package"
[ -d "$PKG" ] || die "no package at $PKG: run install_extension (scripts/test.sh regress) first"
require_pg_binaries
port_in_use "$PORT" && die "port $PORT is in use (set GRAFT_INSTALL_PORT)"

WORK="$(mktemp -d /tmp/graft-install-test.XXXXXX)"
chmod 755 "$WORK"
DATA="$WORK/data"
passed=0; failed=0
check() {
    if [ "$2" = ok ]; then passed=$((passed + 1)); echo "  ok   $1"; else failed=$((failed + 1)); echo "  FAIL $1${3:+: $3}"; fi
}
cleanup() {
    [ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null || true
    as_postgres "$PG_BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

init_cluster "$DATA"
write_cluster_conf "$DATA" "$PORT" "shared_preload_libraries = 'graft'" "graft.event_databases = 'inst'"
as_postgres "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start >/dev/null
psql_() { "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE inst"
psql_ -d inst -c "CREATE EXTENSION graft; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)" \
      -c "SELECT graphql.track_table('t')" >/dev/null

postmaster_pid="$(head -1 "$DATA/postmaster.pid")"
worker_pid() { psql_ -d postgres -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'graft event worker'"; }
for _ in $(seq 50); do [ -n "$(worker_pid)" ] && break; sleep 0.2; done
worker="$(worker_pid)"
[ -n "$worker" ] || die "the event worker did not start"

# A session that keeps its backend (graft.so mapped) across the reinstall.
mkfifo "$WORK/in"
psql_ -d inst < "$WORK/in" > "$WORK/out" 2>&1 &
HOLD_PID=$!
exec 3> "$WORK/in"
ask() {  # ask QUERY MARKER: send a query, wait for the marker line in the output
    echo "$1" >&3; echo "SELECT '$2';" >&3
    for _ in $(seq 100); do grep -q "^$2\$" "$WORK/out" && return 0; sleep 0.1; done
    return 1
}
ask "SELECT graphql.resolve('{ t { id } }');" before
grep -q '"t" : \[{"id" : 1}\]' "$WORK/out" && check "the held session answers before" ok || check "the held session answers before" fail "$(cat "$WORK/out")"

log "reinstalling the package while the cluster runs"
if [ "${GRAFT_INSTALL_IN_PLACE:-}" = 1 ]; then
    (cd "$PKG" && find . -type f | while read -r f; do as_root cp "$f" "/${f#./}"; done)
else
    install_package_atomically "$PKG"
fi

ask "SELECT graphql.resolve('{ t { id, __typename } }');" after &&
    grep -q '"__typename" : "t"' "$WORK/out" && check "the held session still answers after" ok ||
    check "the held session still answers after" fail "$(tail -5 "$WORK/out")"
[ "$(head -1 "$DATA/postmaster.pid" 2>/dev/null)" = "$postmaster_pid" ] && kill -0 "$postmaster_pid" 2>/dev/null &&
    check "the postmaster is the same process" ok || check "the postmaster is the same process" fail
[ "$(worker_pid)" = "$worker" ] && check "the event worker is the same process" ok ||
    check "the event worker is the same process" fail "was $worker, now $(worker_pid)"
fresh="$(psql_ -d inst -c "SELECT graphql.resolve('{ t { id } }')" 2>&1 || true)"
case "$fresh" in *'"id" : 1'*) check "a new session (new graft.so) answers" ok ;; *) check "a new session (new graft.so) answers" fail "$fresh" ;; esac
if grep -Eq "terminated by signal|was terminated|server process .* exited|PANIC|all server processes terminated" "$DATA/server.log"; then
    check "the server log shows no crash" fail "$(grep -E 'terminated|PANIC|exited' "$DATA/server.log" | head -3)"
else
    check "the server log shows no crash" ok
fi
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
