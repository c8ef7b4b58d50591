// Does PostGraphile's answer carry the same data as the hand-written SQL's (Hasura-shaped) JSON?
//
//   node lib/compare.mjs QUERY IDEAL.json POSTGRAPHILE.json
//
// PostGraphile names and nests things its own way (allUsersList, articlesByAuthorIdList,
// userByUserId, camelCase columns, BigInt as strings): each query has a mapping from its
// PostGraphile answer onto the Hasura shape, then the two are compared value by value
// (numbers against numeric strings numerically, timestamps as instants). Exit 0 = same data,
// 1 = different (the first differences are printed), 2 = usage / unreadable input.
import { readFileSync } from "node:fs";

const [query, idealFile, pglFile] = process.argv.slice(2);
if (!query || !idealFile || !pglFile) {
  console.error("usage: node lib/compare.mjs QUERY IDEAL.json POSTGRAPHILE.json");
  process.exit(2);
}

const listOf = (v) => (Array.isArray(v) ? v : v == null ? v : []);
const article = (a) => a && { id: a.id, title: a.title, rating: a.rating, created_at: a.createdAt };
const deepUsers = (d) =>
  listOf(d.allUsersList)?.map((u) => ({
    name: u.name,
    articles: listOf(u.articlesByAuthorIdList)?.map((a) => ({
      title: a.title,
      comments: listOf(a.commentsByArticleIdList)?.map((c) => ({
        body: c.body,
        user: c.userByUserId && { name: c.userByUserId.name },
      })),
    })),
  }));

// PostGraphile `data` -> Hasura `data`.
const mappings = {
  b1_pk: (d) => ({ users_by_pk: d.userById && { id: d.userById.id, name: d.userById.name, email: d.userById.email } }),
  b2_list: (d) => ({ articles: listOf(d.allArticlesList)?.map(article) }),
  b3_nested: (d) => ({ users: deepUsers(d) }),
  b4_agg: (d) => ({
    articles_aggregate: {
      aggregate: {
        count: d.allArticles?.totalCount,
        avg: { rating: d.allArticles?.aggregates?.average?.rating ?? null },
        max: { created_at: d.latest?.[0]?.createdAt ?? null },
      },
    },
  }),
  b5_perm: (d) => ({ articles: listOf(d.allArticlesList)?.map((a) => ({ id: a.id, title: a.title, rating: a.rating })) }),
  b7_deep: (d) => ({ users: deepUsers(d) }),
};
if (!mappings[query]) {
  console.error(`compare.mjs: no mapping for query ${query}`);
  process.exit(2);
}

let ideal, pgl;
try {
  ideal = JSON.parse(readFileSync(idealFile, "utf8"));
  pgl = JSON.parse(readFileSync(pglFile, "utf8"));
} catch (e) {
  console.error(`compare.mjs: ${e.message}`);
  process.exit(2);
}
if (pgl.errors || !pgl.data) {
  console.log(`PostGraphile answered errors: ${JSON.stringify(pgl.errors ?? pgl).slice(0, 500)}`);
  process.exit(1);
}
const mapped = { data: mappings[query](pgl.data) };

const isoLike = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
function sameScalar(a, b) {
  if (a === b) return true;
  if (a == null || b == null) return false;
  const numA = typeof a === "number" || (typeof a === "string" && a.trim() !== "" && !Number.isNaN(Number(a)));
  const numB = typeof b === "number" || (typeof b === "string" && b.trim() !== "" && !Number.isNaN(Number(b)));
  if ((typeof a === "number" || typeof b === "number") && numA && numB) {
    const x = Number(a), y = Number(b);
    // avg() is numeric in PostgreSQL; PostGraphile's BigFloat may round it: 1e-12 relative.
    return x === y || Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y));
  }
  if (typeof a === "string" && typeof b === "string" && isoLike.test(a) && isoLike.test(b)) {
    return Date.parse(a) === Date.parse(b);
  }
  return false;
}

const diffs = [];
function walk(a, b, path) {
  if (diffs.length >= 10) return;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return diffs.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    if (a.length !== b.length) diffs.push(`${path}: ${a.length} items vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`);
    return;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], `${path}.${k}`);
    return;
  }
  if (!sameScalar(a, b)) diffs.push(`${path}: ${JSON.stringify(a)} (hand-written SQL) vs ${JSON.stringify(b)} (PostGraphile)`);
}
walk(ideal, mapped, "$");
if (diffs.length) {
  console.log(diffs.join("\n"));
  process.exit(1);
}
