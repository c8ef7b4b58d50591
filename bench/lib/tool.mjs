// Small JSON / HTTP helpers for run.sh, so the harness needs node (which CI installs) and
// nothing else: no jq, no curl.
//
//   node lib/tool.mjs obj name=string name:=json ...      print one compact JSON object
//   node lib/tool.mjs get FILE KEY.PATH                    print a value ("" when absent; strings raw)
//   node lib/tool.mjs gql-body FILE.graphql                {"query": <file without # comment lines>}
//   node lib/tool.mjs post URL BODY [HEADER: value ...]    POST, print the response body
//   node lib/tool.mjs wait URL BODY T0_MS PID TIMEOUT_MS    POST every 10 ms until the answer has "data";
//                                                         print ms since T0_MS (epoch ms), exit 1 if
//                                                         PID died or TIMEOUT_MS passed
//   node lib/tool.mjs arr STRING ...                       print a JSON array of the strings
//   node lib/tool.mjs pretty FILE                          pretty-print JSON with sorted keys (for diffs)
//   node lib/tool.mjs oha FILE.json RSS_SAMPLES           "req/s p50_ms p99_ms success_rate max_rss_kb"
import { readFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);

function parseArgs(list) {
  const o = {};
  for (const a of list) {
    const raw = a.indexOf(":=");
    const eq = a.indexOf("=");
    if (raw > 0 && raw < eq) o[a.slice(0, raw)] = JSON.parse(a.slice(raw + 2));
    else if (eq > 0) o[a.slice(0, eq)] = a.slice(eq + 1);
    else throw new Error(`obj: expected name=value or name:=json, got ${a}`);
  }
  return o;
}

async function post(url, body, headers, timeoutMs = 30000) {
  const h = { "content-type": "application/json" };
  for (const x of headers) {
    const i = x.indexOf(":");
    h[x.slice(0, i).trim()] = x.slice(i + 1).trim();
  }
  const res = await fetch(url, { method: "POST", body, headers: h, signal: AbortSignal.timeout(timeoutMs) });
  return res.text();
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

switch (cmd) {
  case "obj":
    console.log(JSON.stringify(parseArgs(args)));
    break;
  case "arr":
    console.log(JSON.stringify(args));
    break;
  case "pretty": {
    const sort = (v) =>
      Array.isArray(v) ? v.map(sort) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
    const text = readFileSync(args[0], "utf8");
    try {
      console.log(JSON.stringify(sort(JSON.parse(text)), null, 1));
    } catch {
      console.log(text);
    }
    break;
  }
  case "get": {
    const [file, path] = args;
    let v = JSON.parse(readFileSync(file === "-" ? 0 : file, "utf8"));
    for (const k of path.split(".").filter(Boolean)) v = v == null ? undefined : v[k];
    if (v !== undefined && v !== null) console.log(typeof v === "string" ? v : JSON.stringify(v));
    break;
  }
  case "gql-body": {
    const q = readFileSync(args[0], "utf8")
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .join("\n")
      .trim();
    console.log(JSON.stringify({ query: q }));
    break;
  }
  case "post": {
    const [url, body, ...headers] = args;
    try {
      process.stdout.write(await post(url, body, headers));
    } catch (e) {
      console.error(`POST ${url}: ${e.message}`);
      process.exit(1);
    }
    break;
  }
  case "wait": {
    const [url, body, t0, pid, timeout] = args;
    const start = Number(t0);
    for (;;) {
      try {
        const text = await post(url, body, [], 2000);
        if (JSON.parse(text).data) {
          console.log(Date.now() - start);
          process.exit(0);
        }
      } catch {
        // not up yet
      }
      if (!alive(Number(pid))) {
        console.error(`process ${pid} exited before answering`);
        process.exit(1);
      }
      if (Date.now() - start > Number(timeout)) {
        console.error(`no answer from ${url} within ${timeout} ms`);
        process.exit(1);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  case "oha": {
    const [file, rssFile] = args;
    const r = JSON.parse(readFileSync(file, "utf8"));
    const rss = readFileSync(rssFile, "utf8")
      .split("\n")
      .map(Number)
      .filter((x) => x > 0);
    const s = r.summary;
    if (!s || !r.latencyPercentiles) throw new Error(`${file}: not oha JSON output`);
    console.log(
      [s.requestsPerSec, r.latencyPercentiles.p50 * 1000, r.latencyPercentiles.p99 * 1000, s.successRate, rss.length ? Math.max(...rss) : 0].join(" "),
    );
    break;
  }
  default:
    console.error("usage: node lib/tool.mjs obj|arr|pretty|get|gql-body|post|wait|oha ...");
    process.exit(2);
}
