"""WebSocket authentication and lifetime on sidecars of their own (started here from
$GRAFT_BIN on free loopback ports, against run.sh's database), with a real GET auth webhook:

  P  CORS disabled, the webhook, HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE (default on)
  Q  CORS disabled, the webhook, HASURA_GRAPHQL_WS_READ_COOKIE=true,
     HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE=false, GRAFT_WS_MAX_OPERATIONS_PER_SOCKET=3,
     GRAFT_MAX_BODY_BYTES=65536
  R  a CORS domain list (http://good.test), the webhook

Checked with Python's gql client and raw `websockets` sockets (close codes and reasons):
the webhook answer's expiry (`Cache-Control: max-age` / `Expires` body keys) ends the socket
as Hasura does (no close frame: 1006); cookies reach the webhook only as Hasura's enforceCors
lets them; a metadata change closes every socket with 1012, or (setting off) a running live
query sees the new permission at its next refetch; the operations cap answers `error`;
Hasura's close reasons for a refused connection_init."""

import asyncio
import email.utils
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
import websockets
from checks import check, finish
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

BIN = os.environ["GRAFT_BIN"]
TMP = os.environ["GRAFT_TMP"]
DB = os.environ["GRAFT_DATABASE_URL"]
SECRET = os.environ["GRAFT_ADMIN_SECRET"]
ADMIN = {"x-hasura-admin-secret": SECRET}
T, L = "graphql-transport-ws", "graphql-ws"

# ---- the auth webhook: the token (or cookie) names the user and the answer's expiry ----
seen_cookies = []


