"""WebSockets on `graft serve` G (run.sh) with Python's gql client (WebsocketsTransport), over
both sub-protocols: a role's live query gets its own rows and a new message when one of them
changes (rows inserted with run_sql), nothing for other rows; queries and mutations over the
socket; a validation error; a refused connection_init."""

import asyncio
import os

import jwt
import requests
from checks import check, finish
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

HTTP = os.environ["GRAFT_URL_G"]
WS = HTTP.replace("http", "ws", 1) + "/v1/graphql"
ADMIN = {"x-hasura-admin-secret": os.environ["GRAFT_ADMIN_SECRET"]}
PROTOCOLS = [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL]


def user(uid):
    claims = {"https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": str(uid)}}
    return {"Authorization": "Bearer " + jwt.encode(claims, os.environ["GRAFT_JWT_KEY"], algorithm="HS256")}


def admin_post(path, body):
    r = requests.post(HTTP + path, json=body, headers=ADMIN, timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def sql(text):
    return admin_post("/v2/query", {"type": "run_sql", "args": {"sql": text}})


sql("CREATE TABLE ws_py_items (id serial PRIMARY KEY, owner int NOT NULL, label text NOT NULL);"
    "INSERT INTO ws_py_items (owner, label) VALUES (5, 'five-a'), (6, 'six-a')")
admin_post("/v1/metadata", {"type": "pg_track_table", "args": {"table": "ws_py_items"}})
admin_post("/v1/metadata", {"type": "pg_create_select_permission", "args": {"table": "ws_py_items", "role": "user", "permission": {
    "columns": ["id", "owner", "label"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}})

LIVE = gql("subscription { ws_py_items(order_by: {id: asc}) { owner label } }")


def transport(headers, proto):
    return WebsocketsTransport(url=WS, init_payload={"headers": headers}, subprotocols=[proto])


async def until(pred, seconds):
    for _ in range(int(seconds / 0.02)):
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


async def live_case(proto):
    async with Client(transport=transport(user(5), proto), fetch_schema_from_transport=False) as session:
        # Consumed in a task: cancelling a pending __anext__ would end the subscription.
        got = []

        async def consume():
            async for r in session.subscribe(LIVE):
                got.append(r)
        task = asyncio.create_task(consume())
        await until(lambda: got, 5)
        check(f"{proto}: first result, the role's rows", got[:1] == [{"ws_py_items": [{"owner": 5, "label": "five-a"}]}], got)
        sql("INSERT INTO ws_py_items (owner, label) VALUES (6, 'six-' || md5(random()::text))")
        await asyncio.sleep(0.8)
        check(f"{proto}: another owner's row sends nothing", len(got) == 1, got)
        sql(f"INSERT INTO ws_py_items (owner, label) VALUES (5, 'five-{proto}')")
        await until(lambda: len(got) >= 2, 5)
        check(f"{proto}: the new row arrives", len(got) == 2 and got[1]["ws_py_items"][-1]["label"] == f"five-{proto}", got)
        task.cancel()
        sql(f"DELETE FROM ws_py_items WHERE label = 'five-{proto}'")


async def once_case(proto):
    async with Client(transport=transport(ADMIN, proto), fetch_schema_from_transport=False) as session:
        r = await session.execute(gql("mutation { insert_ws_py_items_one(object: {owner: 7, label: \"seven\"}) { label } }"))
        check(f"{proto}: mutation over the socket", r == {"insert_ws_py_items_one": {"label": "seven"}}, r)
        r = await session.execute(gql("query { ws_py_items_aggregate(where: {owner: {_eq: 7}}) { aggregate { count } } }"))
        check(f"{proto}: query over the socket", r["ws_py_items_aggregate"]["aggregate"]["count"] >= 1, r)
        try:
            await session.execute(gql("{ nope }"))
            err = None
        except TransportQueryError as e:
            err = e.errors
        check(f"{proto}: validation error", bool(err) and err[0]["extensions"]["code"] == "validation-failed", err)
        r = await session.execute(gql("{ __typename }"))
        check(f"{proto}: the socket stays open after an error", r == {"__typename": "query_root"}, r)


async def big_case(proto):
    # A result larger than GRAFT_MAX_BODY_BYTES (1 MiB, the limit on what clients send) still
    # reaches the client: the limit is on messages in, not out.
    t = WebsocketsTransport(url=WS, init_payload={"headers": ADMIN}, subprotocols=[proto], connect_args={"max_size": 1 << 23})
    try:
        async with Client(transport=t, fetch_schema_from_transport=False) as session:
            r = await session.execute(gql("query { ws_py_items(where: {owner: {_eq: 8}}) { label } }"))
            labels = [x["label"] for x in r["ws_py_items"]]
            check(f"{proto}: a 1.5 MB result over the socket", labels == ["b" * 1_500_000], [len(x) for x in labels])
            r = await session.execute(gql("{ __typename }"))
            check(f"{proto}: ... and the socket goes on", r == {"__typename": "query_root"}, r)
    except Exception as e:  # the socket ended under the client
        check(f"{proto}: a 1.5 MB result over the socket", False, repr(e))


async def denied_case(proto):
    try:
        async with Client(transport=transport({"Authorization": "Bearer not.a.jwt"}, proto), fetch_schema_from_transport=False) as session:
            await session.execute(gql("{ __typename }"))
        err = None
    except Exception as e:  # gql raises its transport error or the closed connection's
        err = e
    check(f"{proto}: a refused connection_init fails the client", err is not None, err)


async def main():
    sql("INSERT INTO ws_py_items (owner, label) VALUES (8, repeat('b', 1500000))")
    for proto in PROTOCOLS:
        await live_case(proto)
        await once_case(proto)
        await big_case(proto)
        await denied_case(proto)


asyncio.run(main())
finish("sidecar websocket python")
