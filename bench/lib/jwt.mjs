// Print an HS256 JWT for PostGraphile's permissioned query (b5): role bench_user, user_id 42.
//   node lib/jwt.mjs SECRET [USER_ID]
import { createHmac } from "node:crypto";

const [secret, userId = "42"] = process.argv.slice(2);
if (!secret) {
  console.error("usage: node lib/jwt.mjs SECRET [USER_ID]");
  process.exit(2);
}
const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const header = b64({ alg: "HS256", typ: "JWT" });
// PostGraphile 4 checks aud = "postgraphile" by default; no exp: the token lives for one run.
const payload = b64({ role: "bench_user", user_id: Number(userId), aud: "postgraphile" });
const sig = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
console.log(`${header}.${payload}.${sig}`);
