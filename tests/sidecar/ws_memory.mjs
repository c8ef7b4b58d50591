// What an idle live-query subscriber costs `graft serve`: opens N sockets (one subscription
// each, as 10 users of one query) and prints the sidecar's RSS before and after.
//   node tests/sidecar/ws_memory.mjs <graft-serve-pid> <http-url> <jwt-key> [N=2000]
// Needs a table `ws_mem (id serial, owner int)` tracked with a `user` select permission on
// owner = X-Hasura-User-Id (see the usage in the report of this test).
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [pid, http, key, n = "2000"] = process.argv.slice(2);
const N = Number(n);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const b64url = (s) => Buffer.from(s).toString("base64url");
function token(id) {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ "https://hasura.io/jwt/claims": { "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": String(id) } }));
  return `${head}.${body}.${createHmac("sha256", key).update(`${head}.${body}`).digest("base64url")}`;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${http.replace(/^http/, "ws")}/v1/graphql`, "graphql-transport-ws");
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { headers: { authorization: `Bearer ${token(i % 10)}` } } })));
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === "connection_ack" && process.env.ACK_ONLY) resolve(ws);
      else if (m.type === "connection_ack") ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { ws_mem { id owner } }" } }));
      if (m.type === "next") resolve(ws);
      if (m.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
    });
  });
}

const before = rss();
const sockets = [];
for (let i = 0; i < N; i += 50) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => open(i + j)))));
}
// HOLD=ms keeps the sockets open longer (to profile the sidecar meanwhile, e.g. under heaptrack).
await sleep(Number(process.env.HOLD || 3000));
const after = rss();
console.log(JSON.stringify({ subscribers: N, rss_before_kb: before, rss_after_kb: after, per_subscriber_bytes: Math.round(((after - before) * 1024) / N) }));
sockets.forEach((s) => s.close());
await sleep(1000);
process.exit(0);
