# shellcheck shell=bash
# Shared helpers for Graft's scripts. Source it; do not run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Clusters always run as the `postgres` OS user (initdb refuses root) and listen on
# 127.0.0.1 only, with no Unix socket: every client command here uses -h 127.0.0.1.

GRAFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GRAFT_ROOT

# The PostgreSQL major version Graft targets and the Debian location of its binaries.
GRAFT_PG_MAJOR=15
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/${GRAFT_PG_MAJOR}/bin/pg_config}"
PG_BINDIR="/usr/lib/postgresql/${GRAFT_PG_MAJOR}/bin"

# cargo and cargo-pgrx live in ~/.cargo/bin, which non-login shells often lack.
case ":$PATH:" in
    *":$HOME/.cargo/bin:"*) ;;
    *) [ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH" ;;
esac
export PATH

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    _c_bold=$'\033[1m'; _c_green=$'\033[32m'; _c_red=$'\033[31m'; _c_yellow=$'\033[33m'; _c_off=$'\033[0m'
else
    _c_bold=; _c_green=; _c_red=; _c_yellow=; _c_off=
fi

log()  { printf '%s==>%s %s\n' "$_c_bold$_c_green" "$_c_off" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%swarning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_c_bold$_c_red" "$_c_off" "$*" >&2; exit 1; }

# Run a command as the postgres OS user (directly if we already are postgres).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            sudo -n -u postgres -- "$@"
        fi
    else
        sudo -n -u postgres -- "$@"
    fi
}

# Run a command as root (directly if we are root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n -- "$@"; fi
}

require_pg_binaries() {
    [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_CONFIG" ] ||
        die "PostgreSQL $GRAFT_PG_MAJOR is not installed ($PG_BINDIR/initdb or $PG_CONFIG missing). Run scripts/install-deps.sh first."
    id postgres >/dev/null 2>&1 ||
        die "there is no 'postgres' OS user (it comes with the postgresql-$GRAFT_PG_MAJOR package). Run scripts/install-deps.sh first."
}

# True when the graft extension files are installed in this PostgreSQL.
graft_extension_installed() {
    local sharedir pkglibdir
    sharedir="$("$PG_CONFIG" --sharedir)"
    pkglibdir="$("$PG_CONFIG" --pkglibdir)"
    [ -f "$sharedir/extension/graft.control" ] && [ -f "$pkglibdir/graft.so" ] &&
        compgen -G "$sharedir/extension/graft--*.sql" >/dev/null
}

# Build the extension in release mode and install it into the system PostgreSQL.
# The build is incremental: a second call with nothing changed only re-copies files.
#
# Never in place: `cargo pgrx install` rewrites graft.so where it is, and every running
# backend that has it mapped (any cluster on the machine with graft loaded) then crashes,
# and the postmaster of a cluster that preloads it with them. Here the package is built into
# target/, and each file is written beside its destination and renamed over it: processes
# that have the old file mapped keep it, new ones load the new one.
install_extension() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found (looked in PATH and ~/.cargo/bin). Install Rust (rustup) first."
    local out="$GRAFT_ROOT/target/graft-package"
    rm -rf "$out"
    (cd "$GRAFT_ROOT" && cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$out")
    install_package_atomically "$out"
}

# Copy every file of the package tree $1 (laid out as absolute paths below $1) to its place,
# each through a temporary file in the destination directory and a rename.
install_package_atomically() {
    local root="$1" f rel dst tmp n=0
    [ -d "$root" ] || die "no package at $root"
    while IFS= read -r -d '' f; do
        rel="${f#"$root"}"
        dst="$rel"
        tmp="$(dirname "$dst")/.$(basename "$dst").graft-new.$$"
        as_root install -D -m 0644 "$f" "$tmp"
        as_root mv -f "$tmp" "$dst"
        n=$((n + 1))
    done < <(find "$root" -type f -print0)
    [ "$n" -gt 0 ] || die "the package at $root is empty"
    info "installed $n files (each written beside its target, then renamed into place)"
}

# A private copy of the system PostgreSQL for `cargo pgrx test`, and a PGRX_HOME configured with
# it, so test builds are installed there and never over the system's graft.so. It lives in
# /var/tmp (one per checkout), not below the checkout: the test cluster runs as postgres, which
# may not traverse the checkout's parents (a clone under /root). Sets PGRX_PRIVATE_HOME.
# Refreshed when the system PostgreSQL changes (its version string).
private_pg_for_pgrx() {
    local root="${GRAFT_PGRX_PRIVATE:-/var/tmp/graft-pgrx-private-$(printf '%s' "$GRAFT_ROOT" | md5sum | cut -c1-8)}"
    local pg="$root/pg" stamp="$root/pg/.version" version
    PGRX_PRIVATE_HOME="$root/home"
    version="$("$PG_CONFIG" --version)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$version" ]; then
        log "copying PostgreSQL $GRAFT_PG_MAJOR to $pg (cargo pgrx test installs there)"
        rm -rf "$pg"
        mkdir -p "$pg/usr/lib/postgresql" "$pg/usr/share/postgresql" "$pg/usr/include/postgresql"
        cp -a "/usr/lib/postgresql/$GRAFT_PG_MAJOR" "$pg/usr/lib/postgresql/"
        cp -a "/usr/share/postgresql/$GRAFT_PG_MAJOR" "$pg/usr/share/postgresql/"
        ln -s "/usr/include/postgresql/$GRAFT_PG_MAJOR" "$pg/usr/include/postgresql/$GRAFT_PG_MAJOR"
        # The test cluster runs as postgres and must read the libraries installed here.
        chmod -R a+rX "$root"
        [ "$("$pg/usr/lib/postgresql/$GRAFT_PG_MAJOR/bin/pg_config" --pkglibdir)" = "$pg/usr/lib/postgresql/$GRAFT_PG_MAJOR/lib" ] ||
            die "the copy of PostgreSQL in $pg is not relocatable (pg_config reports the system paths)"
        echo "$version" > "$stamp"
        rm -rf "$PGRX_PRIVATE_HOME"
    fi
    if [ ! -f "$PGRX_PRIVATE_HOME/config.toml" ]; then
        mkdir -p "$PGRX_PRIVATE_HOME"
        PGRX_HOME="$PGRX_PRIVATE_HOME" cargo pgrx init --pg15 "$pg/usr/lib/postgresql/$GRAFT_PG_MAJOR/bin/pg_config" >/dev/null
    fi
    export PGRX_PRIVATE_HOME
}

