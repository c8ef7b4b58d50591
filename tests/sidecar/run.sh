#!/usr/bin/env bash
# Sidecar integration test: a throwaway PostgreSQL with the demo blog, `graft serve` in front
# of it, and a Python client (requests, PyJWT) talking real HTTP: GraphQL, batching, metadata,
# admin secret, JWT, database restart.
# The extension must be installed (cargo pgrx install); the sidecar is built here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
export RUST_BACKTRACE=0
cd "$GRAFT_ROOT"
require_pg_binaries

PG_PORT="${GRAFT_SIDECAR_PG_PORT:-54339}"
HTTP_PORT="${GRAFT_SIDECAR_HTTP_PORT:-18080}"
TMP="$(mktemp -d /tmp/graft-sidecar.XXXXXX)"
chmod 755 "$TMP"
chown postgres "$TMP"
PGDATA_DIR="$TMP/data"
SIDECAR_PID=

cleanup() {
    local rc=$?
    [ -z "$SIDECAR_PID" ] || kill "$SIDECAR_PID" 2>/dev/null || true
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    if [ "$rc" -ne 0 ] && [ -f "$TMP/sidecar.log" ]; then
        echo "---- sidecar log (last 20 lines) ----"; tail -n 20 "$TMP/sidecar.log"
    fi
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT

port_in_use "$PG_PORT" && die "port $PG_PORT is in use (set GRAFT_SIDECAR_PG_PORT)"
port_in_use "$HTTP_PORT" && die "port $HTTP_PORT is in use (set GRAFT_SIDECAR_HTTP_PORT)"

log "building the sidecar"
cargo build -q --release -p graft-server
BIN="$GRAFT_ROOT/target/release/graft"

log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
init_cluster "$PGDATA_DIR" --no-sync
write_cluster_conf "$PGDATA_DIR" "$PG_PORT" "fsync = off" "lc_messages = 'C'"
start_cluster "$PGDATA_DIR" "$TMP/pg.log"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE sidecar"
"${PSQL[@]}" -d sidecar -f demo/demo.sql >/dev/null
"${PSQL[@]}" -d sidecar -c "CREATE EXTENSION graft" -c "SELECT graphql.track_all('public')" >/dev/null

log "Python test client (requests, PyJWT)"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q --disable-pip-version-check requests==2.32.3 PyJWT==2.10.1

JWT_KEY="graft-test-key-0123456789abcdef0123456789"
export GRAFT_URL="http://127.0.0.1:$HTTP_PORT" GRAFT_ADMIN_SECRET="s3cret" GRAFT_JWT_KEY="$JWT_KEY"
export GRAFT_PG_RESTART="$TMP/restart-pg.sh"
cat > "$GRAFT_PG_RESTART" <<SH
#!/usr/bin/env bash
source "$GRAFT_ROOT/scripts/lib.sh"
case "\$1" in
  stop) stop_cluster "$PGDATA_DIR" ;;
  start) start_cluster "$PGDATA_DIR" "$TMP/pg.log" ;;
esac
SH
chmod +x "$GRAFT_PG_RESTART"

log "starting graft serve on 127.0.0.1:$HTTP_PORT"
HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/sidecar" \
HASURA_GRAPHQL_SERVER_PORT="$HTTP_PORT" \
HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
HASURA_GRAPHQL_JWT_SECRET="{\"type\": \"HS256\", \"key\": \"$JWT_KEY\"}" \
HASURA_GRAPHQL_UNAUTHORIZED_ROLE="anonymous" \
    "$BIN" serve > "$TMP/sidecar.log" 2>&1 &
SIDECAR_PID=$!
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done

"$TMP/venv/bin/python" tests/sidecar/test_http.py
