#!/usr/bin/env bash
# Sidecar integration test: a throwaway PostgreSQL with the demo blog, three `graft serve`
# instances in front of it, and real HTTP clients:
#   A  admin secrets + five JWT configs (HS256, RS256 from a JWKS URL, cookie + claims_map,
#      custom header + stringified claims, RS256 X.509 certificate), metrics behind the admin
#      secret, CORS `*`
#   B  POST auth webhook, only graphql+metrics enabled, metrics secret, CORS domain list,
#      stringified numerics, GraphiQL console
#   C  GET auth webhook, CORS disabled, only startup and webhook logs
# The Python client (requests, PyJWT, cryptography) also runs the JWKS server and the webhook;
# then a Node client (graphql-js, graphql-request) checks introspection, queries and errors.
# The extension must be installed (cargo pgrx install); the sidecar is built here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
export RUST_BACKTRACE=0
cd "$GRAFT_ROOT"
require_pg_binaries

PG_PORT="${GRAFT_SIDECAR_PG_PORT:-54339}"
HTTP_PORT="${GRAFT_SIDECAR_HTTP_PORT:-18080}"
PORT_B=$((HTTP_PORT + 1))
PORT_C=$((HTTP_PORT + 2))
JWKS_PORT=$((HTTP_PORT + 3))
HOOK_PORT=$((HTTP_PORT + 4))
TMP="$(mktemp -d /tmp/graft-sidecar.XXXXXX)"
chmod 755 "$TMP"
chown postgres "$TMP"
PGDATA_DIR="$TMP/data"
SIDECAR_PIDS=()

cleanup() {
    local rc=$?
    for pid in "${SIDECAR_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    cluster_running "$PGDATA_DIR" && stop_cluster "$PGDATA_DIR" || true
    if [ "$rc" -ne 0 ]; then
        for f in "$TMP"/sidecar-*.log; do
            [ -f "$f" ] || continue
            echo "---- $f (last lines other than http-log) ----"; grep -v "\"type\":\"http-log\"" "$f" | tail -n 10
        done
    fi
    rm -rf "$TMP"
    return "$rc"
}
trap cleanup EXIT

port_in_use "$PG_PORT" && die "port $PG_PORT is in use (set GRAFT_SIDECAR_PG_PORT)"
for p in "$HTTP_PORT" "$PORT_B" "$PORT_C" "$JWKS_PORT" "$HOOK_PORT"; do
    port_in_use "$p" && die "port $p is in use (set GRAFT_SIDECAR_HTTP_PORT; it and the next four ports are used)"
done

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

log "Python test client (requests, PyJWT, cryptography)"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q --disable-pip-version-check requests==2.32.3 PyJWT==2.10.1 cryptography==44.0.2

JWT_KEY="graft-test-key-0123456789abcdef0123456789"
JWT_KEY2="graft-cookie-key-0123456789abcdef01234567"
export GRAFT_URL="http://127.0.0.1:$HTTP_PORT" GRAFT_URL_B="http://127.0.0.1:$PORT_B" GRAFT_URL_C="http://127.0.0.1:$PORT_C"
export GRAFT_ADMIN_SECRET="s3cret" GRAFT_JWT_KEY="$JWT_KEY" GRAFT_JWT_KEY2="$JWT_KEY2"
export GRAFT_JWKS_PORT="$JWKS_PORT" GRAFT_HOOK_PORT="$HOOK_PORT" GRAFT_LOG_A="$TMP/sidecar-a.log" GRAFT_LOG_B="$TMP/sidecar-b.log" GRAFT_LOG_C="$TMP/sidecar-c.log"
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

# start_sidecar NAME PORT [VAR=value ...]
start_sidecar() {
    local name="$1" port="$2"
    shift 2
    log "starting graft serve $name on 127.0.0.1:$port"
    env HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/sidecar" \
        HASURA_GRAPHQL_SERVER_PORT="$port" "$@" \
        "$BIN" serve > "$TMP/sidecar-$name.log" 2>&1 &
    SIDECAR_PIDS+=($!)
}

# An RSA key and a self-signed X.509 certificate for it (Hasura accepts certificates as keys).
"$TMP/venv/bin/python" - "$TMP" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graft-x509")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
open(f"{sys.argv[1]}/x509-key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open(f"{sys.argv[1]}/x509-cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
export GRAFT_X509_KEY="$TMP/x509-key.pem"
CERT_JSON=$("$TMP/venv/bin/python" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$TMP/x509-cert.pem")

JWT_SECRETS=$(cat <<JSON
[{"type": "HS256", "key": "$JWT_KEY"},
 {"jwk_url": "http://127.0.0.1:$JWKS_PORT/jwks", "issuer": "graft-jwk", "claims_namespace_path": "\$.hasura.claims"},
 {"type": "HS256", "key": "$JWT_KEY2", "issuer": "graft-cookie", "header": {"type": "Cookie", "name": "graft_jwt"},
  "claims_map": {"x-hasura-allowed-roles": {"path": "\$.roles"}, "x-hasura-default-role": {"path": "\$.roles[0]"},
                 "x-hasura-user-id": {"path": "\$.sub"}, "x-hasura-org": {"path": "\$.org", "default": "none"}}},
 {"type": "HS256", "key": "$JWT_KEY2", "issuer": "graft-custom", "header": {"type": "CustomHeader", "name": "X-Graft-Token"},
  "claims_format": "stringified_json"},
 {"type": "RS256", "key": $CERT_JSON, "issuer": "graft-x509"}]
JSON
)
start_sidecar a "$HTTP_PORT" \
    HASURA_GRAPHQL_ADMIN_SECRETS='["s3cret", "rotated-s3cret"]' \
    HASURA_GRAPHQL_JWT_SECRETS="$JWT_SECRETS" \
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE="anonymous" \
    HASURA_GRAPHQL_ENABLED_APIS="metadata,graphql,config,metrics"
start_sidecar b "$PORT_B" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_AUTH_HOOK="http://127.0.0.1:$HOOK_PORT/hook" \
    HASURA_GRAPHQL_AUTH_HOOK_MODE="POST" \
    HASURA_GRAPHQL_ENABLED_APIS="graphql,metrics" \
    HASURA_GRAPHQL_METRICS_SECRET="metrics-s3cret" \
    HASURA_GRAPHQL_CORS_DOMAIN="https://*.example.com, http://localhost:*" \
    HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES="true" \
    HASURA_GRAPHQL_ENABLE_CONSOLE="true"
start_sidecar c "$PORT_C" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_AUTH_HOOK="http://127.0.0.1:$HOOK_PORT/hook-get" \
    HASURA_GRAPHQL_DISABLE_CORS="true" \
    HASURA_GRAPHQL_ENABLED_LOG_TYPES="startup,webhook-log"

# Wait for /healthz (python, not curl: a fresh machine may not have curl).
python3 - "$HTTP_PORT" "$PORT_B" "$PORT_C" <<'PY' || die "graft serve did not become healthy"
import sys, time, urllib.request
for port in sys.argv[1:]:
    for _ in range(100):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200:
                break
        except Exception:
            pass
        time.sleep(0.2)
    else:
        sys.exit(1)
PY

"$TMP/venv/bin/python" tests/sidecar/test_http.py

log "Node test client (graphql-js, graphql-request)"
(cd tests/sidecar && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node tests/sidecar/test_node.mjs