# True if something (anything) accepts or rejects PostgreSQL connections on 127.0.0.1:$1.
port_in_use() {
    local rc=0
    "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$1" -t 2 || rc=$?
    # 0 = accepting, 1 = rejecting (e.g. starting up): a server is there. 2 = no answer.
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then return 0; fi
    # Something that is not PostgreSQL may hold the port too.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# initdb a cluster in $1 as postgres (UTF-8, C.UTF-8 locale, trust auth: local development only).
# Extra arguments go to initdb.
init_cluster() {
    local pgdata="$1"; shift
    as_root mkdir -p "$pgdata"
    as_root chown postgres: "$pgdata"
    as_root chmod 700 "$pgdata"
    as_postgres "$PG_BINDIR/initdb" -D "$pgdata" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=trust "$@" >/dev/null
}

# Write Graft's settings into $1/graft.conf and make postgresql.conf include it (once).
# $2 = port; further arguments are extra "name = value" lines.
write_cluster_conf() {
    local pgdata="$1" port="$2"; shift 2
    {
        echo "# Written by Graft's scripts (scripts/lib.sh); re-written on every run. Put your own"
        echo "# settings in postgresql.conf or postgresql.auto.conf (ALTER SYSTEM) instead."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = ''"
        local line
        for line in "$@"; do echo "$line"; done
    } | as_postgres tee "$pgdata/graft.conf" >/dev/null
    if ! grep -q "^include_if_exists = 'graft.conf'" "$pgdata/postgresql.conf"; then
        printf "\n# Graft\ninclude_if_exists = 'graft.conf'\n" | as_postgres tee -a "$pgdata/postgresql.conf" >/dev/null
    fi
}

cluster_running() {
    as_postgres "$PG_BINDIR/pg_ctl" -D "$1" status >/dev/null 2>&1
}

# The port a running cluster listens on (line 4 of postmaster.pid).
cluster_running_port() {
    sed -n 4p "$1/postmaster.pid" 2>/dev/null
}

# Start the cluster in $1, logging to $2, and wait until it accepts connections.
start_cluster() {
    local pgdata="$1" logfile="$2"
    if ! as_postgres "$PG_BINDIR/pg_ctl" -D "$pgdata" -l "$logfile" -w -t 60 start >/dev/null; then
        echo "---- last lines of $logfile ----" >&2
        tail -n 30 "$logfile" >&2 || true
        die "PostgreSQL in $pgdata did not start (log: $logfile)"
    fi
}

stop_cluster() {
    as_postgres "$PG_BINDIR/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null
}

# Wall-clock section headers with timings, for test.sh and setup.sh.
_section_name=
_section_start=
section() {
    section_end
    _section_name="$*"
    _section_start=$(date +%s)
    printf '\n%s==== %s ====%s\n' "$_c_bold" "$*" "$_c_off"
}
section_end() {
    if [ -n "$_section_name" ]; then
        printf '%s---- %s: done in %ss%s\n' "$_c_bold" "$_section_name" "$(( $(date +%s) - _section_start ))" "$_c_off"
        _section_name=
    fi
}
