// Talks to a running `graft serve` (instance A of run.sh) with real Node clients:
// graphql-js checks the introspection of two roles (buildClientSchema, validateSchema,
// validate), graphql-http runs the spec's MUST audits, graphql-request runs a query, a batch,
// mutations and error cases.
import { createHmac } from "node:crypto";
import { buildClientSchema, getIntrospectionQuery, parse, validate, validateSchema } from "graphql";
import { serverAudits } from "graphql-http";
import { ClientError, GraphQLClient, gql } from "graphql-request";

const URL = `${process.env.GRAFT_URL}/v1/graphql`;
const ADMIN = { "x-hasura-admin-secret": process.env.GRAFT_ADMIN_SECRET };
const failures = [];
let passed = 0;

function check(name, cond, detail = "") {
  if (cond) passed += 1;
  else failures.push(`${name}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
}

const b64url = (s) => Buffer.from(s).toString("base64url");
function hs256(payload, key) {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(payload));
  const sig = createHmac("sha256", key).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
const userToken = hs256(
  { "https://hasura.io/jwt/claims": { "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "2" } },
  process.env.GRAFT_JWT_KEY,
);
const USER = { authorization: `Bearer ${userToken}` };

async function introspect(headers) {
  const r = await fetch(URL, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }) }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return buildClientSchema(body.data);
}

// Introspection: a valid schema per role, the user's narrower than the admin's.
const adminSchema = await introspect(ADMIN);
check("admin schema valid", validateSchema(adminSchema).length === 0, validateSchema(adminSchema).map(String));
const rootFields = Object.keys(adminSchema.getQueryType().getFields());
check("admin root fields", ["authors", "authors_by_pk", "authors_aggregate", "articles"].every((f) => rootFields.includes(f)), rootFields);
check("admin mutations", Object.keys(adminSchema.getMutationType()?.getFields() ?? {}).includes("insert_authors_one"));
const userSchema = await introspect(USER);
check("user schema valid", validateSchema(userSchema).length === 0, validateSchema(userSchema).map(String));
const userArticle = Object.keys(userSchema.getType("articles")?.getFields() ?? {});
check("user sees only permitted columns", userArticle.includes("title") && !userArticle.includes("body"), userArticle);
check("user has no authors", !Object.keys(userSchema.getQueryType().getFields()).includes("authors"));
const doc = parse("query ($id: Int!) { authors_by_pk(id: $id) { name articles { title } } }");
check("document validates against admin schema", validate(adminSchema, doc).length === 0, validate(adminSchema, doc).map(String));
check("document invalid for user", validate(userSchema, doc).length > 0);

// The GraphQL-over-HTTP spec's MUST audits (graphql-http); the SHOULD ones expect 4xx for
// invalid requests, where Hasura (and so Graft) answers 200.
for (const audit of serverAudits({ url: URL })) {
  if (!audit.name.startsWith("MUST")) continue;
  const r = await audit.fn();
  check(`graphql-http: ${audit.name}`, r.status === "ok", r.reason);
}

// graphql-request: query with variables, batch, mutation, errors.
const admin = new GraphQLClient(URL, { headers: ADMIN });
const one = await admin.request(gql`query ($id: Int!) { authors_by_pk(id: $id) { id name } }`, { id: 2 });
check("query", one.authors_by_pk?.name === "Alan Turing", one);
const batch = await admin.batchRequests([
  { document: "{ authors_by_pk(id: 1) { id } }" },
  { document: "{ articles_aggregate { aggregate { count } } }" },
]);
check("batch", batch.length === 2 && batch[0].data.authors_by_pk.id === 1 && batch[1].data.articles_aggregate.aggregate.count > 0, batch);
const ins = await admin.request(
  gql`mutation ($name: String!) { insert_authors_one(object: {name: $name}) { id name } }`,
  { name: "Node Client" },
);
check("mutation insert", ins.insert_authors_one?.name === "Node Client", ins);
const del = await admin.request(gql`mutation ($id: Int!) { delete_authors_by_pk(id: $id) { id } }`, { id: ins.insert_authors_one.id });
check("mutation delete", del.delete_authors_by_pk?.id === ins.insert_authors_one.id, del);
const user = new GraphQLClient(URL, { headers: USER });
const mine = await user.request("{ articles(order_by: {id: asc}) { id } }");
check("jwt user query", JSON.stringify(mine) === JSON.stringify({ articles: [{ id: 4 }, { id: 5 }, { id: 6 }] }), mine);

async function expectError(client, query, code, name) {
  try {
    await client.request(query);
    check(name, false, "no error");
  } catch (e) {
    const ok = e instanceof ClientError && e.response.status === 200 && e.response.errors?.[0]?.extensions?.code === code;
    check(name, ok, e instanceof ClientError ? { status: e.response.status, errors: e.response.errors } : String(e));
  }
}
await expectError(admin, "{ authors { nope } }", "validation-failed", "validation error");
await expectError(user, "{ articles { body } }", "validation-failed", "permission-hidden column");
await expectError(new GraphQLClient(URL, { headers: { authorization: "Bearer not.a.jwt" } }), "{ articles { id } }", "invalid-jwt", "bad token");
// Insert inputs are nullable (as in Hasura): the database refuses the NULL.
await expectError(admin, "mutation { insert_authors_one(object: {name: null}) { id } }", "constraint-violation", "not-null violation");

console.log(`sidecar node: ${passed} passed, ${failures.length} failed`);
for (const f of failures) console.log("  FAILED", f);
process.exit(failures.length ? 1 : 0);
