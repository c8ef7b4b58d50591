#!/usr/bin/env bash
# Install what building and testing Graft needs, and only what is missing:
#   - Debian packages: postgresql-15, postgresql-server-dev-15, clang, libclang-dev, sudo,
#     postgresql-15-postgis-3 (pg_test's PostGIS cases; ltree ships with postgresql-15)
#     (and nodejs + npm if node is missing: tests/introspection and tests/sidecar run on node;
#     python3 + python3-venv if `python3 -m venv` does not work: tests/sidecar's Python client)
#   - cargo-pgrx 0.18.0 (cargo install, about 5 minutes the first time)
#   - cargo pgrx init against the system PostgreSQL 15
# Safe to run again: with everything present it changes nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGRX_VERSION=0.18.0
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-postgis-3 clang libclang-dev sudo)

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install these packages by hand: $*"
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        apt_updated=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# --- Debian packages ----------------------------------------------------------------------
log "Checking Debian packages: ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do
    pkg_installed "$p" || missing+=("$p")
done
# A C toolchain is needed to link Rust code; Rust installs normally bring it, but check.
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
else
    info "all present"
fi

# --- Node.js (tests/introspection checks the schema with graphql-js) --------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node/npm missing (needed by tests/introspection): installing Debian's nodejs and npm"
    apt_install nodejs npm
fi

# --- Python venv (tests/sidecar installs its Python client into a throwaway venv) ------------
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "python3 venv support missing (needed by tests/sidecar): installing Debian's python3-venv"
    apt_install python3 python3-venv
fi

# --- Rust / cargo -------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 ||
    die "cargo not found (looked in PATH and ~/.cargo/bin). Install a Rust toolchain (https://rustup.rs) and re-run."

# --- cargo-pgrx ---------------------------------------------------------------------------
log "Checking cargo-pgrx $PGRX_VERSION"
have_pgrx="$(cargo pgrx --version 2>/dev/null || true)"
if [ "$have_pgrx" = "cargo-pgrx $PGRX_VERSION" ]; then
    info "$have_pgrx present"
else
    info "found: ${have_pgrx:-none}; installing cargo-pgrx $PGRX_VERSION (takes several minutes)"
    # cargo-pgrx's own dependencies may want OpenSSL headers and pkg-config.
    extra=()
    pkg_installed pkg-config || extra+=(pkg-config)
    pkg_installed libssl-dev || extra+=(libssl-dev)
    [ "${#extra[@]}" -eq 0 ] || apt_install "${extra[@]}"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    have_pgrx="$(cargo pgrx --version)"
    [ "$have_pgrx" = "cargo-pgrx $PGRX_VERSION" ] ||
        die "after installing, 'cargo pgrx --version' says '$have_pgrx' (is another cargo-pgrx earlier in PATH?)"
fi

# --- cargo pgrx init ----------------------------------------------------------------------
log "Checking pgrx configuration for pg$GRAFT_PG_MAJOR"
pgrx_config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if [ -f "$pgrx_config" ] && grep -Eq "^pg${GRAFT_PG_MAJOR}[[:space:]]*=" "$pgrx_config"; then
    info "$pgrx_config has pg$GRAFT_PG_MAJOR"
else
    info "running cargo pgrx init --pg$GRAFT_PG_MAJOR $PG_CONFIG"
    cargo pgrx init "--pg$GRAFT_PG_MAJOR" "$PG_CONFIG"
fi

log "Dependencies ready"