class Hook(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        cookie = self.headers.get("Cookie")
        seen_cookies.append(cookie)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        body = {"X-Hasura-Role": "user"}
        extra_headers = {}
        if token == "short":  # valid for 2 s, as Cache-Control in the body
            body.update({"X-Hasura-User-Id": "u1", "Cache-Control": "max-age=2"})
        elif token == "dated":  # valid for 2 s, as Expires in the body
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            body.update({"X-Hasura-User-Id": "u1", "Expires": when})
        elif token == "header":  # an HTTP header, which Hasura does not read for the expiry
            body["X-Hasura-User-Id"] = "u1"
            extra_headers["Cache-Control"] = "max-age=1"
        elif token == "long":
            body["X-Hasura-User-Id"] = "u1"
        elif cookie and "session=c1" in cookie:
            body["X-Hasura-User-Id"] = "u1"
        else:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
HOOK = f"http://127.0.0.1:{hook.server_address[1]}/hook"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


procs = []


def sidecar(name, **env):
    port = free_port()
    log = open(f"{TMP}/sidecar-{name}.log", "w")
    full = {**os.environ, "HASURA_GRAPHQL_DATABASE_URL": f"{DB}?application_name=graft-{name}", "HASURA_GRAPHQL_SERVER_PORT": str(port),
            "HASURA_GRAPHQL_ADMIN_SECRET": SECRET, "HASURA_GRAPHQL_AUTH_HOOK": HOOK, "HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL": "200", **env}
    p = subprocess.Popen([BIN, "serve"], env=full, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sidecar {name} did not start: {open(log.name).read()[-2000:]}")


P = sidecar("p", HASURA_GRAPHQL_DISABLE_CORS="true")
Q = sidecar("q", HASURA_GRAPHQL_DISABLE_CORS="true", HASURA_GRAPHQL_WS_READ_COOKIE="true",
            HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE="false", GRAFT_WS_MAX_OPERATIONS_PER_SOCKET="3", GRAFT_MAX_BODY_BYTES="65536")
R = sidecar("r", HASURA_GRAPHQL_CORS_DOMAIN="http://good.test")


def ws_url(http):
    return http.replace("http", "ws", 1) + "/v1/graphql"


def post(path, body, url=P):
    r = requests.post(url + path, json=body, headers=ADMIN, timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


post("/v2/query", {"type": "run_sql", "args": {"sql": "CREATE TABLE ws_auth_items (id serial PRIMARY KEY, owner text NOT NULL, label text NOT NULL);"
                                                      "INSERT INTO ws_auth_items (owner, label) VALUES ('u1', 'a'), ('u1', 'b'), ('u2', 'c')"}})
post("/v1/metadata", {"type": "pg_track_table", "args": {"table": "ws_auth_items"}})
PERM = {"type": "pg_create_select_permission", "args": {"table": "ws_auth_items", "role": "user", "permission": {
    "columns": ["id", "owner", "label"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}
post("/v1/metadata", PERM)
LIVE = "subscription { ws_auth_items(order_by: {id: asc}) { label } }"


# ---- raw sockets ----
class Raw:
    def __init__(self, ws):
        self.ws, self.msgs, self.closed, self.rcvd = ws, [], None, None
        self.task = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for m in self.ws:
                self.msgs.append(json.loads(m))
        except websockets.ConnectionClosed:
            pass
        self.rcvd = self.ws.close_rcvd
        self.closed = time.monotonic()

    def code(self):
        return self.rcvd.code if self.rcvd else 1006

    def reason(self):
        return self.rcvd.reason if self.rcvd else None

    async def send(self, m):
        await self.ws.send(json.dumps(m))


async def raw(http, proto, headers=None, init=None, origin=None):
    ws = await websockets.connect(ws_url(http), subprotocols=[proto], extra_headers=headers or {}, origin=origin)
    r = Raw(ws)
    if init is not None:
        await r.send({"type": "connection_init", "payload": {"headers": init}})
    return r


async def until(pred, seconds=5):
    for _ in range(int(seconds / 0.02)):
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


def acked(r):
    return any(m["type"] == "connection_ack" for m in r.msgs)


def start(proto, op_id, query):
    return {"type": "subscribe" if proto == T else "start", "id": op_id, "payload": {"query": query}}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def expiry_cases():
    for proto in (T, L):
        for token in ("short", "dated"):
            r = await raw(P, proto, init=bearer(token))
            await until(lambda: acked(r))
            await r.send(start(proto, "1", LIVE))
            await until(lambda: any(m.get("id") == "1" for m in r.msgs))
            opened = time.monotonic()
            await until(lambda: r.closed, 6)
            took = (r.closed or time.monotonic()) - opened
            first = next((m for m in r.msgs if m.get("id") == "1"), None)
            check(f"{proto} {token}: the live query ran", first is not None and first["payload"] == {"data": {"ws_auth_items": [{"label": "a"}, {"label": "b"}]}}, r.msgs)
            check(f"{proto} {token}: the webhook's expiry ends the socket, without a close frame (1006), as Hasura",
                  r.closed is not None and r.code() == 1006 and 0.5 < took < 4, (r.code(), r.reason(), took))
    # An expiry given as an HTTP header is not Hasura's: the socket stays.
    r = await raw(P, T, init=bearer("header"))
    await until(lambda: acked(r))
    await asyncio.sleep(2.5)
    check("an HTTP Cache-Control header does not expire the socket", acked(r) and r.closed is None, r.msgs)
    await r.ws.close()
    # The gql client sees its subscription end when the socket does.
    transport = WebsocketsTransport(url=ws_url(P), init_payload={"headers": bearer("short")}, subprotocols=[T])
    got, ended = [], None
    try:
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            async for v in session.subscribe(gql(LIVE)):
                got.append(v)
    except Exception as e:  # gql raises the closed connection
        ended = e
    check("gql: a subscription ends when the webhook's expiry passes", got and ended is not None, (got, ended))


async def cookie_cases():
    cookie = {"Cookie": "session=c1"}
    seen_cookies.clear()
    # P: CORS disabled, a browser (Origin) socket: the cookie is dropped, the hook refuses.
    r = await raw(P, T, headers=cookie, init={}, origin="http://any.test")
    await until(lambda: r.closed)
    check("CORS disabled: a browser's cookie is not passed to the webhook", r.code() == 4403 and seen_cookies and seen_cookies[-1] is None, (r.code(), seen_cookies))
    plog = open(f"{TMP}/sidecar-p.log").read()
    check("CORS disabled: Hasura's note is logged", "Cookie is not read when CORS is disabled" in plog and "HASURA_GRAPHQL_WS_READ_COOKIE" in plog)
    # No Origin (not a browser): Hasura checks nothing.
    r = await raw(P, T, headers=cookie, init={})
    await until(lambda: acked(r) or r.closed)
    check("no Origin: the cookie is passed", acked(r) and seen_cookies[-1] == "session=c1", (r.msgs, seen_cookies))
    await r.ws.close()
    # Q: HASURA_GRAPHQL_WS_READ_COOKIE: the browser's cookie counts.
    r = await raw(Q, T, headers=cookie, init={}, origin="http://any.test")
    await until(lambda: acked(r) or r.closed)
    check("HASURA_GRAPHQL_WS_READ_COOKIE: the cookie is passed", acked(r) and seen_cookies[-1] == "session=c1", (r.msgs, seen_cookies))
    await r.send(start(T, "1", LIVE))
    await until(lambda: any(m.get("id") == "1" for m in r.msgs))
    check("HASURA_GRAPHQL_WS_READ_COOKIE: the cookie's user runs the live query", any(m.get("id") == "1" and m["type"] == "next" for m in r.msgs), r.msgs)
    await r.ws.close()
    qlog = open(f"{TMP}/sidecar-q.log").read()
    check("startup log: cors_config ws_read_cookie", '"ws_read_cookie":true' in qlog)
    # R: a CORS domain list: an allowed origin keeps the cookie, another is refused.
    r = await raw(R, L, headers=cookie, init={}, origin="http://good.test")
    await until(lambda: acked(r) or r.closed)
    check("CORS list, allowed origin: the cookie is passed", acked(r) and seen_cookies[-1] == "session=c1", (r.msgs, seen_cookies))
    await r.ws.close()
    status = None
    try:
        await websockets.connect(ws_url(R), subprotocols=[T], origin="http://evil.test")
    except websockets.InvalidStatusCode as e:
        status = e.status_code
    check("CORS list, another origin: the upgrade is refused (400)", status == 400, status)
    # The setting with CORS enabled stops the server, with Hasura's message.
    out = subprocess.run([BIN, "serve"], env={**os.environ, "HASURA_GRAPHQL_DATABASE_URL": DB, "HASURA_GRAPHQL_SERVER_PORT": str(free_port()),
                                              "HASURA_GRAPHQL_WS_READ_COOKIE": "true"}, capture_output=True, text=True, timeout=20)
    check("HASURA_GRAPHQL_WS_READ_COOKIE with CORS enabled is refused at startup",
          out.returncode != 0 and "HASURA_GRAPHQL_WS_READ_COOKIE can only be used when CORS is disabled" in out.stderr, (out.returncode, out.stderr[-300:]))


async def init_failure_cases():
    r = await raw(P, L, init=bearer("nobody"))
    await until(lambda: r.closed)
    errs = [m for m in r.msgs if m["type"] == "connection_error"]
    reason = json.loads(r.reason() or "{}").get("server_error_msg", "")
    check("legacy refused init: connection_error, then 4400 with Hasura's reason",
          errs and errs[0]["payload"] == "Authentication hook unauthorized this request" and r.code() == 4400
          and reason == "4400: Connection initialization failed: Authentication hook unauthorized this request", (r.msgs, r.code(), r.reason()))
    r = await raw(P, T, init=bearer("nobody"))
    await until(lambda: r.closed)
    check("graphql-transport-ws refused init: 4403 with Hasura's reason", r.code() == 4403 and r.reason() == '{"server_error_msg":"4403: Forbidden"}', (r.code(), r.reason()))


async def metadata_cases():
    # P closes every socket, both protocols, with 1012 when the metadata changes.
    socks = [await raw(P, T, init=bearer("long")), await raw(P, L, init=bearer("long"))]
    for s in socks:
        await until(lambda: acked(s))
        await s.send(start(T if s is socks[0] else L, "1", LIVE))
    await until(lambda: all(any(m.get("id") == "1" for m in s.msgs) for s in socks))
    transport = WebsocketsTransport(url=ws_url(P), init_payload={"headers": bearer("long")}, subprotocols=[L])
    gql_end = {}

    async def gql_live():
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                async for v in session.subscribe(gql(LIVE)):
                    gql_end.setdefault("got", []).append(v)
        except Exception as e:
            gql_end["error"] = e
    task = asyncio.create_task(gql_live())
    await until(lambda: gql_end.get("got"))
    await asyncio.sleep(0.3)
    changed = time.monotonic()
    post("/v1/metadata", {"type": "pg_create_select_permission", "args": {"table": "ws_auth_items", "role": "viewer", "permission": {"columns": ["id"], "filter": {}}}})
    await until(lambda: all(s.closed for s in socks) and "error" in gql_end, 5)
    check("metadata change: every socket closed with 1012 and Hasura's reason",
          all(s.code() == 1012 and s.reason() == "Server state changed, restarting the server" for s in socks), [(s.code(), s.reason()) for s in socks])
    check("metadata change: at once after the sidecar's own request", all(s.closed and s.closed - changed < 1.5 for s in socks))
    check("metadata change: the gql client's subscription ends", "error" in gql_end, gql_end)
    task.cancel()
    # A change made elsewhere (another sidecar) is seen by the poll, within about a second.
    s = await raw(P, T, init=bearer("long"))
    await until(lambda: acked(s))
    await asyncio.sleep(0.3)
    # While nothing writes the metadata, that poll reads the store's change counter and
    # exports nothing (an export costs the database milliseconds). The reset below is itself
    # a request to P, which checks once after it. pg_stat_statements keeps the statements
    # with their constants as $n.
    stat = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE "
    post("/v2/query", {"type": "run_sql", "args": {"sql": "SELECT pg_stat_statements_reset()"}})
    await asyncio.sleep(2.6)
    counts = post("/v2/query", {"type": "run_sql", "args": {"sql": f"SELECT ({stat}'%table_versions(ARRAY[to_regclass(%') || ',' || ({stat}'%graphql.metadata($1::text::json)::json) ->>%')"}})
    counters, exports = (int(x) for x in counts["result"][1][0].split(","))
    check("metadata watch, idle: the counter read each second, no export but the one after a request",
          counters >= 2 and exports <= 1, {"counter reads": counters, "exports": exports})
    post("/v1/metadata", {"type": "pg_drop_select_permission", "args": {"table": "ws_auth_items", "role": "viewer"}}, url=R)
    await until(lambda: s.closed, 4)
    check("metadata change through another sidecar: closed by the poll", s.code() == 1012, (s.code(), s.reason()))

    # Q (setting off): the socket stays, and the live query sees the new permission at its
    # next refetch: a stricter filter (dropped and made again in one bulk), then none.
    transport = WebsocketsTransport(url=ws_url(Q), init_payload={"headers": bearer("long")}, subprotocols=[T])
    got, errors = [], []
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        async def consume():
            try:
                async for v in session.subscribe(gql(LIVE)):
                    got.append(v)
            except TransportQueryError as e:
                errors.append(e.errors)
        task = asyncio.create_task(consume())
        await until(lambda: got)
        stricter = json.loads(json.dumps(PERM))
        stricter["args"]["permission"]["filter"] = {"_and": [{"owner": {"_eq": "X-Hasura-User-Id"}}, {"label": {"_eq": "b"}}]}
        post("/v1/metadata", {"type": "bulk", "args": [{"type": "pg_drop_select_permission", "args": {"table": "ws_auth_items", "role": "user"}}, stricter]}, url=Q)
        await until(lambda: len(got) >= 2, 5)
        check("setting off: the live query gets the smaller result", got[-1:] == [{"ws_auth_items": [{"label": "b"}]}], got)
        post("/v1/metadata", {"type": "pg_drop_select_permission", "args": {"table": "ws_auth_items", "role": "user"}}, url=Q)
        await until(lambda: errors, 5)
        check("setting off: without the permission the subscriber gets the error",
              errors and errors[0][0]["extensions"]["code"] == "validation-failed", (got, errors))
        task.cancel()
    post("/v1/metadata", PERM, url=Q)


async def cap_cases():
    for proto in (T, L):
        r = await raw(Q, proto, init=bearer("long"))
        await until(lambda: acked(r))
        for i in range(4):
            await r.send(start(proto, f"s{i}", LIVE))
        await until(lambda: any(m.get("id") == "s3" for m in r.msgs))
        await asyncio.sleep(0.3)
        third = [m["type"] for m in r.msgs if m.get("id") == "s2"]
        fourth = [m for m in r.msgs if m.get("id") == "s3"]
        e = fourth[0]["payload"] if fourth else None
        e = e[0] if isinstance(e, list) else e
        check(f"{proto}: three operations run", third[:1] == ["next" if proto == T else "data"], r.msgs)
        check(f"{proto}: the fourth is refused with an error naming the setting",
              fourth and fourth[0]["type"] == "error" and "GRAFT_WS_MAX_OPERATIONS_PER_SOCKET" in e["message"] and r.closed is None, r.msgs)
        await r.send({"type": "complete" if proto == T else "stop", "id": "s0"})
        await asyncio.sleep(0.2)
        await r.send(start(proto, "s4", LIVE))
        await until(lambda: any(m.get("id") == "s4" for m in r.msgs))
        check(f"{proto}: once one stops another may start", [m["type"] for m in r.msgs if m.get("id") == "s4"][:1] == ["next" if proto == T else "data"], r.msgs)
        # A message larger than GRAFT_MAX_BODY_BYTES is refused by the socket layer (1009).
        await r.send(start(proto, "huge", "{ __typename }" + " " * 70000))
        await until(lambda: r.closed)
        check(f"{proto}: a message over GRAFT_MAX_BODY_BYTES closes the socket (1009)",
              r.code() == 1009 and "GRAFT_MAX_BODY_BYTES" in (r.reason() or ""), (r.code(), r.reason()))


async def main():
    await init_failure_cases()
    await expiry_cases()
    await cookie_cases()
    await cap_cases()
    await metadata_cases()


try:
    asyncio.run(main())
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)
    post_sql = requests.post(os.environ["GRAFT_URL_G"] + "/v2/query", headers=ADMIN, timeout=10, json={"type": "run_sql", "args": {"sql": "DROP TABLE ws_auth_items CASCADE"}})
finish("sidecar websocket auth")
