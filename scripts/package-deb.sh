#!/usr/bin/env bash
# Build a Debian package of the extension for the system PostgreSQL 15:
#   target/deb/postgresql-15-graft_<version>_<arch>.deb
#
#   scripts/package-deb.sh            build it (release build through `cargo pgrx package`)
#   scripts/package-deb.sh --help     this text
#
# Install it the way DBAs install extensions:   apt-get install ./target/deb/postgresql-15-graft_*.deb
# (or dpkg -i). dpkg unpacks each file beside its target and renames it into place, so a
# running cluster that has graft loaded is not disturbed; its new backends load the new build.
# Then, in a database: CREATE EXTENSION graft; and for event triggers, add graft to
# shared_preload_libraries and restart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) die "unknown argument $1 (see --help)" ;;
esac

command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found: this builds a Debian package, on Debian"
require_pg_binaries
cd "$GRAFT_ROOT"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
arch="$(dpkg --print-architecture)"
name="postgresql-${GRAFT_PG_MAJOR}-graft"
root="$GRAFT_ROOT/target/deb/${name}_${version}_${arch}"
deb="$GRAFT_ROOT/target/deb/${name}_${version}_${arch}.deb"

log "cargo pgrx package (release) for $("$PG_CONFIG" --version)"
rm -rf "$root"
cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$root"
[ -f "$root$("$PG_CONFIG" --pkglibdir)/graft.so" ] || die "the package has no graft.so"

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: Graft developers <graft@localhost>
Depends: postgresql-$GRAFT_PG_MAJOR
Section: database
Priority: optional
Installed-Size: $(du -sk "$root" | cut -f1)
Description: Hasura's instant GraphQL API as a PostgreSQL extension
 Graft compiles each GraphQL operation into one SQL statement and runs it in
 the database: CREATE EXTENSION graft, track tables, and call
 graphql.resolve('{ ... }'). The graft sidecar binary serves Hasura's HTTP API.
EOF

log "dpkg-deb --build"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
info "$deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --contents "$deb" | awk '{print "    " $NF}'
