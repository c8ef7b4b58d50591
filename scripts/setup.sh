#!/usr/bin/env bash
# Set up and start Graft for local development:
#   1. install missing dependencies (scripts/install-deps.sh)
#   2. build the extension (release) and install it into the system PostgreSQL 15
#   3. create (first run) and start a local cluster, run as the `postgres` OS user,
#      listening on 127.0.0.1 only, trust authentication (development only!), with graft in
#      shared_preload_libraries so its event worker delivers graft_demo's event triggers
#   4. create the `graft_demo` database with the demo blog (demo/demo.sql),
#      CREATE EXTENSION graft, and track every table of schema public
#   5. build and start `graft serve`, the Hasura-compatible HTTP sidecar, on 127.0.0.1:8080
#      (scripts/serve.sh; HASURA_GRAPHQL_* variables in the environment reach it)
#
# Safe to run again: existing data is kept, the cluster and the sidecar are (re)started, the
# extension is rebuilt and reinstalled if the sources changed. Stop both with scripts/stop.sh.
#
# Environment:
#   GRAFT_PGDATA   data directory   (default /var/lib/graft/pgdata)
#   GRAFT_PGPORT   port on 127.0.0.1 (default 5433)
#   GRAFT_SERVE_PORT    sidecar port on 127.0.0.1 (default 8080)
#   GRAFT_SKIP_DEPS=1   skip step 1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGDATA_DIR="${GRAFT_PGDATA:-/var/lib/graft/pgdata}"
PORT="${GRAFT_PGPORT:-5433}"
DB=graft_demo
LOGFILE="$PGDATA_DIR/server.log"

[[ "$PORT" =~ ^[0-9]+$ ]] || die "GRAFT_PGPORT must be a port number, got '$PORT'"

section "1/5 Dependencies"
if [ "${GRAFT_SKIP_DEPS:-0}" = 1 ]; then
    info "skipped (GRAFT_SKIP_DEPS=1)"
else
    "$GRAFT_ROOT/scripts/install-deps.sh"
fi
require_pg_binaries

section "2/5 Build and install the graft extension (release)"
install_extension

section "3/5 PostgreSQL cluster in $PGDATA_DIR (127.0.0.1:$PORT)"
if [ -f "$PGDATA_DIR/PG_VERSION" ]; then
    v="$(cat "$PGDATA_DIR/PG_VERSION")"
    [ "$v" = "$GRAFT_PG_MAJOR" ] || die "$PGDATA_DIR holds a PostgreSQL $v cluster, not $GRAFT_PG_MAJOR; set GRAFT_PGDATA to another directory"
    info "cluster exists, keeping its data"
else
    [ -z "$(ls -A "$PGDATA_DIR" 2>/dev/null)" ] ||
        die "$PGDATA_DIR exists, is not empty and is not a PostgreSQL data directory; set GRAFT_PGDATA to another directory"
    log "initdb $PGDATA_DIR (as postgres)"
    parent="$(dirname "$PGDATA_DIR")"
    if [ ! -d "$parent" ]; then
        as_root mkdir -p "$parent"
        as_root chown postgres: "$parent"
    fi
    as_postgres test -x "$parent" ||
        die "the postgres OS user cannot reach $parent (check its permissions and those of its parents), or set GRAFT_PGDATA elsewhere"
    init_cluster "$PGDATA_DIR"
fi

# Decide what to do before touching the configuration, so a port clash changes nothing.
# graft is preloaded (its event worker), and a preloaded library is only reloaded by a
# restart: a running cluster is restarted so it runs the extension just installed.
action=start
if cluster_running "$PGDATA_DIR"; then
    running_port="$(cluster_running_port "$PGDATA_DIR")"
    action=restart
fi
if [ "$action" = start ] || [ "$running_port" != "$PORT" ]; then
    port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another server; set GRAFT_PGPORT (or stop that server)"
fi

# Our settings live in graft.conf (included from postgresql.conf) and are re-written each run.
write_cluster_conf "$PGDATA_DIR" "$PORT" \
    "# Trust authentication on loopback: for local development only (see pg_hba.conf)." \
    "# Graft's background worker delivers event triggers and scheduled events of these databases." \
    "shared_preload_libraries = 'graft'" \
    "graft.event_databases = '$DB'"

