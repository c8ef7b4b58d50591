"""Talks to a running `graft serve` over real HTTP with requests and PyJWT (see run.sh)."""

import os
import subprocess
import sys
import time

import jwt
import requests

URL = os.environ["GRAFT_URL"]
SECRET = os.environ["GRAFT_ADMIN_SECRET"]
KEY = os.environ["GRAFT_JWT_KEY"]
ADMIN = {"x-hasura-admin-secret": SECRET}
failures = []
passed = 0


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")


def gql(query, headers=None, variables=None):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return requests.post(f"{URL}/v1/graphql", json=body, headers=headers or {}, timeout=10)


def token(claims, key=KEY, alg="HS256", **extra):
    payload = {"https://hasura.io/jwt/claims": claims, **extra}
    return jwt.encode(payload, key, algorithm=alg)


# Health and version.
r = requests.get(f"{URL}/healthz", timeout=5)
check("healthz", r.status_code == 200 and r.text == "OK", r.text)
check("version", "version" in requests.get(f"{URL}/v1/version", timeout=5).json())

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
check("malformed json", r.status_code == 400 and r.json()["code"] == "invalid-json", r.text)
r = requests.post(f"{URL}/v1/graphql", data="x" * (2 << 20), headers=ADMIN, timeout=10)
check("oversized body", r.status_code == 413, r.status_code)
r = requests.get(f"{URL}/nope", timeout=5)
check("unknown endpoint", r.status_code == 404 and r.json()["code"] == "not-found", r.text)

# Admin secret.
r = gql("{ authors { id } }", {"x-hasura-admin-secret": "wrong"})
check("wrong secret", r.status_code == 401 and r.json()["error"] == "invalid x-hasura-admin-secret/x-hasura-access-key", r.text)
r = gql("{ authors { id } }")
check("unauthorized role", r.status_code == 200 and "errors" in r.json(), r.text)  # anonymous has no permissions

# Metadata API: admin only, Hasura statuses.
perm = {"type": "pg_create_select_permission", "args": {"table": "articles", "role": "user",
        "permission": {"columns": ["id", "title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}
r = requests.post(f"{URL}/v1/metadata", json=perm, headers=ADMIN, timeout=10)
check("metadata create permission", r.status_code == 200 and r.json() == {"message": "success"}, r.text)
r = requests.post(f"{URL}/v1/metadata", json=perm, headers=ADMIN, timeout=10)
check("metadata error status", r.status_code == 400 and r.json()["code"] == "already-exists", r.text)
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
check("jwt role not allowed", r.json().get("error") == "Your requested role is not in allowed roles", r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, exp=int(time.time()) - 10)}"})
check("jwt expired", r.json().get("error") == "Could not verify JWT: JWTExpired", r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token(claims, key='another-key-0123456789abcdef0123456789')}"})
check("jwt wrong key", r.json().get("code") == "invalid-jwt", r.text)
none_token = jwt.encode({"https://hasura.io/jwt/claims": {**claims, "x-hasura-default-role": "admin", "x-hasura-allowed-roles": ["admin"]}}, None, algorithm="none")
r = gql("{ authors { email } }", {"authorization": f"Bearer {none_token}"})
check("jwt alg none", r.json().get("code") == "invalid-jwt", r.text)
r = gql("{ articles { id } }", {"authorization": f"Bearer {token({'x-hasura-default-role': 'user'})}"})
check("jwt missing claims", r.json().get("code") == "jwt-missing-role-claims", r.text)

# Database restart: clean errors while down, recovery without restarting the sidecar.
restart = os.environ["GRAFT_PG_RESTART"]
subprocess.run([restart, "stop"], check=True)
r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
check("database down: clean error", "errors" in r.json() or r.status_code >= 500, r.text)
check("healthz reports down", requests.get(f"{URL}/healthz", timeout=5).status_code == 500)
subprocess.run([restart, "start"], check=True)
ok = False
for _ in range(20):
    r = gql("{ authors_by_pk(id: 1) { id } }", ADMIN)
    if r.status_code == 200 and r.json().get("data") == {"authors_by_pk": {"id": 1}}:
        ok = True
        break
    time.sleep(0.3)
check("recovers after restart", ok, r.text)

print(f"sidecar: {passed} passed, {len(failures)} failed")
for f in failures:
    print("  FAILED", f)
sys.exit(1 if failures else 0)
