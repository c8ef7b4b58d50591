// Render bench/RESULTS.md from a run's raw results.
//
//   node lib/report.mjs META.json RESULTS.jsonl OUT.md
//
// META.json: the run (machine, command, settings) written by run.sh; RESULTS.jsonl: one JSON
// object per measurement (part 1 pgbench runs, part 2 oha runs, part 3 cold starts, part 4
// RSS samples, profile statements). Medians and min–max are over rounds; a ratio is computed
// per round (the two implementations ran back to back) and then summarised.
import { readFileSync, writeFileSync } from "node:fs";

const [metaFile, resultsFile, outFile] = process.argv.slice(2);
if (!metaFile || !resultsFile || !outFile) {
  console.error("usage: node lib/report.mjs META.json RESULTS.jsonl OUT.md");
  process.exit(2);
}
const meta = JSON.parse(readFileSync(metaFile, "utf8"));
const rows = readFileSync(resultsFile, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

const QUERIES = [
  ["b1_pk", "by-pk lookup"],
  ["b2_list", "filtered list, order, limit"],
  ["b3_nested", "3-level nested, limits"],
  ["b4_agg", "aggregate"],
  ["b5_perm", "permissioned (role user, session variable)"],
  ["b6_insert", "insert mutation"],
  ["b7_deep", "deep nested, no limits (N+1 bait)"],
  ["b8_pk_vars", "by-pk lookup, the id a variable (a random user per call)"],
];
// b8 is b1 as applications send it; it is not one of issue 7's queries, so it has b1's target.
const IN_DB_TARGET = (q) => (q === "b1_pk" || q === "b8_pk_vars" ? 1.5 : 1.2);
const HTTP_TARGET = (q) => (q === "b5_perm" ? 4 : 2);

const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const auto = (x) => (!Number.isFinite(x) ? "–" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
// "median (min–max)" over a list, or just the value for one round.
const summ = (xs, f = auto) => {
  if (!xs.length) return "–";
  if (xs.length === 1) return f(xs[0]);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
};
const mb = (kb) => kb / 1024;
const verdict = (ok) => (ok === undefined ? "not measured" : ok ? "**met**" : "**missed**");

const out = [];
const p = (s = "") => out.push(s);
const targets = [];

p("# Graft benchmark results");
p();
p(`Written by \`bench/run.sh\` (${meta.mode} mode); do not edit by hand: re-run it. How to run, what each`);
p("part measures and how: [README.md](README.md).");
p();
p("## Run");
p();
p(`- command: \`${meta.command.trim()}\` (${meta.date}, wall time ${meta.wall}), commit \`${meta.commit}\``);
p(`- machine: ${meta.nproc} cores (${meta.cpu}), ${meta.ram} RAM, ${meta.os}, kernel ${meta.kernel}`);
p(`- load average (1/5/15 min): ${meta.load_start} at the start, ${meta.load_end} at the end` +
  " (the machine is shared: other builds may have run during the rounds; each result row records the load)");
p(`- PostgreSQL ${meta.pg}, throwaway cluster on 127.0.0.1: ${meta.pg_settings}.` +
  " fsync, full_page_writes and synchronous_commit are off (throwaway data; inserts measure Graft, not this VM's disk flushes)");
p(`- data: \`gen_synth.sql\` scale ${meta.scale}: ${meta.rows} (${meta.db_size}), loaded in ${meta.load_seconds}s`);
p(`- rounds: ${meta.rounds} × ${meta.duration}s per query and implementation, interleaved` +
  ` (the order alternates every round); part 1 pgbench \`-M prepared\` with ${meta.clients} clients,` +
  ` part 2 oha with ${meta.concurrency} connections`);
p(`- extension: the release build installed by the run, graft.so md5 \`${meta.graft_so}\`; the cluster ran from a private copy` +
  " of the PostgreSQL installation, so another `cargo pgrx install` on this shared machine could not swap it mid-run");
p();
p("Every result below was preceded by a correctness check: each answer equals the hand-written SQL's JSON");
p("(`jsonb` equality in SQL; PostGraphile's differently shaped answers are mapped and compared value by value).");
if (meta.failures.length) {
  p();
  p(`**${meta.failures.length} correctness failure(s)** (those queries were not timed):`);
  p();
  for (const f of meta.failures) p(`- ${f}`);
} else {
  p("All answers matched.");
}

// ---- part 1 --------------------------------------------------------------------------
const part1 = rows.filter((r) => r.part === 1);
const part1Sections = [];
if (part1.length) {
  const s = [];
  s.push("## Part 1: in-database — `graphql.resolve(...)` vs the hand-written SQL");
  s.push("");
  s.push(`pgbench \`-M prepared -c ${meta.clients} -j ${meta.clients} -T ${meta.duration}\`, one script per query and`);
  s.push("implementation (`bench/out/pgbench/*.sql`): Graft's is `SELECT graphql.resolve('<the GraphQL of kit/gql>', NULL, <session>)`,");
  s.push("the other is `kit/sql/<query>.sql`. Each pgbench run opens new connections, so Graft's per-backend caches start");
  s.push("cold once per run and are warm for the rest of it. Ratio = Graft's latency / the hand-written SQL's latency in");
  s.push("the same round (≥ 1: Graft is slower); target ≤ 1.2× (by-pk ≤ 1.5×). Median (min–max) over rounds.");
  s.push("");
  s.push("| query | what | Graft tx/s | hand-written tx/s | Graft latency ms | hand-written latency ms | ratio Graft / hand-written | target | |");
  s.push("|---|---|---|---|---|---|---|---|---|");
  for (const [q, what] of QUERIES) {
    const g = part1.filter((r) => r.query === q && r.impl === "graft");
    const h = part1.filter((r) => r.query === q && r.impl === "ideal");
    if (!g.length && !h.length) {
      s.push(`| ${q} | ${what} | not timed | | | | | ≤ ${IN_DB_TARGET(q)}× | failed |`);
      targets.push([`in-database ${q} ≤ ${IN_DB_TARGET(q)}×`, "not timed (failed)", false]);
      continue;
    }
    const ratios = [];
    for (const gr of g) {
      const hr = h.find((x) => x.round === gr.round);
      if (hr) ratios.push(gr.lat_ms / hr.lat_ms);
    }
    const rm = median(ratios);
    const ok = ratios.length ? rm <= IN_DB_TARGET(q) : undefined;
    s.push(
      `| ${q} | ${what} | ${summ(g.map((r) => r.tps))} | ${summ(h.map((r) => r.tps))} | ${summ(g.map((r) => r.lat_ms))} | ` +
        `${summ(h.map((r) => r.lat_ms))} | ${summ(ratios, (x) => fmt(x, 2) + "×")} | ≤ ${IN_DB_TARGET(q)}× | ${verdict(ok)} |`,
    );
    targets.push([`in-database ${q} (${what}) ≤ ${IN_DB_TARGET(q)}×`, ratios.length ? `${fmt(rm, 2)}×` : "–", ok]);
  }
  s.push("");
  s.push("b6 inserts a comment per transaction; the rows are deleted (and `comments` vacuumed) after every b6 run, so");
  s.push("every round reads the same data. For b6 compare throughput only: both sides do the same single-row insert.");
  s.push("b8 is b1 with the id passed as a GraphQL variable, a random user per call (pgbench `\\set`): one compiled");
  s.push("request serves every id. It is measured in the database only: oha sends the same body every time.");
  part1Sections.push(...s);
}

// ---- profile ---------------------------------------------------------------------------
const prof = rows.filter((r) => r.part === "profile");
const profSection = [];
if (prof.length) {
  const s = profSection;
  s.push("### Where the time goes (profile pass)");
  s.push("");
  s.push("One client, `pg_stat_statements.track = all` (so the SQL Graft runs through SPI is counted as a nested");
  s.push("statement), mean per call. *resolve* = the whole `SELECT graphql.resolve(...)`; *generated SQL* = the");
  s.push("statement(s) Graft compiled and ran; *outside SQL* = resolve − generated: parsing, validating and compiling the");
  s.push("GraphQL, the plan-cache lookup, SPI and the JSON text round trip. EXPLAIN ANALYZE of both sides (7th call in");
  s.push("one backend, via auto_explain) and the generated SQL are in `bench/out/explain/` and `bench/out/generated/`.");
  s.push("");
  s.push("| query | resolve ms | generated SQL ms | outside SQL ms | hand-written SQL ms | generated / hand-written SQL | generated SQL planned |");
  s.push("|---|---|---|---|---|---|---|");
  for (const [q] of QUERIES) {
    const st = prof.filter((r) => r.query === q).flatMap((r) => r.statements);
    if (!st.length) continue;
    const top = st.filter((x) => x.toplevel);
    const resolve = top.find((x) => /graphql\.resolve/.test(x.query));
    const ideal = top.find((x) => !/graphql\.resolve/.test(x.query));
    const nested = st.filter((x) => !x.toplevel && !/set_config\('hasura\.user'/.test(x.query));
    const gen = nested.reduce((a, x) => a + x.mean_exec_ms * (x.calls / (resolve?.calls || x.calls)), 0);
    const planned = nested.reduce((a, x) => a + x.plans, 0);
    const calls = nested.reduce((a, x) => a + x.calls, 0);
    s.push(
      `| ${q} | ${fmt(resolve?.mean_exec_ms, 3)} | ${fmt(gen, 3)} | ${fmt(resolve ? resolve.mean_exec_ms - gen : NaN, 3)} | ` +
        `${fmt(ideal?.mean_exec_ms, 3)} | ${ideal ? fmt(gen / ideal.mean_exec_ms, 2) + "×" : "–"} | ${planned} of ${calls} calls |`,
    );
  }
  s.push("");
}

// ---- part 2 ----------------------------------------------------------------------------
const part2 = rows.filter((r) => r.part === 2);
const skip2 = rows.find((r) => r.part === "2skip");
const part2Section = [];
{
  const s = part2Section;
  s.push("## Part 2: over HTTP — `graft serve` vs PostGraphile");
  s.push("");
  if (skip2) s.push(`**Skipped or partial:** ${skip2.reason}.`), s.push("");
  if (part2.length) {
    s.push(`oha \`-z ${meta.duration}s -c ${meta.concurrency}\`, POST of each query (Hasura's GraphQL to \`/v1/graphql\`,`);
    s.push("the equivalent PostGraphile GraphQL of `bench/postgraphile/` to `/graphql`), both servers on the same database.");
    s.push(`PostGraphile ${meta.postgraphile ?? "(bench/package.json)"} with ${meta.pgl_workers} worker process(es),`);
    s.push("`--simple-collections both`, `@graphile/pg-aggregates`, query log off; its b5 runs with a JWT role and a");
    s.push("row-level security policy (PostGraphile's way of doing per-user rows). Ratio = Graft req/s / PostGraphile req/s");
    s.push("in the same round; target ≥ 2× (≥ 4× on b5).");
    s.push("");
    s.push("| query | Graft req/s | PostGraphile req/s | ratio | Graft p50 / p99 ms | PostGraphile p50 / p99 ms | target | |");
    s.push("|---|---|---|---|---|---|---|---|");
    for (const [q] of QUERIES) {
      const g = part2.filter((r) => r.query === q && r.impl === "graft");
      const o = part2.filter((r) => r.query === q && r.impl === "postgraphile");
      if (!g.length && !o.length) continue;
      const ratios = [];
      for (const gr of g) {
        const or = o.find((x) => x.round === gr.round);
        if (or) ratios.push(gr.rps / or.rps);
      }
      const ok = ratios.length ? median(ratios) >= HTTP_TARGET(q) : undefined;
      const lat = (xs) => (xs.length ? `${auto(median(xs.map((r) => r.p50_ms)))} / ${auto(median(xs.map((r) => r.p99_ms)))}` : "–");
      s.push(
        `| ${q} | ${summ(g.map((r) => r.rps))} | ${summ(o.map((r) => r.rps))} | ${summ(ratios, (x) => fmt(x, 2) + "×")} | ` +
          `${lat(g)} | ${lat(o)} | ≥ ${HTTP_TARGET(q)}× | ${verdict(ok)} |`,
      );
      if (g.length) targets.push([`HTTP ${q} ≥ ${HTTP_TARGET(q)}× PostGraphile req/s`, ratios.length ? `${fmt(median(ratios), 2)}×` : "–", ok]);
    }
    s.push("");
    const bad = part2.filter((r) => r.success < 1);
    if (bad.length) {
      s.push("Non-2xx or failed requests: " + bad.map((r) => `${r.query} ${r.impl} round ${r.round}: ${fmt(100 * r.success, 2)}% ok`).join("; "));
      s.push("");
    }
  } else if (!skip2) {
    s.push("Not run (`--parts`).");
    s.push("");
  }
  if (!part2.some((r) => r.impl === "graft")) {
    for (const [q] of QUERIES.filter(([q]) => q !== "b8_pk_vars")) targets.push([`HTTP ${q} ≥ ${HTTP_TARGET(q)}× PostGraphile req/s`, "no sidecar yet", undefined]);
  }
}

// ---- part 3 ----------------------------------------------------------------------------
const part3 = rows.filter((r) => r.part === 3);
const setup3 = rows.filter((r) => r.part === "3setup");
const part3Section = [];
if (part3.length || setup3.length) {
  const s = part3Section;
  s.push("## Part 3: cold start with 100 and 1,000 tracked tables");
  s.push("");
  s.push("`gen_wide.sql` (N tables chained by foreign keys, 10 rows each), `CREATE EXTENSION graft`, `track_all('public')`.");
  s.push("*Backend*: a new connection's first `graphql.resolve` of `{ t50(order_by: {id: asc}, limit: 2) { id name parent { id name } t51s { id } } }`");
  s.push("(loading graft.so, the metadata and the catalog, building the schema, compiling, planning), timed with");
  s.push("`clock_timestamp()` around the statement, then the second call in the same backend; RSS from");
  s.push("`/proc/self/status` of that backend before the first call and after the second (VmRSS includes the shared");
  s.push("buffers the backend touched; RssAnon is its private memory). *Sidecar*: from starting `graft serve` to the");
  s.push("first answered query (polled every 10 ms), and its RSS then.");
  s.push("");
  s.push("| tables | track_all ms | backend: first resolve ms | second resolve ms | backend VmRSS MB before → after | backend RssAnon MB before → after | sidecar: start → first answer ms | sidecar RSS MB |");
  s.push("|---|---|---|---|---|---|---|---|");
  for (const n of [100, 1000]) {
    const b = part3.filter((r) => r.tables === n && r.kind === "backend");
    const sc = part3.filter((r) => r.tables === n && r.kind === "sidecar");
    const st = setup3.find((r) => r.tables === n);
    if (!b.length && !sc.length) continue;
    s.push(
      `| ${n} | ${st ? st.track_all_ms : "–"} | ${summ(b.map((r) => r.first_ms))} | ${summ(b.map((r) => r.second_ms))} | ` +
        `${auto(median(b.map((r) => mb(r.rss_before_kb))))} → ${summ(b.map((r) => mb(r.rss_after_kb)))} | ` +
        `${auto(median(b.map((r) => mb(r.anon_before_kb))))} → ${summ(b.map((r) => mb(r.anon_after_kb)))} | ` +
        `${sc.length ? summ(sc.map((r) => r.first_ms)) : "no sidecar"} | ${sc.length ? summ(sc.map((r) => mb(r.rss_kb))) : "–"} |`,
    );
    if (n === 1000) {
      const fm = median(b.map((r) => r.first_ms));
      targets.push(["cold start, 1,000 tables: backend's first answer < 1 s", `${auto(fm)} ms`, b.length ? fm < 1000 : undefined]);
      const sm = median(sc.map((r) => r.first_ms));
      targets.push(["cold start, 1,000 tables: `graft serve` start → first answer < 1 s", sc.length ? `${auto(sm)} ms` : "no sidecar yet", sc.length ? sm < 1000 : undefined]);
    }
  }
  s.push("");
}

// ---- part 4 ----------------------------------------------------------------------------
const part4 = rows.filter((r) => r.part === 4);
const part4Section = [];
{
  const s = part4Section;
  s.push("## Part 4: sidecar memory");
  s.push("");
  const graftLoad = part2.filter((r) => r.impl === "graft");
  const pglLoad = part2.filter((r) => r.impl === "postgraphile");
  if (!part4.length && !graftLoad.length) {
    s.push(skip2 ? `Skipped: ${skip2.reason}.` : "Not run.");
    s.push("");
  } else {
    s.push("RSS (VmRSS of the server process and its children), idle and the maximum sampled every 200 ms during the");
    s.push("part 2 load runs.");
    s.push("");
    s.push("| state | graft serve MB | PostGraphile MB |");
    s.push("|---|---|---|");
    const states = [...new Set(part4.map((r) => r.state))];
    for (const st of states) {
      const g = part4.find((r) => r.state === st && r.impl === "graft");
      const o = part4.find((r) => r.state === st && r.impl === "postgraphile");
      s.push(`| ${st} | ${g ? auto(mb(g.rss_kb)) : "–"} | ${o ? auto(mb(o.rss_kb)) : "–"} |`);
    }
    const maxOf = (xs) => (xs.length ? Math.max(...xs.map((r) => r.rss_max_kb)) : NaN);
    s.push(`| under load (max over all part 2 runs) | ${auto(mb(maxOf(graftLoad)))} | ${auto(mb(maxOf(pglLoad)))} |`);
    s.push("");
  }
  const idle = part4.find((r) => r.impl === "graft" && r.state === "idle after start");
  targets.push(["`graft serve` idle RSS < 30 MB", idle ? `${auto(mb(idle.rss_kb))} MB` : "no sidecar yet", idle ? mb(idle.rss_kb) < 30 : undefined]);
}

// ---- assemble ----------------------------------------------------------------------------
p();
p("## Targets (issue 7)");
p();
p("| target | measured (median) | |");
p("|---|---|---|");
for (const [t, m, ok] of targets) p(`| ${t} | ${m} | ${verdict(ok)} |`);
p();
for (const s of [part1Sections, profSection, part2Section, part3Section, part4Section]) {
  if (s.length) {
    out.push(...s);
    if (out[out.length - 1] !== "") p();
  }
}
p("## Versions");
p();
p(`PostgreSQL ${meta.pg}; Node ${meta.node}; ${meta.oha || "oha not used"}; PostGraphile and plugins pinned in \`bench/package.json\`.`);
p();
// bench/live.sh owns the "Live queries" section of the same file: keep it across rewrites.
const LIVE = /<!-- bench\/live\.sh: begin -->[\s\S]*?<!-- bench\/live\.sh: end -->\n?/;
let live = "";
try {
  live = (readFileSync(outFile, "utf8").match(LIVE) || [""])[0];
} catch {}
if (live) {
  p();
  p(live.trimEnd());
  p();
}
writeFileSync(outFile, out.join("\n").replace(/\n{3,}/g, "\n\n"));