case "$action" in
    restart)
        log "cluster is running (port $running_port); restarting it on $PORT with the new build"
        stop_cluster "$PGDATA_DIR"
        start_cluster "$PGDATA_DIR" "$LOGFILE" ;;
    start)
        log "starting PostgreSQL (log: $LOGFILE)"
        start_cluster "$PGDATA_DIR" "$LOGFILE" ;;
esac

PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)

section "4/5 Database $DB"
if [ "$("${PSQL[@]}" -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
    log "creating database $DB"
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
if [ "$("${PSQL[@]}" -d "$DB" -Atc "SELECT to_regclass('public.authors') IS NULL")" = t ]; then
    log "loading the demo blog (demo/demo.sql)"
    "${PSQL[@]}" -d "$DB" -f "$GRAFT_ROOT/demo/demo.sql"
else
    info "demo tables present, keeping their data"
fi
# While Graft is developed its version stays the same but its install script changes, and
# CREATE EXTENSION IF NOT EXISTS would keep the old functions. So remember which script the
# database was set up with and, when it changed, re-create the extension, carrying the
# metadata (tracked tables, permissions, ...) over with export_metadata / replace_metadata.
default_version="$("${PSQL[@]}" -d "$DB" -Atc "SELECT default_version FROM pg_available_extensions WHERE name = 'graft'")"
[ -n "$default_version" ] || die "PostgreSQL does not see the graft extension; did step 2 install it?"
script="$("$PG_CONFIG" --sharedir)/extension/graft--$default_version.sql"
script_sum="$(cat "$script" "$("$PG_CONFIG" --sharedir)/extension/graft.control" | sha256sum | cut -d' ' -f1)"
stamp="$PGDATA_DIR/graft-extension.$DB.sha256"
installed_version="$("${PSQL[@]}" -d "$DB" -Atc "SELECT extversion FROM pg_extension WHERE extname = 'graft'")"
if [ -z "$installed_version" ]; then
    log "CREATE EXTENSION graft ($default_version)"
    "${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION graft"
elif [ "$installed_version" = "$default_version" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$script_sum" ]; then
    info "extension graft $installed_version is up to date"
else
    log "the graft extension changed since $DB was set up: re-creating it, keeping the metadata"
    saved="$(mktemp)"
    if "${PSQL[@]}" -d "$DB" -Atc "SELECT graphql.export_metadata()" > "$saved" 2>/dev/null && [ -s "$saved" ]; then
        info "saved the metadata ($(wc -c < "$saved") bytes)"
    else
        warn "could not export the metadata of the old extension; tables are tracked again below"
        : > "$saved"
    fi
    "${PSQL[@]}" -d "$DB" -c "DROP EXTENSION graft CASCADE" -c "CREATE EXTENSION graft"
    if [ -s "$saved" ]; then
        if "${PSQL[@]}" -d "$DB" -v md="$(cat "$saved")" >/dev/null <<'SQL'
SELECT graphql.metadata(json_build_object('type', 'replace_metadata', 'version', 2, 'args',
    json_build_object('allow_inconsistent_metadata', true, 'metadata', :'md'::json)));
SQL
        then
            info "metadata restored"
        else
            warn "could not restore the saved metadata (kept in $saved); tables are tracked again below"
            saved=
        fi
    fi
    [ -z "$saved" ] || rm -f "$saved"
fi
echo "$script_sum" > "$stamp"
log "SELECT graphql.track_all('public')"
"${PSQL[@]}" -d "$DB" -Atc "SELECT graphql.track_all('public')" >/dev/null
section_end

section "5/5 graft serve (HTTP sidecar)"
GRAFT_PGDATA="$PGDATA_DIR" GRAFT_PGPORT="$PORT" "$GRAFT_ROOT/scripts/serve.sh"
section_end

cat <<EOF

Graft is running.
  cluster:  $PGDATA_DIR  (log: $LOGFILE)
  connect:  psql -h 127.0.0.1 -p $PORT -U postgres $DB
  URL:      postgresql://postgres@127.0.0.1:$PORT/$DB
  GraphQL:  http://127.0.0.1:${GRAFT_SERVE_PORT:-8080}/v1/graphql  (console: /console)

Try a first query:
  psql -At -h 127.0.0.1 -p $PORT -U postgres $DB -c "SELECT graphql.resolve('{ authors { name articles { title } } }')"

Stop it with scripts/stop.sh; run scripts/setup.sh again to start it (data is kept).
EOF
