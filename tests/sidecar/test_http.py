"""Talks to three running `graft serve` instances over real HTTP with requests, PyJWT and
cryptography, and serves them a JWKS endpoint and an auth webhook (see run.sh)."""

import base64
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import requests

from checks import check, finish
from cryptography.hazmat.primitives.asymmetric import rsa

URL = os.environ["GRAFT_URL"]
URL_B = os.environ["GRAFT_URL_B"]
URL_C = os.environ["GRAFT_URL_C"]
SECRET = os.environ["GRAFT_ADMIN_SECRET"]
KEY = os.environ["GRAFT_JWT_KEY"]
KEY2 = os.environ["GRAFT_JWT_KEY2"]
KEY384 = os.environ["GRAFT_JWT_KEY384"]
KEY512 = os.environ["GRAFT_JWT_KEY512"]
KEY_SKEW = os.environ["GRAFT_JWT_KEY_SKEW"]
ADMIN = {"x-hasura-admin-secret": SECRET}


def gql(query, headers=None, variables=None, url=URL):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return requests.post(f"{url}/v1/graphql", json=body, headers=headers or {}, timeout=10)


def gql_error(r):
    """(code, message) of a /v1/graphql error answer, which is always HTTP 200."""
    if r.status_code != 200 or "errors" not in r.json():
        return (None, f"{r.status_code} {r.text}")
    e = r.json()["errors"][0]
    return (e["extensions"]["code"], e["message"])


# --- A JWKS endpoint (RS256 keys, rotated mid-test) and an auth webhook ------------------------

def b64url_uint(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_key(kid):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = k.public_key().public_numbers()
    return k, {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64url_uint(pub.n), "e": b64url_uint(pub.e)}


RSA1, JWK1 = rsa_key("k1")
RSA2, JWK2 = rsa_key("k2")
jwks_state = {"keys": [JWK1], "fetches": 0}
hook_state = {"calls": 0, "last": None}


def hook_answer(auth):
    if auth == "Bearer good-user":
        return 200, {"X-Hasura-Role": "user", "X-Hasura-User-Id": "2", "Cache-Control": "max-age=60"}, [("Set-Cookie", "graft_session=abc; Path=/; HttpOnly")]
    if auth == "Bearer fresh-user":  # no cache lifetime: asked every time
        return 200, {"X-Hasura-Role": "user", "X-Hasura-User-Id": "2"}
    if auth == "Bearer norole":
        return 200, {"X-Hasura-User-Id": "2"}
    if auth == "Bearer broken":
        return 500, {"oops": True}
    return 401, {"message": "no"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/jwks":
            jwks_state["fetches"] += 1
            return self.reply(200, {"keys": jwks_state["keys"]}, [("Cache-Control", "public, max-age=300")])
        if self.path == "/hook-get":
            hook_state["calls"] += 1
            hook_state["last"] = {"method": "GET", "headers": {k.lower(): v for k, v in self.headers.items()}}
            return self.reply(*hook_answer(self.headers.get("Authorization"))[:3])
        self.reply(404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/hook":
            hook_state["calls"] += 1
            hook_state["last"] = {"method": "POST", "body": body}
            return self.reply(*hook_answer(body.get("headers", {}).get("authorization"))[:3])
        self.reply(404, {})


for port in (int(os.environ["GRAFT_JWKS_PORT"]), int(os.environ["GRAFT_HOOK_PORT"])):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def token(claims, key=KEY, alg="HS256", **extra):
    payload = {"https://hasura.io/jwt/claims": claims, **extra}
    return jwt.encode(payload, key, algorithm=alg)


# Health and version.
r = requests.get(f"{URL}/healthz", timeout=5)
check("healthz", r.status_code == 200 and r.text == "OK", r.text)
r = requests.get(f"{URL}/v1/version", timeout=5)
version = r.json().get("version", "")
startup_version = next(json.loads(l)["detail"]["info"]["version"] for l in open(os.environ["GRAFT_LOG_A"]) if '"startup"' in l)
check("version", r.headers["content-type"].startswith("application/json") and list(r.json()) == ["version"]
      and re.fullmatch(r"v2-graft-\d+\.\d+\.\d+", version) and version == startup_version, (r.text, startup_version))

# Admin queries, key order, variables.
r = gql("{ authors(order_by: {id: asc}, limit: 2) { name id } }", ADMIN)
check("admin query", r.status_code == 200 and list(r.json()["data"]["authors"][0].keys()) == ["name", "id"], r.text)
r = gql("query ($id: Int!) { authors_by_pk(id: $id) { name } }", ADMIN, {"id": 2})
check("variables", r.json() == {"data": {"authors_by_pk": {"name": "Alan Turing"}}}, r.text)

# GraphQL errors are HTTP 200 with Hasura's shape.
r = gql("{ authors { nope } }", ADMIN)
check("validation error", r.status_code == 200 and r.json()["errors"][0]["extensions"]["code"] == "validation-failed", r.text)

# Batching.
r = requests.post(f"{URL}/v1/graphql", json=[{"query": "{ a: authors_by_pk(id: 1) { id } }"}, {"query": "{ b: authors_by_pk(id: 2) { id } }"}], headers=ADMIN, timeout=10)
check("batch", r.json() == [{"data": {"a": {"id": 1}}}, {"data": {"b": {"id": 2}}}], r.text)

# Bad input.
r = requests.post(f"{URL}/v1/graphql", data="{not json", headers={**ADMIN, "content-type": "application/json"}, timeout=5)
check("malformed json", gql_error(r)[0] == "invalid-json", r.text)
r = requests.post(f"{URL}/v1/graphql", data="x" * (2 << 20), headers=ADMIN, timeout=10)
err = r.json()["errors"][0] if r.headers.get("content-type", "").startswith("application/json") else {}
check("oversized body: 413, GraphQL-shaped", r.status_code == 413 and err.get("extensions") == {"path": "$", "code": "bad-request"}
      and err["message"].startswith("request body too large"), (r.status_code, r.text[:300]))
r = requests.post(f"{URL}/v1/metadata", data="x" * (2 << 20), headers=ADMIN, timeout=10)
check("oversized body: 413, Hasura error shape", r.status_code == 413 and r.json()["code"] == "bad-request" and r.json()["path"] == "$"
      and r.json()["error"].startswith("request body too large"), (r.status_code, r.text[:300]))
r = requests.get(f"{URL}/nope", timeout=5)
check("unknown endpoint", r.status_code == 404 and r.json() == {"error": "resource does not exist", "path": "$", "code": "not-found"}, r.text)
r = requests.get(f"{URL}/v1/metadata", headers=ADMIN, timeout=5)
check("GET on a POST endpoint: Hasura's 404", r.status_code == 404 and r.json() == {"error": "resource does not exist", "path": "$", "code": "not-found"}, (r.status_code, r.text))
r = requests.put(f"{URL}/v1/metadata", json={}, headers=ADMIN, timeout=5)
check("other methods: 405 method-not-allowed", r.status_code == 405 and r.json()["code"] == "method-not-allowed" and "POST" in r.headers.get("allow", ""), (r.status_code, r.text, r.headers))

# Any content type: Hasura reads the body as JSON whatever the request says.
for ctype in ["text/plain", "application/x-www-form-urlencoded", "application/graphql", None]:
    h = {**ADMIN, **({"content-type": ctype} if ctype else {})}
    r = requests.post(f"{URL}/v1/graphql", data=json.dumps({"query": "{ authors_by_pk(id: 1) { id } }"}), headers=h, timeout=5)
    r2 = requests.post(f"{URL}/v1/metadata", data=json.dumps({"type": "get_inconsistent_metadata", "args": {}}), headers=h, timeout=5)
    check(f"content type {ctype}: body read as JSON", r.json() == {"data": {"authors_by_pk": {"id": 1}}}
          and r2.status_code == 200 and "is_consistent" in r2.json(), (r.text, r2.text))

# Admin secret.
r = gql("{ authors { id } }", {"x-hasura-admin-secret": "wrong"})
check("wrong secret", gql_error(r) == ("access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key"), r.text)
r = gql("{ authors_by_pk(id: 1) { id } }", {"x-hasura-admin-secret": "rotated-s3cret"})
check("second admin secret", r.json() == {"data": {"authors_by_pk": {"id": 1}}}, r.text)
r = gql("{ authors { id } }")
check("unauthorized role without permissions", gql_error(r)[0] == "validation-failed", r.text)
anon = {"type": "pg_create_select_permission", "args": {"table": "authors", "role": "anonymous",
        "permission": {"columns": ["id", "name"], "filter": {"id": {"_lte": 2}}}}}
r0 = requests.post(f"{URL}/v1/metadata", json=anon, headers=ADMIN, timeout=10)
r = gql("{ authors(order_by: {id: asc}) { id name } }")
r2 = gql("{ authors { email } }")
check("unauthorized role gets its permission's rows and columns", r0.status_code == 200
      and r.json() == {"data": {"authors": [{"id": 1, "name": "Ada Lovelace"}, {"id": 2, "name": "Alan Turing"}]}}
      and gql_error(r2)[0] == "validation-failed", (r0.text, r.text, r2.text))

# Metadata API: admin only, Hasura statuses.
perm = {"type": "pg_create_select_permission", "args": {"table": "articles", "role": "user",
        "permission": {"columns": ["id", "title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}
r = requests.post(f"{URL}/v1/metadata", json=perm, headers=ADMIN, timeout=10)
check("metadata create permission", r.status_code == 200 and r.json() == {"message": "success"}, r.text)
r = requests.post(f"{URL}/v1/metadata", json=perm, headers=ADMIN, timeout=10)
check("metadata error status", r.status_code == 400 and r.json()["code"] == "already-exists", r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "pg_create_select_permission", "args": {"table": "no_such_table", "role": "user",
                  "permission": {"columns": [], "filter": {}}}}, headers=ADMIN, timeout=10)
check("not-exists is 400 (Hasura's throw400)", r.status_code == 400 and r.json()["code"] == "not-exists", (r.status_code, r.text))
r = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers={"x-hasura-admin-secret": "wrong"}, timeout=10)
check("metadata needs admin", r.status_code == 401, r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "version": 2, "args": {}, "resource_version": 999}, headers=ADMIN, timeout=10)
check("resource version conflict", r.status_code == 409 and r.json()["code"] == "conflict", r.text)

# JWT: claims, role switch, bad tokens.
claims = {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "2"}
r = gql("{ articles(order_by: {id: asc}) { id } }", {"authorization": f"Bearer {token(claims)}"})
check("jwt user", r.json() == {"data": {"articles": [{"id": 4}, {"id": 5}, {"id": 6}]}}, r.text)
r = gql("{ articles { body } }", {"authorization": f"Bearer {token(claims)}"})
check("jwt column permissions", r.json()["errors"][0]["extensions"]["code"] == "validation-failed", r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims)}", "x-hasura-role": "admin"})
check("jwt role not allowed", gql_error(r) == ("access-denied", "Your requested role is not in allowed roles"), r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, exp=int(time.time()) - 10)}"})
check("jwt expired", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWTExpired"), r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, iat=int(time.time()) + 600)}"})
check("jwt issued in the future", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWTIssuedAtFuture"), r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, nbf=int(time.time()) + 600)}"})
check("jwt not yet valid", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWTNotYetValid"), r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, key='another-key-0123456789abcdef0123456789')}"})
check("jwt wrong key", gql_error(r)[0] == "invalid-jwt", r.text)
none_token = jwt.encode({"https://hasura.io/jwt/claims": {**claims, "x-hasura-default-role": "admin", "x-hasura-allowed-roles": ["admin"]}}, None, algorithm="none")
r = gql("{ authors { email } }", {"authorization": f"Bearer {none_token}"})
check("jwt alg none", gql_error(r)[0] == "invalid-jwt", r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token({'x-hasura-default-role': 'user'})}"})
check("jwt missing claims", gql_error(r)[0] == "jwt-missing-role-claims", r.text)
r = gql("{ articles { id } }", {"authorization": "Basic abc"})
check("malformed authorization", gql_error(r) == ("invalid-headers", "Malformed Authorization header"), r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers={"authorization": f"Bearer {token(claims)}"}, timeout=10)
check("metadata refuses a JWT user", r.status_code == 400 and r.json() == {"error": "restricted access : admin only", "path": "$", "code": "access-denied"}, r.text)

