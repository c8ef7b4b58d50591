"""Limits and failure paths of `graft serve` (instances D, E, F of run.sh, and A for TLS):
pool timeouts with the pool exhausted or the database silent, run_sql connections that never
return to the pool, a single JWT config with issuer and audience, and TLS to PostgreSQL per
sslmode (the cluster runs with ssl = on)."""

import os
import socket
import threading
import time

import jwt
import requests

from checks import check, finish

URL_A = os.environ["GRAFT_URL"]
URL_B = os.environ["GRAFT_URL_B"]
URL_C = os.environ["GRAFT_URL_C"]
URL_D = os.environ["GRAFT_URL_D"]
URL_E = os.environ["GRAFT_URL_E"]
URL_F = os.environ["GRAFT_URL_F"]
ADMIN = {"x-hasura-admin-secret": os.environ["GRAFT_ADMIN_SECRET"]}
KEY_D = os.environ["GRAFT_JWT_KEY_D"]


def gql(url, query, headers=None):
    return requests.post(f"{url}/v1/graphql", json={"query": query}, headers=headers or {}, timeout=20)


def v2(url, body, headers=ADMIN):
    return requests.post(f"{url}/v2/query", json=body, headers=headers, timeout=20)


def first_error(r):
    body = r.json() if r.status_code == 200 else {}
    return body["errors"][0] if "errors" in body else {"status": r.status_code, "text": r.text}


def timed(f):
    started = time.monotonic()
    result = f()
    return result, time.monotonic() - started


# A "database" that accepts connections and never says a word (instance E points at it).
silent = socket.socket()
silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
silent.bind(("127.0.0.1", int(os.environ["GRAFT_SILENT_PORT"])))
silent.listen(64)
held = []


def accept_forever():
    while True:
        conn, _ = silent.accept()
        held.append(conn)


threading.Thread(target=accept_forever, daemon=True).start()

AUTHOR_Q = "{ authors_by_pk(id: 1) { id } }"
AUTHOR = {"data": {"authors_by_pk": {"id": 1}}}

# --- E: the database never answers; requests fail after the connect timeout -------------------
r, took = timed(lambda: gql(URL_E, AUTHOR_Q))
e = first_error(r)
check("silent database: a clean error within the connect timeout", took < 4 and e.get("message") == "connection error"
      and e["extensions"]["code"] == "postgres-error" and "GRAFT_PG_CONNECT_TIMEOUT" in e["extensions"].get("internal", ""), (took, r.text))
