// WebSockets on `graft serve` G (run.sh): the graphql-ws library (graphql-transport-ws), Apollo's
// subscriptions-transport-ws (legacy graphql-ws) and raw `ws` sockets for the protocol's edge
// cases: live queries per role, queries and mutations over the socket, errors that leave the
// socket open, and Hasura's close codes. G polls live queries every 200 ms, sends keep-alives
// every second and closes sockets that send no connection_init within a second. ws_live.mjs:
// multiplexing, change-driven runs and streams.
import { createHmac } from "node:crypto";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";
import { liveTests } from "./ws_live.mjs";

const HTTP = process.env.GRAFT_URL_G;
const WS_URL = `${HTTP.replace(/^http/, "ws")}/v1/graphql`;
const ADMIN = { "x-hasura-admin-secret": process.env.GRAFT_ADMIN_SECRET };
const failures = [];
let passed = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(name, cond, detail = "") {
  if (cond) passed += 1;
  else failures.push(`${name}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
}

async function waitFor(pred, ms = 3000) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (pred()) return true;
    await sleep(20);
  }
  return pred();
}

const b64url = (s) => Buffer.from(s).toString("base64url");
function userToken(id, extra = {}) {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ ...extra, "https://hasura.io/jwt/claims": { "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": String(id) } }));
  const sig = createHmac("sha256", process.env.GRAFT_JWT_KEY).update(`${head}.${body}`).digest("base64url");
  return { authorization: `Bearer ${head}.${body}.${sig}` };
}

async function post(path, body) {
  const r = await fetch(`${HTTP}${path}`, { method: "POST", headers: { "content-type": "application/json", ...ADMIN }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}
const insert = (owner, label) => post("/v1/graphql", { query: "mutation ($o: Int!, $l: String!) { insert_ws_node_items_one(object: {owner: $o, label: $l}) { id } }", variables: { o: owner, l: label } });

await post("/v2/query", { type: "run_sql", args: { sql: "CREATE TABLE ws_node_items (id serial PRIMARY KEY, owner int NOT NULL, label text NOT NULL); INSERT INTO ws_node_items (owner, label) VALUES (1, 'one-a'), (2, 'two-a')" } });
await post("/v1/metadata", { type: "pg_track_table", args: { table: "ws_node_items" } });
await post("/v1/metadata", { type: "pg_create_select_permission", args: { table: "ws_node_items", role: "user", permission: { columns: ["id", "owner", "label"], filter: { owner: { _eq: "X-Hasura-User-Id" } } } } });

const LIVE = "subscription { ws_node_items(order_by: {id: asc}) { owner label } }";

// ---- graphql-ws (graphql-transport-ws) ----
function newClient(headers, extra = {}) {
  return createClient({ url: WS_URL, webSocketImpl: WebSocket, connectionParams: { headers }, retryAttempts: 0, ...extra });
}
function collect(client, payload) {
  const c = { msgs: [], done: false, error: null };
  c.dispose = client.subscribe(payload, { next: (v) => c.msgs.push(v), error: (e) => { c.error = e; }, complete: () => { c.done = true; } });
  return c;
}

const user2 = newClient(userToken(2));
const live = collect(user2, { query: LIVE });
await waitFor(() => live.msgs.length >= 1);
check("graphql-ws: first result at once, only the role's rows", JSON.stringify(live.msgs[0]) === JSON.stringify({ data: { ws_node_items: [{ owner: 2, label: "two-a" }] } }), live.msgs);
await sleep(700);
check("graphql-ws: no message while nothing changes", live.msgs.length === 1, live.msgs);
await insert(1, "one-b");
await sleep(700);
check("graphql-ws: another owner's row sends nothing", live.msgs.length === 1, live.msgs);
await insert(2, "two-b");
await waitFor(() => live.msgs.length >= 2);
check("graphql-ws: a new row of the role's arrives", JSON.stringify(live.msgs[1]?.data?.ws_node_items?.map((r) => r.label)) === JSON.stringify(["two-a", "two-b"]), live.msgs);

const q = collect(user2, { query: "query { ws_node_items(order_by: {id: asc}) { label } }" });
await waitFor(() => q.done);
check("graphql-ws: query over the socket, then complete", q.done && q.msgs.length === 1 && q.msgs[0].data.ws_node_items.length === 2, q);
const bad = collect(user2, { query: "{ nope }" });
await waitFor(() => bad.error);
check("graphql-ws: validation error is the operation's error", Array.isArray(bad.error) && bad.error[0]?.extensions?.code === "validation-failed", bad.error);
const two = collect(user2, { query: "subscription { a: ws_node_items { id } b: ws_node_items { id } }" });
await waitFor(() => two.error);
check("graphql-ws: two root fields", two.error?.[0]?.message === "subscriptions must select one top level field", two.error);
const after = collect(user2, { query: "{ ws_node_items { label } }" });
await waitFor(() => after.done);
check("graphql-ws: the socket stays open after errors", after.done && after.msgs.length === 1, after);

const admin = newClient(ADMIN);
const m = collect(admin, { query: "mutation { insert_ws_node_items_one(object: {owner: 3, label: \"three\"}) { label } }" });
await waitFor(() => m.done);
check("graphql-ws: mutation over the socket", m.msgs[0]?.data?.insert_ws_node_items_one?.label === "three", m);
const cv = collect(admin, { query: "mutation { insert_ws_node_items_one(object: {id: 1, owner: 3, label: \"dup\"}) { id } }" });
await waitFor(() => cv.done || cv.error);
check("graphql-ws: an execution error is a result with errors", cv.msgs[0]?.errors?.[0]?.extensions?.code === "constraint-violation", cv);
live.dispose();

let closed = null;
const denied = newClient({ authorization: "Bearer not.a.jwt" }, { on: { closed: (e) => { closed = e; } } });
const d = collect(denied, { query: LIVE });
await waitFor(() => closed);
check("graphql-ws: failed auth closes 4403 with Hasura's reason", closed?.code === 4403 && closed?.reason === '{"server_error_msg":"4403: Forbidden"}', [closed?.code, closed?.reason, d.error]);

// A JWT that expires ends the socket then, as Hasura ends it: no close frame (1006), so the
// client reconnects with a fresh token.
let expiredClose = null;
const shortLived = newClient(userToken(2, { exp: Math.floor(Date.now() / 1000) + 2 }), { on: { closed: (e) => { expiredClose = e; } } });
const sl = collect(shortLived, { query: LIVE });
await waitFor(() => sl.msgs.length >= 1);
await waitFor(() => expiredClose, 4000);
check("JWT expiry ends the socket", expiredClose?.code === 1006 && sl.msgs.length >= 1, [expiredClose?.code, expiredClose?.reason, sl.msgs.length]);

// One cohort for identical subscribers: at most one statement per 200 ms (none while nothing
// changes, with change counters).
async function metric(name) {
  const r = await fetch(`${HTTP}/v1/metrics`, { headers: ADMIN });
  const line = (await r.text()).split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}
await sleep(300);
const shared = [1, 2, 3, 4, 5].map(() => collect(user2, { query: LIVE }));
await waitFor(() => shared.every((s) => s.msgs.length >= 1));
const cohorts = await metric("graft_live_query_cohorts");
const p0 = await metric("graft_live_query_polls_total");
await sleep(1000);
const polls = (await metric("graft_live_query_polls_total")) - p0;
check("cohorts: identical subscribers share one poll", cohorts === 1 && polls <= 7, { cohorts, polls });
shared.forEach((s) => s.dispose());
await sleep(300);
await user2.dispose();
await admin.dispose();

// The database going away: a failed poll is sent once as a result with errors, the poll goes
// on, and the data comes back with the database.
const { execFileSync } = await import("node:child_process");
const rc = newClient(userToken(2));
const rl = collect(rc, { query: LIVE });
await waitFor(() => rl.msgs.length >= 1);
execFileSync(process.env.GRAFT_PG_RESTART, ["stop"], { stdio: "ignore" });
await waitFor(() => rl.msgs.some((m) => m.errors), 5000);
await sleep(600);
const errorsSent = rl.msgs.filter((m) => m.errors).length;
execFileSync(process.env.GRAFT_PG_RESTART, ["start"], { stdio: "ignore" });
await waitFor(() => rl.msgs.length >= 3 && rl.msgs.at(-1).data, 10000);
check("database restart: one error result, then the data again", errorsSent === 1 && rl.msgs.at(-1)?.data?.ws_node_items?.length >= 1 && !rl.error, { errorsSent, msgs: rl.msgs.map((m) => Object.keys(m)), error: rl.error });
rl.dispose();
await rc.dispose();

// ---- subscriptions-transport-ws (legacy graphql-ws) ----
function legacy(headers) {
  const c = { errors: [] };
  c.client = new SubscriptionClient(WS_URL, { connectionParams: { headers }, reconnect: false, connectionCallback: (e) => { if (e) c.errors.push(e); } }, WebSocket);
  return c;
}
function run(client, payload) {
  const r = { msgs: [], done: false, error: null };
  r.sub = client.request(payload).subscribe({ next: (v) => r.msgs.push(v), error: (e) => { r.error = e; }, complete: () => { r.done = true; } });
  return r;
}
const old = legacy(userToken(2));
const ol = run(old.client, { query: LIVE });
await waitFor(() => ol.msgs.length >= 1);
check("legacy: first result, the role's rows", ol.msgs[0]?.data?.ws_node_items?.length === 2 && ol.msgs[0].data.ws_node_items.every((r) => r.owner === 2), ol.msgs);
await insert(2, "two-c");
await waitFor(() => ol.msgs.length >= 2);
check("legacy: a change arrives", ol.msgs[1]?.data?.ws_node_items?.length === 3, ol.msgs);
const oq = run(old.client, { query: "{ ws_node_items { label } }" });
await waitFor(() => oq.done);
check("legacy: query, then complete", oq.done && oq.msgs[0]?.data?.ws_node_items?.length === 3, oq);
const ob = run(old.client, { query: "{ nope }" });
await waitFor(() => ob.error);
const obErr = Array.isArray(ob.error) ? ob.error[0] : ob.error;
check("legacy: validation error", obErr?.extensions?.code === "validation-failed", ob.error);
const oq2 = run(old.client, { query: "{ ws_node_items { label } }" });
await waitFor(() => oq2.done);
check("legacy: the socket stays open after an error", oq2.done, oq2);
ol.sub.unsubscribe();
old.client.close();
const oldDenied = legacy({ authorization: "Bearer not.a.jwt" });
await waitFor(() => oldDenied.errors.length > 0);
check("legacy: failed auth is connection_error", oldDenied.errors.length > 0, oldDenied.errors);
oldDenied.client.close();

// ---- raw sockets: the protocol's edge cases ----
function raw(protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(WS_URL, protocols);
    const s = { ws, msgs: [], close: null, send: (o) => ws.send(typeof o === "string" ? o : JSON.stringify(o)) };
    ws.on("message", (d) => s.msgs.push(JSON.parse(d.toString())));
    ws.on("close", (code, reason) => { s.close = { code, reason: reason.toString() }; });
    ws.on("error", () => {});
    ws.on("open", () => resolve(s));
    ws.on("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}
async function acked(protocols) {
  const s = await raw(protocols);
  s.send({ type: "connection_init", payload: { headers: ADMIN } });
  await waitFor(() => s.msgs.some((m) => m.type === "connection_ack"));
  return s;
}
const T = "graphql-transport-ws";
let s = await raw(T);
check("protocol echoed", s.ws.protocol === T, s.ws.protocol);
s.send({ type: "subscribe", id: "1", payload: { query: "{ __typename }" } });
await waitFor(() => s.close);
check("subscribe before ack: 4401", s.close?.code === 4401 && s.close?.reason === "Unauthorized", s.close);
s = await acked(T);
s.send({ type: "subscribe", id: "a", payload: { query: LIVE } });
await waitFor(() => s.msgs.some((m) => m.type === "next"));
s.send({ type: "subscribe", id: "a", payload: { query: LIVE } });
await waitFor(() => s.close);
check("duplicate id: 4409", s.close?.code === 4409 && s.close?.reason === "Subscriber for a already exists", s.close);
s = await acked(T);
s.send({ type: "connection_init", payload: {} });
await waitFor(() => s.close);
check("second connection_init: 4429", s.close?.code === 4429, s.close);
s = await acked(T);
s.send({ type: "ping", payload: { n: 1 } });
await waitFor(() => s.msgs.some((m) => m.type === "pong"));
check("ping answered by pong", JSON.stringify(s.msgs.find((m) => m.type === "pong")) === JSON.stringify({ type: "pong", payload: { n: 1 } }), s.msgs);
await waitFor(() => s.msgs.some((m) => m.type === "ping"), 2500);
check("keep-alive ping", s.msgs.some((m) => m.type === "ping" && m.payload?.message === "keepalive"), s.msgs);
s.send("{not json");
await waitFor(() => s.close);
check("invalid message: 4400", s.close?.code === 4400, s.close);
s = await raw(T);
await waitFor(() => s.close, 2500);
check("no connection_init: 4408", s.close?.code === 4408, s.close);
s = await raw(undefined);
check("no protocol asked: legacy, none echoed", s.ws.protocol === "", s.ws.protocol);
s.send({ type: "connection_init", payload: { headers: ADMIN } });
await waitFor(() => s.msgs.filter((m) => m.type === "ka").length >= 2, 2500);
check("legacy: ack, ka at once and every second", s.msgs[0]?.type === "connection_ack" && s.msgs[1]?.type === "ka" && s.msgs.filter((m) => m.type === "ka").length >= 2, s.msgs);
s.send({ type: "start", id: "q", payload: { query: "{ __typename }" } });
await waitFor(() => s.msgs.some((m) => m.type === "complete"));
const types = s.msgs.filter((m) => m.id === "q").map((m) => m.type);
check("legacy: data then complete", JSON.stringify(types) === JSON.stringify(["data", "complete"]), s.msgs);
s.send({ type: "connection_terminate" });
await waitFor(() => s.close);
check("legacy: connection_terminate closes", s.close !== null, s.close);
// A client that stops reading: its queue (16 messages on G) fills behind full TCP buffers and
// its socket is closed, while another subscriber still gets its changes at once.
await post("/v2/query", { type: "run_sql", args: { sql: "CREATE TABLE ws_big (id int PRIMARY KEY, blob text); INSERT INTO ws_big VALUES (1, repeat('x', 300000))" } });
await post("/v1/metadata", { type: "pg_track_table", args: { table: "ws_big" } });
const slow = await acked(T);
slow.ws._socket.pause();
for (let i = 0; i < 100; i += 1) slow.send({ type: "subscribe", id: `big${i}`, payload: { query: "subscription { ws_big { blob } }" } });
const other = newClient(userToken(2));
const watch = collect(other, { query: LIVE });
await waitFor(() => watch.msgs.length >= 1);
await sleep(1500);
const before = watch.msgs.length;
const t0 = Date.now();
await insert(2, "two-while-slow");
await waitFor(() => watch.msgs.length > before);
check("slow consumer: others are not slowed", watch.msgs.length > before && Date.now() - t0 < 1500, { before, after: watch.msgs.length, ms: Date.now() - t0 });
slow.ws._socket.resume();
await waitFor(() => slow.close, 10000);
check("slow consumer: its socket is closed", slow.close !== null && [1011, 1006].includes(slow.close.code), slow.close);
const { readFileSync } = await import("node:fs");
const glog = readFileSync(`${process.env.GRAFT_TMP}/sidecar-g.log`, "utf8");
check("slow consumer: logged with its reason", glog.includes("the client is not reading: its outgoing queue is full"));
watch.dispose();
await other.dispose();

// A metadata change closes every socket with 1012 (HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE,
// on by default as in Hasura), both protocols' clients.
let mdClosed = null;
const mdc = newClient(userToken(2), { on: { closed: (e) => { mdClosed = e; } } });
const mdl = collect(mdc, { query: LIVE });
await waitFor(() => mdl.msgs.length >= 1);
const oldMd = legacy(userToken(2));
let legacyGone = false;
oldMd.client.onDisconnected(() => { legacyGone = true; });
const oml = run(oldMd.client, { query: LIVE });
await waitFor(() => oml.msgs.length >= 1);
await sleep(300);
await post("/v1/metadata", { type: "pg_create_select_permission", args: { table: "ws_big", role: "user", permission: { columns: ["id"], filter: {} } } });
await waitFor(() => mdClosed && legacyGone, 4000);
check("metadata change: graphql-ws closed with 1012", mdClosed?.code === 1012 && mdClosed?.reason === "Server state changed, restarting the server", [mdClosed?.code, mdClosed?.reason]);
check("metadata change: subscriptions-transport-ws disconnected", legacyGone && oml.msgs.length >= 1, oml);
await mdc.dispose();
oldMd.client.close();

await liveTests({ check, waitFor, sleep, post, userToken, HTTP, ADMIN });

const plain = await fetch(`${HTTP}/v1/graphql`);
check("GET without upgrade is Hasura's 404", plain.status === 404, plain.status);

console.log(`sidecar websocket node: ${passed} passed, ${failures.length} failed`);
for (const f of failures) console.log("  FAILED", f);
process.exit(failures.length ? 1 : 0);