# A token's role, the default one included, must be one of its allowed roles: a default role of
# admin does not make it admin (Hasura's processJwt).
NOT_ALLOWED = ("access-denied", "Your requested role is not in allowed roles")
for name, c in [("default role admin", {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "admin"}),
                ("no allowed roles", {"x-hasura-allowed-roles": [], "x-hasura-default-role": "admin"}),
                ("default role not allowed", {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "editor"})]:
    r = gql("{ authors { email } }", {"authorization": f"Bearer {token(c)}"})
    check(f"jwt {name}", gql_error(r) == NOT_ALLOWED, r.text)
    r = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers={"authorization": f"Bearer {token(c)}"}, timeout=10)
    check(f"jwt {name}: no metadata access", r.status_code != 200, (r.status_code, r.text))

# x-hasura-use-backend-only-permissions counts only with the admin secret: not from a JWT claim,
# nor from the client's header beside a JWT. A backend-only delete permission that matches no
# row shows whether the mutation is there.
BACKEND_ONLY = "x-hasura-use-backend-only-permissions"
DELETE_Q = "mutation { delete_articles(where: {}) { affected_rows } }"
bo_perm = {"type": "pg_create_delete_permission", "args": {"table": "articles", "role": "user",
           "permission": {"filter": {"id": {"_eq": -1}}, "backend_only": True}}}
r0 = requests.post(f"{URL}/v1/metadata", json=bo_perm, headers=ADMIN, timeout=10)
check("backend-only permission created", r0.status_code == 200, r0.text)
for given in ("true", "yes"):
    r = gql(DELETE_Q, {**ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "2", BACKEND_ONLY: given})
    check(f"backend-only with the admin secret ({given})", r.json() == {"data": {"delete_articles": {"affected_rows": 0}}}, r.text)
r = gql(DELETE_Q, {**ADMIN, "x-hasura-role": "user", BACKEND_ONLY: "maybe"})
check("backend-only header not a boolean", gql_error(r)[0] == "bad-request" or r.status_code == 400, r.text)
r = gql(DELETE_Q, {**ADMIN, "x-hasura-role": "user"})
check("backend-only needs the header", r.json().get("data") is None and "errors" in r.json(), r.text)
r = gql(DELETE_Q, {"authorization": f"Bearer {token(claims)}", BACKEND_ONLY: "true"})
check("backend-only header ignored beside a JWT", r.json().get("data") is None and "errors" in r.json(), r.text)
r = gql(DELETE_Q, {"authorization": f"Bearer {token({**claims, BACKEND_ONLY: 'true'})}"})
check("backend-only JWT claim ignored", r.json().get("data") is None and "errors" in r.json(), r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "pg_drop_delete_permission", "args": {"table": "articles", "role": "user"}}, headers=ADMIN, timeout=10)
check("backend-only permission dropped", r.status_code == 200, r.text)

# JWT from a JWKS URL (RS256, claims_namespace_path), cached by Cache-Control, refetched for
# an unknown kid (key rotation).
USER_ARTICLES = {"data": {"articles": [{"id": 4}, {"id": 5}, {"id": 6}]}}
ARTICLES_Q = "{ articles(order_by: {id: asc}) { id } }"


def rs_token(key, kid, **extra):
    payload = {"iss": "graft-jwk", "hasura": {"claims": claims}, **extra}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


r = gql(ARTICLES_Q, {"authorization": f"Bearer {rs_token(RSA1, 'k1')}"})
check("jwk token", r.json() == USER_ARTICLES, r.text)
fetches = jwks_state["fetches"]
for _ in range(3):
    gql(ARTICLES_Q, {"authorization": f"Bearer {rs_token(RSA1, 'k1')}"})
