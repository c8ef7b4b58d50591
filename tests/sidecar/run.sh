#!/usr/bin/env bash
# Sidecar integration test: a throwaway PostgreSQL (TLS on, certificates made here) with the
# demo blog, six `graft serve` instances in front of it, and real HTTP clients:
#   A  admin secrets + JWT configs (HS256/384/512, RS256 from a JWKS URL, cookie + claims_map,
#      custom header + stringified claims, RS256 X.509 certificate, RS384, RS512, ES256,
#      allowed_skew, a claims_map path with a dot before a bracket), metrics behind the admin
#      secret, CORS `*`, HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL (a warning); sslmode prefer (the default)
#   B  POST auth webhook, only graphql+metrics enabled, metrics secret, CORS domain list (with a
#      wildcard subdomain),
#      stringified numerics, GraphiQL console; sslmode=require
#   C  GET auth webhook, CORS disabled, only startup and webhook logs; sslmode=disable
#   D  one JWT config with issuer and audience, a pool of one connection and a 1 s pool
#      timeout; sslmode=verify-full against the test CA
#   E  a database address that accepts connections and never answers (1 s timeouts)
#   F  sslmode=verify-full against a CA that did not sign the server's certificate
#   G  WebSockets: admin secret + one HS256 JWT, a 200 ms live-query refetch, 1 s keep-alive
#      and init timeout, an outgoing queue of 16 messages (test_ws.py with gql, test_ws.mjs with graphql-ws and
#      subscriptions-transport-ws; ws_live.mjs also starts an instance without change checks)
# The Python clients (requests, PyJWT, cryptography) also run the JWKS server, the webhook and
# the silent "database" of E; then a Node client (graphql-js, graphql-request) checks
# introspection, queries and errors.
# The extension must be installed (cargo pgrx install); the sidecar is built here.
# GRAFT_SIDECAR_WS_ONLY=1 runs only the WebSocket tests (G), for quick iterations.
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
PORT_D=$((HTTP_PORT + 5))
PORT_E=$((HTTP_PORT + 6))
SILENT_PORT=$((HTTP_PORT + 7))
PORT_F=$((HTTP_PORT + 8))
PORT_G=$((HTTP_PORT + 9))
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
for p in "$HTTP_PORT" "$PORT_B" "$PORT_C" "$JWKS_PORT" "$HOOK_PORT" "$PORT_D" "$PORT_E" "$SILENT_PORT" "$PORT_F" "$PORT_G"; do
    port_in_use "$p" && die "port $p is in use (set GRAFT_SIDECAR_HTTP_PORT; it and the next nine ports are used)"
done

log "building the sidecar"
cargo build -q --release -p graft-server
BIN="${CARGO_TARGET_DIR:-$GRAFT_ROOT/target}/release/graft"

log "Python test client (requests, PyJWT, cryptography, PyYAML)"
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q --disable-pip-version-check requests==2.32.3 PyJWT==2.10.1 cryptography==44.0.2 PyYAML==6.0.2 \
    "gql[websockets]==3.5.3"

# Keys and certificates: a CA and the server certificate it signs (127.0.0.1, localhost), a
# second CA that signs nothing, an RSA key with a self-signed X.509 certificate (Hasura accepts
# certificates as JWT keys), an RSA key for RS384/RS512 and an EC P-256 key for ES256.
"$TMP/venv/bin/python" - "$TMP" <<'PY'
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
def write_key(key, name):
    open(f"{out}/{name}", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
def write_public(key, name):
    open(f"{out}/{name}", "wb").write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
def cert(subject_key, cn, issuer_key=None, issuer_name=None, ca=False, san=None):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name).public_key(subject_key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key or subject_key, hashes.SHA256())
def write_cert(c, name):
    open(f"{out}/{name}", "wb").write(c.public_bytes(serialization.Encoding.PEM))
ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ca = cert(ca_key, "graft-test-ca", ca=True)
write_cert(ca, "ca.crt")
server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write_key(server_key, "server.key")
write_cert(cert(server_key, "localhost", ca_key, ca.subject, san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), "server.crt")
other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write_cert(cert(other_key, "graft-other-ca", ca=True), "other-ca.crt")
x509_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write_key(x509_key, "x509-key.pem")
write_cert(cert(x509_key, "graft-x509"), "x509-cert.pem")
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write_key(rsa_key, "rsa-key.pem")
write_public(rsa_key, "rsa-pub.pem")
ec_key = ec.generate_private_key(ec.SECP256R1())
write_key(ec_key, "ec-key.pem")
write_public(ec_key, "ec-pub.pem")
PY
chown postgres "$TMP/server.key" "$TMP/server.crt"
chmod 600 "$TMP/server.key"

