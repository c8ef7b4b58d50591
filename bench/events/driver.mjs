// Event delivery benchmark driver: a local webhook sink (Node's http server, fast enough not to
// be the bottleneck) and a pg client that commits changes and times their delivery.
//
//   node driver.mjs <pg connection string> <sink port> <events> <latency samples>
//
// Prints one JSON line: throughput (a burst of N events committed at once: events/s from
// commit to the last delivery) and latency (commit → webhook request, one event at a time on
// an idle system: p50/p95/max in ms).
import http from "node:http";
import pg from "pg";

const [conn, portArg, nArg, samplesArg] = process.argv.slice(2);
const port = Number(portArg), n = Number(nArg), samples = Number(samplesArg);
const received = new Map(); // name -> time (ms)
let count = 0;

const sink = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const t = performance.now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const name = body?.event?.data?.new?.name;
      if (name !== undefined && !received.has(name)) {
        received.set(name, t);
        count++;
      }
    } catch {}
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{}");
  });
});
sink.keepAliveTimeout = 60000;
await new Promise((r) => sink.listen(port, "127.0.0.1", r));

const db = new pg.Client({ connectionString: conn });
await db.connect();
const meta = async (req) => (await db.query("SELECT graphql.metadata($1::json) AS r", [JSON.stringify(req)])).rows[0].r;

await db.query("DROP TABLE IF EXISTS bench_events; CREATE TABLE bench_events (id bigserial PRIMARY KEY, name text, payload text)");
await meta({ type: "pg_track_table", args: { table: "bench_events" } });
const created = await meta({
  type: "pg_create_event_trigger",
  args: { name: "bench_events", table: "bench_events", webhook: `http://127.0.0.1:${port}/`, insert: { columns: "*" } },
});
if (created.message !== "success") throw new Error(JSON.stringify(created));

const waitFor = async (pred, timeoutMs) => {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
  return true;
};

// Warm-up: the worker's connection pool and plans.
await db.query("INSERT INTO bench_events (name) VALUES ('warm')");
await waitFor(() => received.has("warm"), 10000);

// Throughput: one burst.
await db.query(`INSERT INTO bench_events (name, payload) SELECT 'b' || g, repeat('x', 100) FROM generate_series(1, ${n}) g`);
const committed = performance.now();
const before = count;
const ok = await waitFor(() => count - before >= n, 300000);
let last = committed;
for (let i = 1; i <= n; i++) last = Math.max(last, received.get("b" + i) ?? last);
const seconds = (last - committed) / 1000;

// Latency: one event at a time.
const lat = [];
for (let i = 0; i < samples; i++) {
  const name = "l" + i;
  await db.query("INSERT INTO bench_events (name) VALUES ($1)", [name]);
  const t = performance.now();
  if (await waitFor(() => received.has(name), 10000)) lat.push(received.get(name) - t);
  await new Promise((r) => setTimeout(r, 20));
}
lat.sort((a, b) => a - b);
const pct = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : null;
const undelivered = (await db.query("SELECT count(*)::int AS c FROM graphql.event_log WHERE NOT delivered")).rows[0].c;
console.log(JSON.stringify({
  events: n, delivered: ok, seconds, events_per_s: n / seconds,
  latency_ms: { samples: lat.length, p50: pct(50), p95: pct(95), max: lat[lat.length - 1] ?? null },
  undelivered,
}));
await db.end();
sink.close();
process.exit(0);
