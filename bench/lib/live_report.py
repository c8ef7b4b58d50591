"""Render bench/live.sh's raw results as the "Live queries" section of a Markdown report.

    python3 lib/live_report.py RESULTS.jsonl OUT.md MODE COMMAND COMMIT MACHINE LOAD_START
        LOAD_END WALL PG_VERSION REFETCH_MS GRAFT_SO_MD5 STREAM_AVAILABLE PG_SOURCE STREAM_REFETCH_MS

In OUT.md the section sits between BEGIN and END markers: a file that has them gets the
section replaced (bench/run.sh's report keeps the block when it rewrites RESULTS.md); one
without gets it appended; a missing file is created with the section alone.
"""
import datetime
import json
import os
import sys

BEGIN = "<!-- bench/live.sh: begin -->"
END = "<!-- bench/live.sh: end -->"

(results, out_file, mode, command, commit, machine, load_start, load_end, wall, pg_version,
 refetch_ms, so_md5, stream_available, pg_source, stream_refetch_ms) = sys.argv[1:16]
refetch_ms = int(refetch_ms)
rows = [json.loads(l) for l in open(results) if l.strip()]
states = [r for r in rows if r["kind"] == "state"]
connects = {r["label"]: r for r in rows if r["kind"] == "connect"}
checks = {r["label"]: r for r in rows if r["kind"] == "correctness"}
modes = {r["label"]: r for r in rows if r["kind"] == "mode"}
stream = next((r for r in rows if r["kind"] == "stream"), None)
NAMES = {"change": "change-driven", "polling": "plain polling"}


def f(x, d=1):
    return "–" if x is None else f"{x:.{d}f}"


def mb(kb):
    return f"{kb / 1024:.1f}"


out = []
p = out.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
subs = max((c["subscribers"] for c in connects.values()), default=0)
p("## Live queries (issue 14)")
p("")
p("Written by `bench/live.sh`; do not edit by hand: re-run it. (`bench/run.sh` keeps this section when it")
p("rewrites the file.)")
p("")
p(f"- command: `{command.strip()}` ({now}, wall time {wall}), commit `{commit}`")
p(f"- machine: {machine}; load average (1/5/15 min) {load_start} at the start, {load_end} at the end. The machine is")
p("  shared with other builds: *machine busy* below is the whole machine's CPU during each window, everything included")
p(f"- PostgreSQL {pg_version}, a throwaway cluster (fsync, synchronous_commit and full_page_writes off), the graft")
p(f"  extension installed in {pg_source} at the start of the run (graft.so md5 `{so_md5}`), run from a private copy")
p(f"- `graft serve` (release build) with its defaults (10 database connections) and a refetch interval of {refetch_ms} ms")
p(f"- {subs} subscribers, each its own socket (`graphql-transport-ws`), role `user` with its own `x-hasura-user-id` in")
p("  `connection_init`'s headers (with the admin secret), one subscription each:")
p("  `subscription { todo(where: {done: {_eq: false}}, order_by: {id: asc}) { id title done updated_at } }`;")
p("  `todo` has 1,000 users x 5 rows, select permission `{\"user_id\": {\"_eq\": \"X-Hasura-User-Id\"}}`")
p("- writes: one `UPDATE todo SET title = 'w<seq>', updated_at = clock_timestamp() WHERE id = $1` per tick from one")
p("  connection, users in a shuffled cycle (each subscribed user once before any twice), a random row of theirs;")
p("  *latency* = from the writer's statement returning (autocommit: the COMMIT) to the first message on each of that")
p("  user's sockets that shows the write (or a later one to the same row), over every write of the window and every")
p("  subscriber of its user; *CPU* = utime + stime from `/proc/<pid>/stat` over the window, in % of one core, for the")
p("  postmaster and all its children (backends, workers) and for the sidecar; *RSS* = the sidecar's VmRSS")
p("- modes: *change-driven* = graft in `shared_preload_libraries`: the sidecar checks the tables' change counters")
p("  (`graphql.table_versions`) every `GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL` (default 100 ms) and re-runs a cohort")
p("  only when a table it reads changed (a sidecar without change-driven refetch polls here too)")
how = modes.get("polling", {}).get("how", "nopreload")
if how == "switch":
    p("  *plain polling* = the same cluster and sidecar build with `GRAFT_LIVE_QUERIES_CHANGE_CHECK_INTERVAL=0`: every")
    p("  cohort re-runs each refetch interval. Same data, same client, one after the other in one run")
