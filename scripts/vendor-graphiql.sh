#!/usr/bin/env bash
# Refresh the GraphiQL console that `graft serve` embeds (crates/server/assets/graphiql/):
# the production UMD builds of graphiql, react and react-dom, taken from the npm registry with
# `npm pack` (which checks each tarball against the registry's integrity hash). The binary
# serves them from memory at /console; nothing is fetched from a CDN at runtime.
#   scripts/vendor-graphiql.sh                  # the pinned versions below
#   GRAPHIQL_VERSION=3.9.0 scripts/vendor-graphiql.sh
# Then rebuild the sidecar and commit the changed assets (and update the versions in
# crates/server/assets/graphiql/README.md, which this script rewrites).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.9.0}"   # the last major with a UMD build
REACT_VERSION="${REACT_VERSION:-18.3.1}"         # React 19 ships no UMD builds
DEST="$GRAFT_ROOT/crates/server/assets/graphiql"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null 2>&1 || die "npm is needed (scripts/install-deps.sh installs it)"
log "npm pack graphiql@$GRAPHIQL_VERSION react@$REACT_VERSION react-dom@$REACT_VERSION"
(cd "$WORK" && npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null)
for pkg in graphiql react react-dom; do
    mkdir -p "$WORK/$pkg"
    tar -xzf "$WORK"/"$pkg"-[0-9]*.tgz -C "$WORK/$pkg" --strip-components=1
done

mkdir -p "$DEST"
cp "$WORK/graphiql/graphiql.min.js" "$WORK/graphiql/graphiql.min.css" "$DEST/"
cp "$WORK/react/umd/react.production.min.js" "$DEST/"
cp "$WORK/react-dom/umd/react-dom.production.min.js" "$DEST/"
cp "$WORK/graphiql/LICENSE" "$DEST/LICENSE-graphiql"
cp "$WORK/react/LICENSE" "$DEST/LICENSE-react"

cat > "$DEST/README.md" <<MD
# Vendored GraphiQL console

Served by \`graft serve\` at \`/console\` when \`HASURA_GRAPHQL_ENABLE_CONSOLE=true\`; embedded in
the binary with \`include_bytes!\` (crates/server/src/console.rs), never fetched at runtime.

| file | from (npm) | license |
|---|---|---|
| graphiql.min.js, graphiql.min.css | graphiql@$GRAPHIQL_VERSION (UMD build; needs React 18 globals) | MIT, LICENSE-graphiql |
| react.production.min.js | react@$REACT_VERSION, umd/ | MIT, LICENSE-react |
| react-dom.production.min.js | react-dom@$REACT_VERSION, umd/ | MIT, LICENSE-react |
| index.html, console.js | written for Graft | Apache-2.0 (this repository) |

Refresh with \`scripts/vendor-graphiql.sh\` (versions via GRAPHIQL_VERSION / REACT_VERSION).
MD
ls -l "$DEST"