results = []
threads = [threading.Thread(target=lambda: results.append(timed(lambda: gql(URL_E, AUTHOR_Q))), daemon=True) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join(15)
check("silent database: concurrent requests all fail in time", len(results) == 4
      and all(t < 5 and first_error(r).get("message") == "connection error" for r, t in results), [(r.text, t) for r, t in results])
r, took = timed(lambda: requests.get(f"{URL_E}/healthz", timeout=15))
check("silent database: /healthz answers ERROR without hanging", (r.status_code, r.text) == (500, "ERROR") and took < 7, (r.status_code, r.text, took))

# --- F: verify-full against a CA that did not sign the server's certificate ------------------
r = gql(URL_F, AUTHOR_Q)
e = first_error(r)
check("verify-full with the wrong CA: connection refused", e.get("message") == "connection error"
      and "certificate" in e["extensions"].get("internal", "").lower(), r.text)

# --- TLS per sslmode: A prefer (default), B require, C disable, D verify-full ----------------
for url in (URL_B, URL_C, URL_D):
    gql(url, AUTHOR_Q, ADMIN)
r = v2(URL_A, {"type": "run_sql", "args": {"sql": "SELECT a.application_name, bool_and(s.ssl) FROM pg_stat_activity a "
                                                  "JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'graft-%' GROUP BY 1 ORDER BY 1"}})
rows = dict(r.json()["result"][1:]) if r.status_code == 200 else {}
check("TLS per sslmode", rows == {"graft-a": "t", "graft-b": "t", "graft-c": "f", "graft-d": "t"}, r.text)
check("verify-full with the right CA works", gql(URL_D, AUTHOR_Q, ADMIN).json() == AUTHOR)

# --- D: one JWT config with issuer and audience ------------------------------------------------
CLAIMS = {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "2"}
ARTICLES_Q = "{ articles(order_by: {id: asc}) { id } }"
USER_ARTICLES = {"data": {"articles": [{"id": 4}, {"id": 5}, {"id": 6}]}}


def d_token(**extra):
    return jwt.encode({"https://hasura.io/jwt/claims": CLAIMS, **extra}, KEY_D, algorithm="HS256")


for name, extra, want in [
    ("audience match", {"iss": "graft-d", "aud": "graft-app"}, None),
    ("audience match in a list", {"iss": "graft-d", "aud": ["elsewhere", "graft-other"]}, None),
    ("audience mismatch", {"iss": "graft-d", "aud": "elsewhere"}, "Could not verify JWT: JWTNotInAudience"),
    ("audience missing", {"iss": "graft-d"}, "Could not verify JWT: JWTNotInAudience"),
    ("issuer mismatch", {"iss": "someone-else", "aud": "graft-app"}, "Could not verify JWT: JWTNotInIssuer"),
]:
    r = gql(URL_D, ARTICLES_Q, {"authorization": f"Bearer {d_token(**extra)}"})
    if want is None:
        check(f"jwt {name}", r.json() == USER_ARTICLES, r.text)
    else:
        e = first_error(r)
        check(f"jwt {name}", (e.get("message"), e.get("extensions", {}).get("code")) == (want, "invalid-jwt"), r.text)

# --- D (a pool of one connection): run_sql never hands its connection back ---------------------
r = v2(URL_D, {"type": "run_sql", "args": {"sql": "SET ROLE sidecar_nobody; SELECT 1/0"}})
after = [gql(URL_D, AUTHOR_Q, ADMIN).json() for _ in range(3)]
who = v2(URL_D, {"type": "run_sql", "args": {"sql": "SELECT current_user"}}).json()
check("run_sql error after SET ROLE: next requests run as before", r.status_code == 400 and r.json()["internal"]["error"]["status_code"] == "22012"
      and all(a == AUTHOR for a in after) and who.get("result", [None, None])[1] == ["postgres"], (r.text, after, who))
r = v2(URL_D, {"type": "run_sql", "args": {"sql": "DISCARD ALL"}})
check("DISCARD ALL needs no_transaction (run_sql runs in a transaction, as Hasura's)", r.status_code == 400
      and r.json()["internal"]["error"]["status_code"] == "25001", r.text)
for args in [{"sql": "DISCARD ALL", "no_transaction": True}, {"sql": "DEALLOCATE ALL"},
             {"sql": "SET search_path TO pg_catalog; CREATE TEMP TABLE sidecar_tmp (x int)"}, {"sql": "SELECT pg_advisory_lock(42)"},
             {"sql": "SELECT 1 AS one", "no_transaction": True, "read_only": True}]:
    r = v2(URL_D, {"type": "run_sql", "args": args})
    after = [gql(URL_D, AUTHOR_Q, ADMIN).json() for _ in range(3)]
    check(f"run_sql {args}: GraphQL requests keep working", r.status_code == 200 and all(a == AUTHOR for a in after), (r.text, after))
r = v2(URL_D, {"type": "run_sql", "args": {"sql": "INSERT INTO authors (name) VALUES ('x')", "no_transaction": True, "read_only": True}})
check("no_transaction + read_only refuses writes", r.status_code == 400 and r.json()["internal"]["error"]["status_code"] == "25006", r.text)
r = v2(URL_D, {"type": "run_sql", "args": {"sql": "CREATE INDEX CONCURRENTLY sidecar_nt_idx ON authors (name)", "no_transaction": True}})
check("no_transaction allows CREATE INDEX CONCURRENTLY", r.status_code == 200, r.text)
r = v2(URL_D, {"type": "run_sql", "args": {"sql": "SELECT pg_try_advisory_lock(42) AS got, to_regclass('pg_temp.sidecar_tmp') IS NULL AS no_tmp"}})
check("run_sql session state died with its connection", r.json().get("result", [None, None])[1] == ["t", "t"], r.text)

# --- D: the pool exhausted; waiting is bounded by HASURA_GRAPHQL_PG_POOL_TIMEOUT (1 s) ---------
slow = threading.Thread(target=lambda: v2(URL_D, {"type": "run_sql", "args": {"sql": "SELECT pg_sleep(4)"}}), daemon=True)
slow.start()
time.sleep(0.7)
r, took = timed(lambda: gql(URL_D, AUTHOR_Q, ADMIN))
e = first_error(r)
check("pool exhausted: the request fails after the pool timeout", 0.8 < took < 3 and e.get("message") == "connection error"
      and e["extensions"]["code"] == "postgres-error" and "HASURA_GRAPHQL_PG_POOL_TIMEOUT" in e["extensions"].get("internal", ""), (took, r.text))
r, took = timed(lambda: requests.get(f"{URL_D}/healthz", timeout=15))
check("pool exhausted: /healthz does not hang", (r.status_code, r.text) == (500, "ERROR") and took < 3, (r.status_code, r.text, took))
slow.join(10)
check("pool free again: requests work", gql(URL_D, AUTHOR_Q, ADMIN).json() == AUTHOR)

finish("sidecar limits")