else:
    p("  *plain polling* = the same cluster restarted without the preload, so the sidecar re-runs every cohort each")
    p("  refetch interval. Same data, same client, one after the other in one run")
p("- the load client (`bench/ws-load`, Rust, tokio + tokio-tungstenite, two threads) runs on the same machine; its own")
p("  CPU is the *client* column")
p("")

by = {(s["label"], s["rate"]): s for s in states}


def pair(s):
    return s["pg_cpu_pct"] + s["sidecar_cpu_pct"]


# ---- targets
p("### Targets")
p("")
p("| target | " + " | ".join(NAMES.get(m, m) for m in modes) + " |")
p("|---|" + "---|" * len(modes))


def verdict(ok):
    return "**met**" if ok else "**missed**"


def row(label, fn):
    cells = []
    for m in modes:
        v = fn(m)
        cells.append("not measured" if v is None else v)
    p(f"| {label} | " + " | ".join(cells) + " |")


def idle(m):
    s = by.get((m, 0))
    if not s:
        return None
    v = pair(s)
    return f"{v:.1f} % of one core (PG {s['pg_cpu_pct']:.1f} + sidecar {s['sidecar_cpu_pct']:.1f}): {verdict(v <= 5)}"


def busy(m):
    s = by.get((m, 100))
    if not s:
        return None
    v = pair(s) / 2
    return f"{v:.1f} % of the machine (PG {s['pg_cpu_pct']:.1f} + sidecar {s['sidecar_cpu_pct']:.1f} % of one core): {verdict(v <= 20)}"


def p50(m):
    ss = [s for s in states if s["label"] == m and s["rate"] > 0 and s["latency_p50_ms"] is not None]
    if not ss:
        return None
    worst = max(s["latency_p50_ms"] for s in ss)
    each = ", ".join("%d/s: %.0f" % (s["rate"], s["latency_p50_ms"]) for s in ss)
    return f"worst p50 {worst:.0f} ms ({each}): {verdict(worst <= refetch_ms)}"


def mem(m):
    c = connects.get(m)
    if not c:
        return None
    v = c["sidecar_bytes_per_subscriber"]
    return f"{v / 1024:.1f} KB per subscriber: {verdict(v <= 4096)}"


row("idle (no writes) ≤ 5 % of one core", idle)
row("100 writes/s ≤ 20 % of the machine (PG + sidecar)", busy)
row(f"p50 commit → client ≤ the refetch interval ({refetch_ms} ms)", p50)
row("sidecar memory ≤ 4 KB per subscriber", mem)
row("correctness (own rows only, every write seen)", lambda m: None if m not in checks else ("ok" if checks[m]["ok"] else "**FAILED**"))
p("")
p("For comparison, Hasura publishes 10,000 subscribers on 2 vCPU at 73 % CPU.")
p("")