log "starting PostgreSQL on 127.0.0.1:$PG_PORT (TLS on)"
init_cluster "$PGDATA_DIR" --no-sync
# graft preloaded: its change counters (graphql.table_versions) drive the live queries; an
# empty graft.event_databases, so its event launcher starts no worker (events stay undelivered
# here, as without preloading). pg_stat_statements counts the live-query statements
# (ws_live.mjs: none while nothing changes).
write_cluster_conf "$PGDATA_DIR" "$PG_PORT" "fsync = off" "lc_messages = 'C'" \
    "shared_preload_libraries = 'graft,pg_stat_statements'" "graft.event_databases = ''" \
    "ssl = on" "ssl_cert_file = '$TMP/server.crt'" "ssl_key_file = '$TMP/server.key'"
start_cluster "$PGDATA_DIR" "$TMP/pg.log"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE sidecar"
"${PSQL[@]}" -d sidecar -f demo/demo.sql >/dev/null
"${PSQL[@]}" -d sidecar -c "CREATE EXTENSION graft" -c "SELECT graphql.track_all('public')" -c "CREATE EXTENSION pg_stat_statements" >/dev/null

JWT_KEY="graft-test-key-0123456789abcdef0123456789"
JWT_KEY2="graft-cookie-key-0123456789abcdef01234567"
JWT_KEY384="graft-hs384-key-0123456789abcdef0123456789abcdef01"
JWT_KEY512="graft-hs512-key-0123456789abcdef0123456789abcdef0123456789abcdef"
JWT_KEY_SKEW="graft-skew-key-0123456789abcdef0123456789"
JWT_KEY_D="graft-d-key-0123456789abcdef0123456789abc"
export GRAFT_URL="http://127.0.0.1:$HTTP_PORT" GRAFT_URL_B="http://127.0.0.1:$PORT_B" GRAFT_URL_C="http://127.0.0.1:$PORT_C"
export GRAFT_URL_G="http://127.0.0.1:$PORT_G"
export GRAFT_URL_D="http://127.0.0.1:$PORT_D" GRAFT_URL_E="http://127.0.0.1:$PORT_E" GRAFT_URL_F="http://127.0.0.1:$PORT_F"
export GRAFT_SILENT_PORT="$SILENT_PORT" GRAFT_BIN="$BIN" GRAFT_TMP="$TMP"
export GRAFT_JWT_KEY384="$JWT_KEY384" GRAFT_JWT_KEY512="$JWT_KEY512" GRAFT_JWT_KEY_SKEW="$JWT_KEY_SKEW" GRAFT_JWT_KEY_D="$JWT_KEY_D"
export GRAFT_ADMIN_SECRET="s3cret" GRAFT_JWT_KEY="$JWT_KEY" GRAFT_JWT_KEY2="$JWT_KEY2"
export GRAFT_JWKS_PORT="$JWKS_PORT" GRAFT_HOOK_PORT="$HOOK_PORT" GRAFT_LOG_A="$TMP/sidecar-a.log" GRAFT_LOG_B="$TMP/sidecar-b.log" GRAFT_LOG_C="$TMP/sidecar-c.log"
export GRAFT_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/sidecar"
export GRAFT_PG_RESTART="$TMP/restart-pg.sh" GRAFT_PSQL="$PG_BINDIR/psql"
cat > "$GRAFT_PG_RESTART" <<SH
#!/usr/bin/env bash
source "$GRAFT_ROOT/scripts/lib.sh"
case "\$1" in
  stop) stop_cluster "$PGDATA_DIR" ;;
  start) start_cluster "$PGDATA_DIR" "$TMP/pg.log" ;;