check("jwks cached (max-age)", jwks_state["fetches"] == fetches, jwks_state)
r = gql(ARTICLES_Q, {"authorization": f"Bearer {rs_token(RSA2, 'k1')}"})
check("jwk wrong key", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature"), r.text)
jwks_state["keys"] = [JWK1, JWK2]
time.sleep(1.1)
r = gql(ARTICLES_Q, {"authorization": f"Bearer {rs_token(RSA2, 'k2')}"})
check("jwk rotation: unknown kid refetches", r.json() == USER_ARTICLES and jwks_state["fetches"] == fetches + 1, (r.text, jwks_state["fetches"]))
r = gql(ARTICLES_Q, {"authorization": f"Bearer {rs_token(RSA1, 'k1', exp=int(time.time()) - 5)}"})
check("jwk expired", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWTExpired"), r.text)
hs_with_rs_alg = jwt.encode({"iss": "graft-jwk", "https://hasura.io/jwt/claims": claims}, KEY, algorithm="HS256", headers={"kid": "k1"})
r = gql(ARTICLES_Q, {"authorization": f"Bearer {hs_with_rs_alg}"})
check("HS256 token naming the JWK issuer and kid: the RSA key is never an HMAC secret; the HS config verifies it", r.json() == USER_ARTICLES, r.text)

# Cookie token with claims_map; custom header token with stringified claims.
cookie_token = jwt.encode({"iss": "graft-cookie", "sub": "2", "roles": ["user"]}, KEY2, algorithm="HS256")
r = gql(ARTICLES_Q, {"cookie": f"theme=dark; graft_jwt={cookie_token}"})
check("cookie token + claims_map", r.json() == USER_ARTICLES, r.text)
cookie_token = jwt.encode({"iss": "graft-cookie", "sub": "1", "roles": ["user"]}, KEY2, algorithm="HS256")
r = gql(ARTICLES_Q, {"cookie": f"graft_jwt={cookie_token}"})
check("claims_map user id from $.sub", r.json() == {"data": {"articles": [{"id": 1}, {"id": 2}, {"id": 3}]}}, r.text)
r = gql(ARTICLES_Q, {"cookie": "graft_jwt=" + jwt.encode({"iss": "graft-cookie", "sub": "1"}, KEY2, algorithm="HS256")})
check("claims_map path missing", gql_error(r)[0] == "jwt-invalid-claims", r.text)
custom = jwt.encode({"iss": "graft-custom", "https://hasura.io/jwt/claims": json.dumps(claims)}, KEY2, algorithm="HS256")
r = gql(ARTICLES_Q, {"x-graft-token": custom})
check("custom header + stringified claims", r.json() == USER_ARTICLES, r.text)
x509_key = open(os.environ["GRAFT_X509_KEY"], "rb").read()
r = gql(ARTICLES_Q, {"authorization": "Bearer " + jwt.encode({"iss": "graft-x509", "https://hasura.io/jwt/claims": claims}, x509_key, algorithm="RS256")})
check("RS256 key given as an X.509 certificate", r.json() == USER_ARTICLES, r.text)
r = gql(ARTICLES_Q, {"authorization": "Bearer " + jwt.encode({"iss": "graft-x509", "https://hasura.io/jwt/claims": claims}, RSA1, algorithm="RS256")})
check("X.509 config: other key refused", gql_error(r)[0] == "invalid-jwt", r.text)
r = gql(ARTICLES_Q, {"authorization": f"Bearer {custom}"})
check("token in the wrong place", gql_error(r)[0] == "invalid-jwt", r.text)

# More algorithms, each its own config picked by the token's issuer.
rsa_key = open(os.environ["GRAFT_RSA_KEY"], "rb").read()
ec_key = open(os.environ["GRAFT_EC_KEY"], "rb").read()
for alg, iss, key in [("HS384", "graft-hs384", KEY384), ("HS512", "graft-hs512", KEY512), ("RS384", "graft-rs384", rsa_key),
                      ("RS512", "graft-rs512", rsa_key), ("ES256", "graft-es256", ec_key)]:
    r = gql(ARTICLES_Q, {"authorization": "Bearer " + jwt.encode({"iss": iss, "https://hasura.io/jwt/claims": claims}, key, algorithm=alg)})
    check(f"jwt {alg}", r.json() == USER_ARTICLES, r.text)
wrong_alg = jwt.encode({"iss": "graft-rs384", "https://hasura.io/jwt/claims": claims}, rsa_key, algorithm="RS512")
r = gql(ARTICLES_Q, {"authorization": f"Bearer {wrong_alg}"})
check("jwt: another algorithm than the config's", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature"), r.text)
# allowed_skew on exp: expired 5 s ago is accepted with a skew of 10, refused with none.
r = gql(ARTICLES_Q, {"authorization": "Bearer " + jwt.encode({"iss": "graft-skew", "exp": int(time.time()) - 5, "https://hasura.io/jwt/claims": claims}, KEY_SKEW, algorithm="HS256")})
check("jwt allowed_skew 10: expired by 5 s accepted", r.json() == USER_ARTICLES, r.text)
r = gql(ARTICLES_Q, {"authorization": f"Bearer {token(claims, exp=int(time.time()) - 5)}"})
check("jwt no skew: expired by 5 s refused", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWTExpired"), r.text)
r = gql(ARTICLES_Q, {"authorization": "Bearer not-a-token"})
check("jwt malformed", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)"), r.text)
r = gql(ARTICLES_Q, {"authorization": f"Bearer {token(claims, key='another-key-0123456789abcdef0123456789')}"})
check("jwt wrong key: JWSInvalidSignature", gql_error(r) == ("invalid-jwt", "Could not verify JWT: JWSError JWSInvalidSignature"), r.text)
# Hasura refuses HMAC keys shorter than the hash at startup.
for alg, length, need in [("HS256", 31, 32), ("HS512", 63, 64)]:
    cfg = json.dumps({"type": alg, "key": "k" * length})
    p = subprocess.run([os.environ["GRAFT_BIN"], "serve"], capture_output=True, text=True, timeout=20,
                       env={**os.environ, "HASURA_GRAPHQL_DATABASE_URL": "postgres://u@127.0.0.1:1/db", "HASURA_GRAPHQL_ADMIN_SECRET": "x",
                            "HASURA_GRAPHQL_JWT_SECRET": cfg, "HASURA_GRAPHQL_SERVER_PORT": "1"})
    check(f"{alg} key of {length} characters refused at startup", p.returncode != 0
          and f"Invalid JWK: Key size too small; should be atleast {need} characters" in p.stderr, (p.returncode, p.stderr))

# /v2/query run_sql (admin only), bulk, errors in Hasura's shape.
def v2(body, headers=ADMIN, url=URL, path="/v2/query"):
    return requests.post(f"{url}{path}", json=body, headers=headers, timeout=10)


r = v2({"type": "run_sql", "args": {"sql": "SELECT id, name, bio FROM authors WHERE id <= 2 ORDER BY id"}})
check("run_sql tuples", r.status_code == 200 and r.json()["result_type"] == "TuplesOk"
      and r.json()["result"][0] == ["id", "name", "bio"] and r.json()["result"][2][:2] == ["2", "Alan Turing"], r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT 1 AS one WHERE false"}})
check("run_sql no rows", r.json() == {"result_type": "TuplesOk", "result": [["one"]]}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT NULL::text AS n"}})
check("run_sql null", r.json() == {"result_type": "TuplesOk", "result": [["n"], [None]]}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "CREATE TABLE sidecar_notes (id serial PRIMARY KEY, body text NOT NULL)", "cascade": False, "read_only": False}})
check("run_sql DDL", r.json() == {"result_type": "CommandOk", "result": None}, r.text)
r = v2({"type": "bulk", "args": [
    {"type": "run_sql", "args": {"sql": "INSERT INTO sidecar_notes (body) VALUES ('a'), ('b')"}},
    {"type": "pg_track_table", "args": {"table": "sidecar_notes"}},
    {"type": "run_sql", "args": {"sql": "SELECT count(*) FROM sidecar_notes"}}]}, path="/v1/query")
check("bulk run_sql + metadata (/v1/query)", r.status_code == 200 and r.json()[0] == {"result_type": "CommandOk", "result": None}
      and r.json()[2] == {"result_type": "TuplesOk", "result": [["count"], ["2"]]}, r.text)
r = gql("{ sidecar_notes(order_by: {id: asc}) { body } }", ADMIN)
check("tracked in the bulk", r.json() == {"data": {"sidecar_notes": [{"body": "a"}, {"body": "b"}]}}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "ALTER TABLE sidecar_notes ADD COLUMN pinned boolean NOT NULL DEFAULT true"}})
check("run_sql ALTER", r.status_code == 200, r.text)
r = gql("{ sidecar_notes(limit: 1) { pinned } }", ADMIN)
check("schema follows ALTER", r.json() == {"data": {"sidecar_notes": [{"pinned": True}]}}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT * FROM no_such_table"}})
err = r.json()
check("run_sql error", r.status_code == 400 and err["code"] == "postgres-error" and err["error"] == "query execution failed"
      and err["internal"]["error"]["status_code"] == "42P01" and "no_such_table" in err["internal"]["error"]["message"], r.text)
r = v2({"type": "bulk", "args": [
    {"type": "run_sql", "args": {"sql": "INSERT INTO sidecar_notes (body) VALUES ('rolled back')"}},
    {"type": "run_sql", "args": {"sql": "INSERT INTO sidecar_notes (body) VALUES (NULL)"}}]})
check("bulk error", r.status_code == 400 and r.json()["internal"]["error"]["status_code"] == "23502", r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT count(*) FROM sidecar_notes"}})
check("bulk rolled back", r.json()["result"][1] == ["2"], r.text)
r = v2({"type": "run_sql", "args": {"sql": "INSERT INTO sidecar_notes (body) VALUES ('x')", "read_only": True}})
check("run_sql read_only", r.status_code == 400 and r.json()["internal"]["error"]["status_code"] == "25006", r.text)
r = v2({"type": "bulk", "args": [{"type": "run_sql", "args": {"sql": "DROP TABLE sidecar_notes"}},
                                  {"type": "run_sql", "args": {"sql": "SELECT 1/0"}}]})
check("failed bulk keeps the table", r.status_code == 400 and r.json()["internal"]["error"]["status_code"] == "22012"
      and gql("{ sidecar_notes_aggregate { aggregate { count } } }", ADMIN).json() == {"data": {"sidecar_notes_aggregate": {"aggregate": {"count": 2}}}}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "DROP TABLE sidecar_notes"}})
tables = [t["table"]["name"] for t in requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()["sources"][0]["tables"]]
consistent = requests.post(f"{URL}/v1/metadata", json={"type": "get_inconsistent_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
check("DROP of a tracked table untracks it", r.status_code == 200 and "sidecar_notes" not in tables and "authors" in tables
      and consistent["is_consistent"] is True, (r.text, tables, consistent))
r = gql("{ sidecar_notes { body } }", ADMIN)
check("dropped table gone from the schema", gql_error(r)[0] == "validation-failed", r.text)
r = v2({"type": "bulk", "args": [
    {"type": "run_sql", "args": {"sql": "CREATE TABLE sidecar_a (id int PRIMARY KEY); CREATE TABLE sidecar_b (id int PRIMARY KEY, a_id int REFERENCES sidecar_a)"}},
    {"type": "pg_track_table", "args": {"table": "sidecar_a"}},
    {"type": "pg_track_table", "args": {"table": "sidecar_b"}},
    {"type": "pg_create_object_relationship", "args": {"table": "sidecar_b", "name": "a", "using": {"foreign_key_constraint_on": "a_id"}}}]}, path="/v1/query")
check("bulk: DDL, track, relationship", r.status_code == 200, r.text)
r = v2({"type": "run_sql", "args": {"sql": "DROP TABLE sidecar_a CASCADE"}})
still = v2({"type": "run_sql", "args": {"sql": "SELECT to_regclass('sidecar_a') IS NOT NULL AS present"}}).json()
check("drop with dependent metadata: dependency-error, rolled back", r.status_code == 400 and r.json()["code"] == "dependency-error"
      and r.json()["error"].startswith("cannot drop due to the following dependent objects: ") and still["result"][1] == ["t"], (r.text, still))
r = v2({"type": "run_sql", "args": {"sql": "DROP TABLE sidecar_a CASCADE", "cascade": True}})
consistent = requests.post(f"{URL}/v1/metadata", json={"type": "get_inconsistent_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
r2 = gql("{ sidecar_b { id } }", ADMIN)
r3 = gql("{ sidecar_b { a { id } } }", ADMIN)
check("cascade drops the dependent relationship", r.status_code == 200 and consistent["is_consistent"] is True
      and r2.json() == {"data": {"sidecar_b": []}} and gql_error(r3)[0] == "validation-failed", (r.text, consistent, r2.text, r3.text))
# Renames: the metadata follows the table (its relationships and those pointing at it).
COMMENTS_Q = "{ articles_by_pk(id: 1) { comments(order_by: {id: asc}) { id } } }"
before = gql(COMMENTS_Q, ADMIN).json()
r = v2({"type": "run_sql", "args": {"sql": "ALTER TABLE comments RENAME TO remarks"}})
consistent = requests.post(f"{URL}/v1/metadata", json={"type": "get_inconsistent_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
check("rename keeps the table tracked", r.status_code == 200 and consistent["is_consistent"] is True
      and "data" in gql("{ remarks(limit: 1) { id article { id } } }", ADMIN).json() and gql(COMMENTS_Q, ADMIN).json() == before
      and before["data"]["articles_by_pk"]["comments"], (r.text, consistent, before))
r = v2({"type": "run_sql", "args": {"sql": "ALTER TABLE remarks RENAME TO comments"}})
check("rename back", r.status_code == 200 and gql(COMMENTS_Q, ADMIN).json() == before
      and gql_error(gql("{ remarks { id } }", ADMIN))[0] == "validation-failed", r.text)
r = v2({"type": "run_sql", "args": {"sql": "CREATE ROLE sidecar_nobody; SET ROLE sidecar_nobody; SET search_path TO pg_catalog"}})
after = [gql("{ authors_by_pk(id: 1) { id } }", ADMIN).json() for _ in range(12)]
check("session settings of run_sql do not leak into the pool", r.status_code == 200
      and all(a == {"data": {"authors_by_pk": {"id": 1}}} for a in after), (r.text, after))
r = v2({"type": "run_sql", "args": {"sql": "SELECT current_user, current_setting('search_path')"}})
check("run_sql sees a reset connection", r.json()["result"][1] == ["postgres", '"$user", public'], r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT 1"}}, headers={"x-hasura-admin-secret": "wrong"})
check("run_sql needs admin", r.status_code == 401 and r.json()["code"] == "access-denied", r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT 1"}}, headers={"authorization": f"Bearer {token(claims)}"})
check("run_sql refuses a user", r.status_code == 400 and r.json()["code"] == "access-denied", r.text)
r = v2({"type": "run_sql", "args": {"sql": "SELECT 2 AS two"}}, path="/v1/query")
check("legacy /v1/query run_sql", r.json() == {"result_type": "TuplesOk", "result": [["two"], ["2"]]}, r.text)
r = v2({"type": "run_sql", "args": {"sql": "SET ROLE sidecar_nobody; SELECT 1/0"}})
after = [gql("{ authors_by_pk(id: 1) { id } }", ADMIN).json() for _ in range(12)]
who = v2({"type": "run_sql", "args": {"sql": "SELECT current_user"}}).json()
check("a failed run_sql after SET ROLE leaves no connection switched", r.status_code == 400
      and all(a == {"data": {"authors_by_pk": {"id": 1}}} for a in after) and who["result"][1] == ["postgres"], (r.text, after, who))

# /v2/query takes run_sql and bulk only (Hasura's V2Query); /v1/query takes Hasura v1's
# un-prefixed metadata names.
r = v2({"type": "pg_track_table", "args": {"table": "authors"}})
check("/v2/query refuses metadata requests", r.status_code == 400 and r.json()["code"] == "parse-failed" and r.json()["path"] == "$"
      and r.json()["error"].endswith("but got pg_track_table."), r.text)
r = v2({"type": "bulk", "args": [{"type": "run_sql", "args": {"sql": "SELECT 1"}}, {"type": "export_metadata", "args": {}}]})
check("/v2/query refuses metadata inside a bulk", r.status_code == 400 and r.json()["path"] == "$.args[1]", r.text)
r = v2({"type": "select", "args": {"table": "authors", "columns": ["id"]}})
check("/v2/query runs the legacy data API", r.status_code == 200 and r.json()[:2] == [{"id": 1}, {"id": 2}], r.text)
r = v2({"type": "run_sql", "args": {"sql": "CREATE TABLE sidecar_v1a (id int PRIMARY KEY); CREATE TABLE sidecar_v1b (id int PRIMARY KEY, a_id int REFERENCES sidecar_v1a); INSERT INTO sidecar_v1a VALUES (1); INSERT INTO sidecar_v1b VALUES (10, 1)"}})
legacy = [v2(q, path="/v1/query") for q in [
    {"type": "add_existing_table_or_view", "args": {"name": "sidecar_v1a"}},
    {"type": "track_table", "args": {"schema": "public", "name": "sidecar_v1b"}},
    {"type": "create_object_relationship", "args": {"table": "sidecar_v1b", "name": "a", "using": {"foreign_key_constraint_on": "a_id"}}},
    {"type": "create_array_relationship", "args": {"table": "sidecar_v1a", "name": "bs", "using": {"foreign_key_constraint_on": {"table": "sidecar_v1b", "column": "a_id"}}}}]]
r2 = gql("{ sidecar_v1b { id a { id bs { id } } } }", ADMIN)
check("/v1/query: un-prefixed legacy names", r.status_code == 200 and all(l.status_code == 200 and l.json() == {"message": "success"} for l in legacy)
      and r2.json() == {"data": {"sidecar_v1b": [{"id": 10, "a": {"id": 1, "bs": [{"id": 10}]}}]}}, (r.text, [l.text for l in legacy], r2.text))

# Credentials never become session variables: hasura.user (what triggers and event payloads
# see) holds neither the admin secret nor its deprecated alias.
r = v2({"type": "bulk", "args": [
    {"type": "run_sql", "args": {"sql": "CREATE TABLE sidecar_who (id serial PRIMARY KEY, who text DEFAULT current_setting('hasura.user', true))"}},
    {"type": "pg_track_table", "args": {"table": "sidecar_who"}}]}, path="/v1/query")
INSERT_WHO = "mutation { insert_sidecar_who_one(object: {}) { who } }"
sessions = []
for h in [{**ADMIN, "x-hasura-access-key": SECRET, "x-hasura-user-id": "9"}, {"x-hasura-access-key": SECRET, "x-hasura-user-id": "9"}]:
    res = gql(INSERT_WHO, h).json()
    sessions.append(res.get("data", {}).get("insert_sidecar_who_one", {}).get("who") or res)
check("admin secret and access key stay out of the session", r.status_code == 200
      and all(isinstance(w, str) and SECRET not in w and json.loads(w).get("x-hasura-user-id") == "9"
              and not {"x-hasura-admin-secret", "x-hasura-access-key"} & set(json.loads(w)) for w in sessions), (r.text, sessions))

# Request ids, http-log lines, metrics behind the admin secret, CORS `*`, config API.
rid = str(uuid.uuid4())
r = r_logged = gql("{ authors_by_pk(id: 1) { id } }", {**ADMIN, "x-request-id": rid})
check("x-request-id echoed", r.headers.get("x-request-id") == rid, r.headers)
r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
check("x-request-id generated", len(r.headers.get("x-request-id", "")) == 36, r.headers)
time.sleep(0.2)
logs = [json.loads(line) for line in open(os.environ["GRAFT_LOG_A"]) if line.startswith("{")]
startup = [l for l in logs if l.get("type") == "startup"]
check("startup log", startup and startup[0]["detail"]["info"]["port"] == int(URL.rsplit(":", 1)[1]), startup)
mine = [l for l in logs if l.get("type") == "http-log" and l["detail"]["request_id"] == rid]
check("http-log line", len(mine) == 1 and mine[0]["detail"]["http_info"]["status"] == 200
      and mine[0]["detail"]["http_info"]["url"] == "/v1/graphql" and mine[0]["detail"]["operation"]["user_vars"] == {"x-hasura-role": "admin"}
      and mine[0]["detail"]["http_info"]["ip"] == "127.0.0.1" and mine[0]["detail"]["operation"]["response_size"] == len(r_logged.content), mine)
rid_err = str(uuid.uuid4())
gql("{ authors { nope } }", {**ADMIN, "x-request-id": rid_err})
rid_batch = str(uuid.uuid4())
requests.post(f"{URL}/v1/graphql", json=[{"query": "{ authors_by_pk(id: 1) { id } }"}, {"query": "{ nope }"}], headers={**ADMIN, "x-request-id": rid_batch}, timeout=10)
time.sleep(0.2)
lines = {l["detail"]["request_id"]: l for l in (json.loads(x) for x in open(os.environ["GRAFT_LOG_A"]) if x.startswith("{")) if l.get("type") == "http-log"}
e1, e2, ok = lines.get(rid_err), lines.get(rid_batch), lines.get(rid)
check("http-log records GraphQL errors", e1 and e1["level"] == "error" and e1["detail"]["http_info"]["status"] == 200
      and e1["detail"]["operation"]["error"]["code"] == "validation-failed" and "nope" in e1["detail"]["operation"]["error"]["error"]
      and e2 and e2["detail"]["operation"]["error"]["code"] == "validation-failed"
      and ok and ok["level"] == "info" and ok["detail"]["operation"]["error"] is None, (e1, e2, ok))
r = requests.get(f"{URL}/v1/metrics", timeout=5)
check("metrics need the admin secret", r.status_code == 400 and r.json()["code"] == "access-denied", r.text)
r = requests.get(f"{URL}/v1/metrics", headers={"x-hasura-admin-secret": "wrong"}, timeout=5)
check("metrics: wrong admin secret", r.status_code == 401, r.text)
r = requests.get(f"{URL}/v1/metrics", headers=ADMIN, timeout=5)
check("metrics", r.status_code == 200 and 'hasura_http_requests_total{endpoint="/v1/graphql",method="POST",status="200"}' in r.text
      and "hasura_postgres_max_connections 10" in r.text and "hasura_http_request_duration_seconds_bucket" in r.text, r.text[:500])
r = requests.post(f"{URL}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "origin": "http://anywhere.test"}, timeout=5)
check("cors *", r.headers.get("access-control-allow-origin") == "http://anywhere.test" and r.headers.get("access-control-allow-credentials") == "true", r.headers)
r = requests.get(f"{URL}/v1alpha1/config", headers=ADMIN, timeout=5)
check("config api", r.status_code == 200 and r.json()["is_jwt_set"] is True and r.json()["is_admin_secret_set"] is True, r.text)
r = requests.get(f"{URL}/console", timeout=5)
check("console disabled", r.status_code == 404, r.status_code)

# B: POST auth webhook, session from its answer, cached by its Cache-Control.
r = gql(ARTICLES_Q, {"authorization": "Bearer good-user"}, url=URL_B)
check("webhook POST user", r.json() == USER_ARTICLES, r.text)
check("webhook Set-Cookie passed on", r.headers.get("set-cookie") == "graft_session=abc; Path=/; HttpOnly", r.headers)
last = hook_state["last"]
check("webhook POST body", last["method"] == "POST" and last["body"]["request"]["query"] == ARTICLES_Q
      and last["body"]["headers"].get("authorization") == "Bearer good-user" and "content-type" not in last["body"]["headers"], last)
calls = hook_state["calls"]
r = gql(ARTICLES_Q, {"authorization": "Bearer good-user"}, url=URL_B)
check("webhook cached", r.json() == USER_ARTICLES and hook_state["calls"] == calls
      and r.headers.get("set-cookie") == "graft_session=abc; Path=/; HttpOnly", (hook_state["calls"], r.headers))
gql(ARTICLES_Q, {"authorization": "Bearer fresh-user"}, url=URL_B)
gql(ARTICLES_Q, {"authorization": "Bearer fresh-user"}, url=URL_B)
check("webhook without cache headers asked each time", hook_state["calls"] == calls + 2, hook_state["calls"])
r = gql(ARTICLES_Q, {"authorization": "Bearer nope"}, url=URL_B)
check("webhook 401", gql_error(r) == ("access-denied", "Authentication hook unauthorized this request"), r.text)
r = gql(ARTICLES_Q, {"authorization": "Bearer broken"}, url=URL_B)
check("webhook 500", gql_error(r) == ("unexpected", "Invalid response from authorization hook"), r.text)
r = gql(ARTICLES_Q, {"authorization": "Bearer norole"}, url=URL_B)
check("webhook without role", gql_error(r) == ("unexpected", "missing x-hasura-role key in webhook response"), r.text)
calls = hook_state["calls"]
r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN, url=URL_B)
check("admin secret skips the webhook", r.json() == {"data": {"authors_by_pk": {"id": 1}}} and hook_state["calls"] == calls, r.text)
# The webhook decides the session: the client's X-Hasura-Role and backend-only headers are only
# forwarded to it.
r = gql("{ authors { email } }", {"authorization": "Bearer fresh-user", "x-hasura-role": "admin"}, url=URL_B)
check("webhook: client cannot ask for admin", r.json().get("data") is None and "errors" in r.json(), r.text)
# (B has the metadata API disabled: the permission is made through A, on the same database.)
r0 = requests.post(f"{URL}/v1/metadata", json=bo_perm, headers=ADMIN, timeout=10)
r = gql(DELETE_Q, {"authorization": "Bearer fresh-user", BACKEND_ONLY: "true"}, url=URL_B)
r1 = requests.post(f"{URL}/v1/metadata", json={"type": "pg_drop_delete_permission", "args": {"table": "articles", "role": "user"}}, headers=ADMIN, timeout=10)
check("webhook: backend-only header ignored", r0.status_code == 200 and r1.status_code == 200
      and r.json().get("data") is None and "errors" in r.json(), (r0.text, r.text, r1.text))

# B: enabled APIs, metrics secret, CORS list, stringified numerics.
r = requests.post(f"{URL_B}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=5)
check("metadata API disabled", r.status_code == 404 and r.json()["code"] == "not-found", r.text)
r = requests.get(f"{URL_B}/v1/metrics", headers=ADMIN, timeout=5)
check("metrics secret required", r.status_code == 401, r.status_code)
r = requests.get(f"{URL_B}/v1/metrics", headers={"authorization": "Bearer metrics-s3cret"}, timeout=5)
check("metrics secret", r.status_code == 200 and "hasura_http_requests_total" in r.text, r.status_code)
r = requests.post(f"{URL_B}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "origin": "https://app.example.com"}, timeout=5)
check("cors allowed origin", r.headers.get("access-control-allow-origin") == "https://app.example.com", r.headers)
r = requests.post(f"{URL_B}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "origin": "https://evil.test"}, timeout=5)
check("cors other origin", "access-control-allow-origin" not in r.headers, r.headers)
r = requests.options(f"{URL_B}/v1/graphql", headers={"origin": "http://localhost:3000", "access-control-request-method": "POST",
                                                    "access-control-request-headers": "content-type,x-hasura-admin-secret"}, timeout=5)
check("cors preflight", r.status_code == 204 and r.headers.get("access-control-allow-origin") == "http://localhost:3000"
      and r.headers.get("access-control-allow-headers") == "content-type,x-hasura-admin-secret"
      and r.headers.get("access-control-allow-methods") == "GET,POST,PUT,PATCH,DELETE,OPTIONS"
      and r.headers.get("access-control-allow-credentials") == "true" and r.headers.get("access-control-max-age") == "1728000"
      and r.content == b"", (r.status_code, r.headers))
# Hasura's middleware (Server/Middleware.hs): the methods on every answer to an allowed origin,
# wildcards one label deep, exact origins only.
r = requests.post(f"{URL_B}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "origin": "https://app.example.com"}, timeout=5)
check("cors methods on an allowed origin", r.headers.get("access-control-allow-methods") == "GET,POST,PUT,PATCH,DELETE,OPTIONS"
      and r.headers.get("access-control-allow-credentials") == "true" and "access-control-max-age" not in r.headers, r.headers)
for origin in ["https://a.b.example.com", "https://example.com", "http://app.example.com", "http://localhost:4000"]:
    r = requests.options(f"{URL_B}/v1/graphql", headers={"origin": origin, "access-control-request-method": "POST"}, timeout=5)
    check(f"cors refuses {origin}", r.status_code != 204 and not any(k.lower().startswith("access-control-") for k in r.headers), (r.status_code, r.headers))
# A disabled API answers Hasura's 404, also to a large body (read before answering, so the
# client sees the answer instead of a reset connection).
big = {"type": "replace_metadata", "args": {"x": "y" * 200_000}}
r = requests.post(f"{URL_B}/v1/metadata", json=big, headers=ADMIN, timeout=10)
check("disabled API, large body", r.status_code == 404 and r.json() == {"error": "resource does not exist", "path": "$", "code": "not-found"}, r.text[:200])
for method, path in [("GET", "/v1alpha1/config"), ("POST", "/v1/query"), ("POST", "/v2/query"), ("POST", "/v1alpha1/pg_dump")]:
    r = requests.request(method, f"{URL_B}{path}", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=5)
    check(f"disabled API {path}", r.status_code == 404 and r.json() == {"error": "resource does not exist", "path": "$", "code": "not-found"}, r.text)
r = requests.post(f"{URL_B}/v1alpha1/graphql", json={"query": "{ authors_by_pk(id: 1) { id } }"}, headers=ADMIN, timeout=5)
check("v1alpha1/graphql is part of the graphql API", r.status_code == 200 and r.json() == {"data": {"authors_by_pk": {"id": 1}}}, r.text)
RATING_Q = "{ articles(where: {rating: {_is_null: false}}, order_by: {id: asc}, limit: 1) { rating } }"
a_rating = gql(RATING_Q, ADMIN).json()["data"]["articles"][0]["rating"]
b_rating = gql(RATING_Q, ADMIN, url=URL_B).json()["data"]["articles"][0]["rating"]
check("stringify numeric types", isinstance(a_rating, (int, float)) and isinstance(b_rating, str) and float(b_rating) == a_rating, (a_rating, b_rating))

# B: the GraphiQL console, embedded in the binary.
ASSETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "server", "assets", "graphiql")
r = requests.get(f"{URL_B}/", allow_redirects=False, timeout=5)
check("/ redirects to the console", r.status_code in (302, 307) and r.headers.get("location") == "/console", (r.status_code, r.headers))
r = requests.get(f"{URL_B}/console", timeout=5)
page = r.text
check("console page", r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "graphiql.min.js" in page, r.status_code)
for name, ctype in [("graphiql.min.js", "text/javascript"), ("graphiql.min.css", "text/css"), ("react.production.min.js", "text/javascript"),
                    ("react-dom.production.min.js", "text/javascript"), ("console.js", "text/javascript")]:
    r = requests.get(f"{URL_B}/console/assets/{name}", timeout=5)
    with open(os.path.join(ASSETS_DIR, name), "rb") as f:
        on_disk = f.read()
    check(f"console asset {name}", r.status_code == 200 and r.headers["content-type"].startswith(ctype) and r.content == on_disk
          and f"/console/assets/{name}" in page, (r.status_code, r.headers.get("content-type")))
def raw_get(url, path):
    """GET with the path sent as is (requests would resolve the dots)."""
    host, port = url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


cargo_toml = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Cargo.toml"), "rb").read()
for path in ["/console/assets/../../Cargo.toml", "/console/assets/..%2F..%2FCargo.toml", "/console/assets/%2e%2e/%2e%2e/Cargo.toml",
             "/console/assets/..%2F..%2F..%2Fcrates%2Fserver%2FCargo.toml"]:
    status, body = raw_get(URL_B, path)
    check(f"console: {path} serves no file", b"[package]" not in body and b"[workspace]" not in body and cargo_toml[:40] not in body
          and (status == 404 or (status == 200 and body.startswith(b"<!"))), (status, body[:80]))
status, _ = raw_get(URL_B, "/console/assets/..%2F..%2FCargo.toml")
check("console: an encoded traversal is an unknown asset", status == 404, status)
r = requests.get(f"{URL_B}/console/assets/nope.js", timeout=5)
check("console: unknown asset", r.status_code == 404, r.status_code)
r = requests.get(f"{URL_B}/console/api-explorer", timeout=5)
check("console sub-route", r.status_code == 200 and r.text == page, r.status_code)

# C: GET auth webhook (client headers forwarded, minus Hasura's list), CORS disabled.
r = gql(ARTICLES_Q, {"authorization": "Bearer good-user", "x-custom": "yes"}, url=URL_C)
last = hook_state["last"]
check("webhook GET user", r.json() == USER_ARTICLES, r.text)
check("webhook GET headers", last["method"] == "GET" and last["headers"].get("authorization") == "Bearer good-user"
      and last["headers"].get("x-custom") == "yes" and "python-requests" not in last["headers"].get("user-agent", ""), last)
r = gql(ARTICLES_Q, {"authorization": "Bearer nope"}, url=URL_C)
check("webhook GET 401", gql_error(r) == ("access-denied", "Authentication hook unauthorized this request"), r.text)
r = requests.post(f"{URL_C}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "origin": "http://anywhere.test"}, timeout=5)
check("cors disabled", "access-control-allow-origin" not in r.headers, r.headers)
r = requests.get(f"{URL_C}/v1/metrics", headers=ADMIN, timeout=5)
check("metrics API off by default", r.status_code == 404, r.status_code)

# Logs: webhook failures as webhook-log lines; C writes no http-log lines.
def log_lines(path):
    return [json.loads(line) for line in open(path) if line.startswith("{")]


hook_logs = [l for l in log_lines(os.environ["GRAFT_LOG_B"]) if l["type"] == "webhook-log"]
check("webhook-log lines", {l["detail"]["status_code"] for l in hook_logs} >= {401, 500}
      and all(l["level"] == "error" and l["detail"]["url"].endswith("/hook") for l in hook_logs), hook_logs)
c_types = {l["type"] for l in log_lines(os.environ["GRAFT_LOG_C"])}
check("enabled log types", c_types == {"startup", "webhook-log"}, c_types)

# Inconsistent metadata: /healthz warns (HTTP 200, 500 with ?strict=true) until it is dropped.
md = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
md["sources"][0]["tables"].append({"table": {"schema": "public", "name": "sidecar_ghost"}})
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": True, "metadata": md}}, headers=ADMIN, timeout=10)
h1 = requests.get(f"{URL}/healthz", timeout=10)
h2 = requests.get(f"{URL}/hasura/healthz?strict=true", timeout=10)
check("healthz: WARN on inconsistent metadata", r.status_code == 200 and r.json().get("is_consistent") is False
      and (h1.status_code, h1.text) == (200, "WARN: inconsistent objects in schema")
      and (h2.status_code, h2.text) == (500, "WARN: inconsistent objects in schema"), (r.text, h1.status_code, h1.text, h2.status_code))
r = requests.post(f"{URL}/v1/metadata", json={"type": "drop_inconsistent_metadata", "args": {}}, headers=ADMIN, timeout=10)
h1 = requests.get(f"{URL}/healthz", timeout=10)
check("healthz: OK again once dropped", r.status_code == 200 and (h1.status_code, h1.text) == (200, "OK"), (r.text, h1.text))

# What Graft does not enforce (an allow list, API limits …) is kept but reported: replace_metadata
# refuses it unless inconsistencies are allowed, and /healthz warns until it is dropped.
md = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
md["query_collections"] = [{"name": "allowed", "definition": {"queries": [{"name": "q", "query": "query { authors { id } }"}]}}]
md["allowlist"] = [{"collection": "allowed", "scope": {"global": True}}]
md["api_limits"] = {"disabled": False, "depth_limit": {"global": 3}}
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "args": md}, headers=ADMIN, timeout=10)
types = sorted(o["type"] for o in r.json().get("internal", []))
check("replace_metadata refuses unsupported sections", r.status_code == 400 and r.json().get("error") == "cannot continue due to inconsistent metadata"
      and types == ["allowlist", "api_limits", "query_collections"], (r.status_code, r.text))
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "version": 2, "args": {"allow_inconsistent_metadata": True, "metadata": md}}, headers=ADMIN, timeout=10)
h1 = requests.get(f"{URL}/healthz", timeout=10)
reasons = sorted(o["reason"] for o in r.json().get("inconsistent_objects", []))
check("unsupported sections reported", r.status_code == 200 and r.json().get("is_consistent") is False
      and "Inconsistent object: Graft does not support allowlist yet" in reasons
      and (h1.status_code, h1.text) == (200, "WARN: inconsistent objects in schema"), (r.text, h1.text))
r = requests.post(f"{URL}/v1/metadata", json={"type": "drop_inconsistent_metadata", "args": {}}, headers=ADMIN, timeout=10)
h1 = requests.get(f"{URL}/healthz", timeout=10)
md = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
check("unsupported sections dropped", r.status_code == 200 and (h1.status_code, h1.text) == (200, "OK")
      and "allowlist" not in md and "api_limits" not in md, (r.text, h1.text))

# /v1alpha1/config lists each JWT configuration as Hasura's JWTInfo.
r = requests.get(f"{URL}/v1alpha1/config", headers=ADMIN, timeout=5)
jwts = r.json().get("jwt", [])
by_map = [j for j in jwts if j.get("claims_map")]
check("config: one entry per JWT config", r.status_code == 200 and len(jwts) == 12
      and jwts[0] == {"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json", "claims_map": None}
      and jwts[1] == {"claims_namespace": "$.hasura.claims", "claims_format": "json", "claims_map": None}
      and jwts[3] == {"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "stringified_json", "claims_map": None}, jwts[:4])
check("config: claims maps", len(by_map) == 2
      and list(by_map[0]["claims_map"]) == ["x-hasura-default-role", "x-hasura-allowed-roles", "x-hasura-user-id", "x-hasura-org"]
      and by_map[0]["claims_map"]["x-hasura-org"] == {"path": "$.org", "default": "none"}
      and by_map[1]["claims_map"]["x-hasura-allowed-roles"] == {"path": '$["https://myapp.com/jwt/claims"].roles'}
      and all(j["claims_namespace"] == "https://hasura.io/jwt/claims" and j["claims_format"] == "json" for j in by_map), by_map)

# A claims_map path with a dot before a bracket (Hasura's JSONPath parser accepts it).
t = jwt.encode({"iss": "graft-dotbracket", "https://myapp.com/jwt/claims": {"roles": ["user"], "user": {"id": "2"}}}, KEY_SKEW, algorithm="HS256")
r = gql(ARTICLES_Q, {"authorization": f"Bearer {t}"})
check("claims_map $.['…'].user.id", r.json() == USER_ARTICLES, r.text)

# /v1alpha1/graphql: /v1/graphql's answers, with Hasura's statuses for errors.
r = requests.post(f"{URL}/v1alpha1/graphql", json={"query": "{ authors_by_pk(id: 1) { id } }"}, headers=ADMIN, timeout=5)
check("v1alpha1/graphql", r.status_code == 200 and r.json() == {"data": {"authors_by_pk": {"id": 1}}}, r.text)
r1 = gql("{ authors { nope } }", ADMIN)
r = requests.post(f"{URL}/v1alpha1/graphql", json={"query": "{ authors { nope } }"}, headers=ADMIN, timeout=5)
check("v1alpha1/graphql: validation error is 400, same body", r.status_code == 400 and r1.status_code == 200 and r.json() == r1.json()
      and r.json()["errors"][0]["extensions"]["code"] == "validation-failed", (r.status_code, r.text))
r = requests.post(f"{URL}/v1alpha1/graphql", json={"query": "{ __typename }"}, headers={"x-hasura-admin-secret": "wrong"}, timeout=5)
check("v1alpha1/graphql: wrong admin secret is 401", r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "access-denied", (r.status_code, r.text))
r = requests.post(f"{URL}/v1alpha1/graphql", json=[{"query": "{ __typename }"}, {"query": "{ nope }"}], headers=ADMIN, timeout=5)
check("v1alpha1/graphql: a batch is 200", r.status_code == 200 and len(r.json()) == 2 and "errors" in r.json()[1], (r.status_code, r.text))
t = jwt.encode({"iss": "graft-dotbracket", "https://myapp.com/jwt/claims": {"roles": ["user"], "user": {"id": "2"}}}, KEY_SKEW, algorithm="HS256")
r = requests.post(f"{URL}/v1alpha1/graphql", json={"query": ARTICLES_Q}, headers={"authorization": f"Bearer {t}"}, timeout=5)
check("v1alpha1/graphql: JWT", r.status_code == 200 and r.json() == USER_ARTICLES, r.text)

# gzip: a large answer is compressed when the client accepts gzip, a small one is not.
big_q = "{ __schema { types { name fields { name } } } }"
r = requests.post(f"{URL}/v1/graphql", json={"query": big_q}, headers={**ADMIN, "accept-encoding": "gzip"}, timeout=10)
raw = requests.post(f"{URL}/v1/graphql", json={"query": big_q}, headers={**ADMIN, "accept-encoding": "identity"}, timeout=10)
check("gzip above 700 bytes", r.headers.get("content-encoding") == "gzip" and r.json() == raw.json() and "content-encoding" not in raw.headers
      and len(raw.content) > 700, (r.headers, raw.headers))
r = requests.post(f"{URL}/v1/graphql", json={"query": "{ __typename }"}, headers={**ADMIN, "accept-encoding": "gzip"}, timeout=5)
check("small answers are not compressed", "content-encoding" not in r.headers, r.headers)

# HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL is the worker's GUC: a startup warning says which.
warnings = [l for l in log_lines(os.environ["GRAFT_LOG_A"]) if l["type"] == "startup" and l["level"] == "warn"]
check("events setting warning", any("HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL" in l["detail"]["info"]["message"]
                                    and "graft.events_poll_interval = '500ms'" in l["detail"]["info"]["message"] for l in warnings), warnings)

# create_scheduled_event inside a bulk: one transaction; a failure later in the bulk rolls the
# event back.
def one_offs():
    r = requests.post(f"{URL}/v1/metadata", json={"type": "get_scheduled_events", "args": {"type": "one_off", "get_rows_count": True}}, headers=ADMIN, timeout=10)
    return r.json().get("count")
before = one_offs()
event = {"type": "create_scheduled_event", "args": {"webhook": "http://127.0.0.1:9/never", "schedule_at": "2099-01-01T00:00:00Z", "payload": {"k": 1}}}
r = requests.post(f"{URL}/v1/metadata", json={"type": "bulk", "args": [event, {"type": "get_scheduled_events", "args": {"type": "one_off"}}]}, headers=ADMIN, timeout=10)
res = r.json()
check("create_scheduled_event in a bulk", r.status_code == 200 and isinstance(res, list) and len(res) == 2 and "event_id" in res[0]
      and one_offs() == before + 1, r.text)
bad = {"type": "pg_track_table", "args": {}}
r = requests.post(f"{URL}/v1/metadata", json={"type": "bulk", "args": [event, bad]}, headers=ADMIN, timeout=10)
check("a failing bulk rolls the event back", r.status_code == 400 and r.json()["path"].startswith("$.args[1]") and one_offs() == before + 1, r.text)
if isinstance(res, list) and res and "event_id" in res[0]:
    requests.post(f"{URL}/v1/metadata", json={"type": "delete_scheduled_event", "args": {"type": "one_off", "event_id": res[0]["event_id"]}}, headers=ADMIN, timeout=10)

# Sources: Graft's one source under any name, a second one not supported.
md0 = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
r = requests.post(f"{URL}/v1/metadata", json={"type": "rename_source", "args": {"name": "default", "new_name": "main_db"}}, headers=ADMIN, timeout=10)
md1 = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
q = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
sql_named = v2({"type": "run_sql", "args": {"source": "main_db", "sql": "SELECT 1 AS one"}})
sql_other = v2({"type": "run_sql", "args": {"source": "elsewhere", "sql": "SELECT 1"}})
check("rename_source", r.status_code == 200 and [s["name"] for s in md1["sources"]] == ["main_db"]
      and md1["sources"][0]["tables"] == md0["sources"][0]["tables"] and q.json() == {"data": {"authors_by_pk": {"id": 1}}}
      and sql_named.status_code == 200 and sql_other.status_code == 400 and sql_other.json()["code"] == "not-exists", (r.text, sql_named.text, sql_other.text))
r = requests.post(f"{URL}/v1/metadata", json={"type": "rename_source", "args": {"name": "nope", "new_name": "x"}}, headers=ADMIN, timeout=10)
check("rename_source: unknown", r.status_code == 400 and r.json() == {"error": 'Could not find source with name "nope"', "path": "$.args", "code": "not-exists"}, r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "pg_add_source", "args": {"name": "main_db", "configuration": {"connection_info": {"database_url": "postgres://x/y"}}}}, headers=ADMIN, timeout=10)
check("pg_add_source: exists", r.status_code == 400 and r.json() == {"error": 'source with name "main_db" already exists', "path": "$.args", "code": "already-exists"}, r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "pg_add_source", "args": {"name": "analytics", "configuration": {"connection_info": {"database_url": "postgres://x/y"}}}}, headers=ADMIN, timeout=10)
check("pg_add_source: a second source is not supported", r.status_code == 400 and r.json()["code"] == "not-supported" and "analytics" in r.json()["error"], r.text)
doc = json.loads(json.dumps(md0))
doc["sources"][0]["name"] = "app"
doc["sources"][0]["configuration"] = {"connection_info": {"database_url": "postgres://elsewhere:5432/app", "isolation_level": "read-committed"}}
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "args": doc}, headers=ADMIN, timeout=10)
md2 = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
q = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
check("replace_metadata: one source, any name and configuration, exported as given", r.status_code == 200
      and md2["sources"][0]["name"] == "app" and md2["sources"][0]["configuration"] == doc["sources"][0]["configuration"]
      and q.json() == {"data": {"authors_by_pk": {"id": 1}}}, (r.text, md2.get("sources", [{}])[0].get("configuration")))
two = json.loads(json.dumps(md0))
two["sources"].append({"name": "analytics", "kind": "postgres", "tables": [], "configuration": {"connection_info": {"database_url": "postgres://x/y"}}})
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "args": two}, headers=ADMIN, timeout=10)
check("replace_metadata: a second source is not supported", r.status_code == 400 and r.json()["code"] == "not-supported"
      and r.json()["path"] == "$.args.sources[1]", r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "replace_metadata", "args": md0}, headers=ADMIN, timeout=10)
md3 = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10).json()
check("sources restored", r.status_code == 200 and md3 == md0, r.text)

# Database restart: clean errors while down, recovery without restarting the sidecar.
restart = os.environ["GRAFT_PG_RESTART"]
subprocess.run([restart, "stop"], check=True)
r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
e = r.json()["errors"][0] if r.status_code == 200 and "errors" in r.json() else {}
check("database down: Hasura's connection error", e.get("message") == "connection error" and e["extensions"]["code"] == "postgres-error"
      and e["extensions"]["path"] == "$" and e["extensions"].get("internal"), r.text)
r = gql("{ authors(limit: 1) { id } }")
e = r.json()["errors"][0] if r.status_code == 200 and "errors" in r.json() else {}
check("database down: no internal details for non-admins", e.get("message") == "connection error" and "internal" not in e["extensions"], r.text)
r = requests.post(f"{URL}/v1/metadata", json={"type": "export_metadata", "args": {}}, headers=ADMIN, timeout=10)
check("database down: metadata API answers 500 connection error", r.status_code == 500 and r.json()["code"] == "postgres-error"
      and r.json()["error"] == "connection error", r.text)
r = requests.get(f"{URL}/healthz", timeout=10)
check("healthz reports down", r.status_code == 500 and r.text == "ERROR", (r.status_code, r.text))
subprocess.run([restart, "start"], check=True)
ok = False
for _ in range(20):
    r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
    if r.status_code == 200 and r.json().get("data") == {"authors_by_pk": {"id": 1}}:
        ok = True
        break
    time.sleep(0.3)
check("recovers after restart", ok, r.text)

finish("sidecar")