# ---- per state
p("### Per state")
p("")
p("CPU in % of one core (the machine has two). *messages* = `next` messages received by all subscribers in the")
p("window; *delivered* = (write, subscriber of its user) pairs seen, of those expected.")
p("")
p("| mode | writes/s (done) | PG CPU | sidecar CPU | PG + sidecar, % of machine | client CPU | machine busy (all) | sidecar RSS MB | messages | delivered | p50 ms | p99 ms | max ms |")
p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for s in states:
    p(f"| {NAMES.get(s['label'], s['label'])} | {s['rate']} ({s['writes_per_s']:.1f}) | {s['pg_cpu_pct']:.1f} | {s['sidecar_cpu_pct']:.1f} | "
      f"{pair(s) / 2:.1f} | {s['client_cpu_pct']:.1f} | {s['machine_busy_pct']:.1f} % | {mb(s['sidecar_rss_kb'])} | {s['messages']} | "
      f"{s['delivered']}/{s['expected_deliveries']} | {f(s['latency_p50_ms'], 0)} | {f(s['latency_p99_ms'], 0)} | {f(s['latency_max_ms'], 0)} |")
p("")

# ---- memory and connect
p("### Sidecar memory and connecting")
p("")
p("| mode | subscribers | connected in | first result (mean) | RSS before | RSS with them | per subscriber |")
p("|---|---|---|---|---|---|---|")
for m, c in connects.items():
    ck = checks.get(m, {})
    p(f"| {NAMES.get(m, m)} | {c['subscribers'] - c['failed']} of {c['subscribers']} | {c['connect_s']:.1f} s | "
      f"{ck.get('first_result_mean_ms', 0):.0f} ms | {mb(c['sidecar_rss_before_kb'])} MB | {mb(c['sidecar_rss_after_kb'])} MB | "
      f"{c['sidecar_bytes_per_subscriber'] / 1024:.1f} KB |")
p("")
for m, ck in checks.items():
    if not ck["ok"]:
        p(f"**{NAMES.get(m, m)}: correctness FAILED**: `{json.dumps(ck)}`")
        p("")

# ---- streaming
p("### Streaming")
p("")
if stream:
    s = stream
    p(f"{s['streams']} streams (admin), each `todo_stream(batch_size: {s['batch_size']}, cursor: {{initial_value: {{id: <max id>}}, ordering: ASC}}) {{ id title }}`")
    p(f"on the change-driven sidecar (`HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL={stream_refetch_ms}`: at most batch_size rows per stream per run),")
    p(f"while one connection inserts {s['insert_batch']} rows per statement ({s['inserts_per_s']:.0f} rows/s). Latency: from the")
    p("INSERT returning to the row's arrival on each stream (100 µs histogram buckets).")
    p("")
    p("| streams complete | rows inserted | rows delivered | missing | duplicates | out of order | messages | p50 ms | p99 ms | PG CPU | sidecar CPU | client CPU | sidecar RSS MB (before → end) |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    p(f"| {s['streams_complete']}/{s['streams']} | {s['inserted']} | {s['rows_delivered']} | {s['missing']} | {s['duplicates']} | {s['out_of_order']} | "
      f"{s['messages']} | {f(s['latency_p50_ms'])} | {f(s['latency_p99_ms'])} | {s['pg_cpu_pct']:.1f} | {s['sidecar_cpu_pct']:.1f} | {s['client_cpu_pct']:.1f} | "
      f"{mb(s['sidecar_rss_before_kb'])} → {mb(s['sidecar_rss_end_kb'])} |")
    p("")
    p(f"Every row delivered once to every stream: {'**met**' if s['ok'] else '**missed**'}.")
    if s.get("errors"):
        p("")
        p("Errors the streams received: " + "; ".join("`%s`" % e[:300] for e in s["errors"]))
elif stream_available == "0":
    p("Not available: the sidecar of this build has no streaming fields (`todo_stream`); `bench/live.sh` runs this part")
    p("when they exist.")
p("")

section = BEGIN + "\n" + "\n".join(out).rstrip() + "\n" + END + "\n"
if os.path.exists(out_file):
    text = open(out_file).read()
    if BEGIN in text and END in text:
        a, rest = text.split(BEGIN, 1)
        _, b = rest.split(END, 1)
        text = a + section + b.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
else:
    text = "# Graft live-query benchmark\n\n" + section
with open(out_file, "w") as fh:
    fh.write(text)
print("\n".join(out))