esac
SH
chmod +x "$GRAFT_PG_RESTART"

# start_sidecar NAME PORT URL-QUERY [VAR=value ...]
start_sidecar() {
    local name="$1" port="$2" query="$3"
    shift 3
    log "starting graft serve $name on 127.0.0.1:$port"
    env HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/sidecar?application_name=graft-$name$query" \
        HASURA_GRAPHQL_SERVER_PORT="$port" "$@" \
        "$BIN" serve > "$TMP/sidecar-$name.log" 2>&1 &
    SIDECAR_PIDS+=($!)
}

export GRAFT_X509_KEY="$TMP/x509-key.pem" GRAFT_RSA_KEY="$TMP/rsa-key.pem" GRAFT_EC_KEY="$TMP/ec-key.pem"
json_file() { "$TMP/venv/bin/python" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
CERT_JSON=$(json_file "$TMP/x509-cert.pem")
RSA_JSON=$(json_file "$TMP/rsa-pub.pem")
EC_JSON=$(json_file "$TMP/ec-pub.pem")

JWT_SECRETS=$(cat <<JSON
[{"type": "HS256", "key": "$JWT_KEY"},
 {"jwk_url": "http://127.0.0.1:$JWKS_PORT/jwks", "issuer": "graft-jwk", "claims_namespace_path": "\$.hasura.claims"},
 {"type": "HS256", "key": "$JWT_KEY2", "issuer": "graft-cookie", "header": {"type": "Cookie", "name": "graft_jwt"},
  "claims_map": {"x-hasura-allowed-roles": {"path": "\$.roles"}, "x-hasura-default-role": {"path": "\$.roles[0]"},
                 "x-hasura-user-id": {"path": "\$.sub"}, "x-hasura-org": {"path": "\$.org", "default": "none"}}},
 {"type": "HS256", "key": "$JWT_KEY2", "issuer": "graft-custom", "header": {"type": "CustomHeader", "name": "X-Graft-Token"},
  "claims_format": "stringified_json"},
 {"type": "RS256", "key": $CERT_JSON, "issuer": "graft-x509"},
 {"type": "HS384", "key": "$JWT_KEY384", "issuer": "graft-hs384"},
 {"type": "HS512", "key": "$JWT_KEY512", "issuer": "graft-hs512"},
 {"type": "RS384", "key": $RSA_JSON, "issuer": "graft-rs384"},
 {"type": "RS512", "key": $RSA_JSON, "issuer": "graft-rs512"},
 {"type": "ES256", "key": $EC_JSON, "issuer": "graft-es256"},
 {"type": "HS256", "key": "$JWT_KEY_SKEW", "issuer": "graft-skew", "allowed_skew": 10},
 {"type": "HS256", "key": "$JWT_KEY_SKEW", "issuer": "graft-dotbracket",
  "claims_map": {"x-hasura-allowed-roles": {"path": "\$.['https://myapp.com/jwt/claims'].roles"},
                 "x-hasura-default-role": {"path": "\$.['https://myapp.com/jwt/claims'].roles[0]"},
                 "x-hasura-user-id": {"path": "\$.['https://myapp.com/jwt/claims'].user.id"}}}]
JSON
)
start_sidecar a "$HTTP_PORT" "" \
    HASURA_GRAPHQL_ADMIN_SECRETS='["s3cret", "rotated-s3cret"]' \
    HASURA_GRAPHQL_JWT_SECRETS="$JWT_SECRETS" \
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE="anonymous" \
    HASURA_GRAPHQL_ENABLED_APIS="metadata,graphql,config,metrics" \
    HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL=500
start_sidecar b "$PORT_B" "&sslmode=require" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_AUTH_HOOK="http://127.0.0.1:$HOOK_PORT/hook" \
    HASURA_GRAPHQL_AUTH_HOOK_MODE="POST" \
    HASURA_GRAPHQL_ENABLED_APIS="graphql,metrics" \
    HASURA_GRAPHQL_METRICS_SECRET="metrics-s3cret" \
    HASURA_GRAPHQL_CORS_DOMAIN="https://*.example.com, http://localhost:3000" \
    HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES="true" \
    HASURA_GRAPHQL_ENABLE_CONSOLE="true"
start_sidecar c "$PORT_C" "&sslmode=disable" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_AUTH_HOOK="http://127.0.0.1:$HOOK_PORT/hook-get" \
    HASURA_GRAPHQL_DISABLE_CORS="true" \
    HASURA_GRAPHQL_ENABLED_LOG_TYPES="startup,webhook-log"
start_sidecar d "$PORT_D" "&sslmode=verify-full&sslrootcert=$TMP/ca.crt" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_JWT_SECRET="{\"type\": \"HS256\", \"key\": \"$JWT_KEY_D\", \"issuer\": \"graft-d\", \"audience\": [\"graft-app\", \"graft-other\"]}" \
    HASURA_GRAPHQL_PG_CONNECTIONS=1 \
    HASURA_GRAPHQL_PG_POOL_TIMEOUT=1
# E's "database" is the Python test's silent listener on $SILENT_PORT.
log "starting graft serve e on 127.0.0.1:$PORT_E"
env HASURA_GRAPHQL_DATABASE_URL="postgres://postgres@127.0.0.1:$SILENT_PORT/sidecar" HASURA_GRAPHQL_SERVER_PORT="$PORT_E" \
    HASURA_GRAPHQL_PG_POOL_TIMEOUT=1 GRAFT_PG_CONNECT_TIMEOUT=1 "$BIN" serve > "$TMP/sidecar-e.log" 2>&1 &
SIDECAR_PIDS+=($!)
start_sidecar f "$PORT_F" "&sslmode=verify-full&sslrootcert=$TMP/other-ca.crt" GRAFT_PG_CONNECT_TIMEOUT=2
start_sidecar g "$PORT_G" "" \
    HASURA_GRAPHQL_ADMIN_SECRET="s3cret" \
    HASURA_GRAPHQL_JWT_SECRET="{\"type\": \"HS256\", \"key\": \"$JWT_KEY\"}" \
    HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL=200 \
    HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL=200 \
    HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE=1 \
    HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT=1 \
    GRAFT_WEBSOCKET_QUEUE=16 \
    HASURA_GRAPHQL_ENABLED_APIS="metadata,graphql,config,metrics"

# Wait for /healthz, or for /v1/version from E and F, which have no usable database (python,
# not curl: a fresh machine may not have curl).
python3 - "$HTTP_PORT" "$PORT_B" "$PORT_C" "$PORT_D" "$PORT_G" "version:$PORT_E" "version:$PORT_F" <<'PY' || die "graft serve did not become healthy"
import sys, time, urllib.request
for arg in sys.argv[1:]:
    path, port = ("/v1/version", arg[8:]) if arg.startswith("version:") else ("/healthz", arg)
    for _ in range(100):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3).status == 200:
                break
        except Exception:
            pass
        time.sleep(0.2)
    else:
        sys.exit(1)
PY

if [ -z "${GRAFT_SIDECAR_WS_ONLY:-}" ]; then
    "$TMP/venv/bin/python" tests/sidecar/test_http.py
    "$TMP/venv/bin/python" tests/sidecar/test_limits.py
    "$TMP/venv/bin/python" tests/sidecar/fixtures.py
fi
log "WebSocket tests (Python gql)"
"$TMP/venv/bin/python" tests/sidecar/test_ws.py
log "WebSocket auth tests (Python gql and websockets, sidecars of their own, a GET auth webhook)"
"$TMP/venv/bin/python" tests/sidecar/test_ws_auth.py

log "Node test clients (graphql-js, graphql-request; graphql-ws, subscriptions-transport-ws)"
(cd tests/sidecar && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
[ -n "${GRAFT_SIDECAR_WS_ONLY:-}" ] || node tests/sidecar/test_node.mjs
node tests/sidecar/test_ws.mjs
