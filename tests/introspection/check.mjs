// usage: node check.mjs RESPONSE.json [--print] [--queries DIR]
// Reads an introspection response ({"data": {...}}), builds a client schema with graphql-js,
// checks it is valid, and validates every .graphql document in DIR (default: ./queries)
// against it. Exits non-zero with a clear message on any problem.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientSchema, assertValidSchema, printSchema, parse, validate } from 'graphql';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? process.env.INTROSPECTION_RESPONSE;
if (!file) {
  console.error('usage: node check.mjs RESPONSE.json [--print] [--queries DIR]');
  process.exit(2);
}
const qi = args.indexOf('--queries');
const queriesDir = qi >= 0 ? args[qi + 1] : join(dirname(fileURLToPath(import.meta.url)), 'queries');

const response = JSON.parse(readFileSync(file, 'utf8'));
if (response.errors || !response.data) {
  console.error('introspection returned errors:', JSON.stringify(response.errors ?? response));
  process.exit(1);
}
const schema = buildClientSchema(response.data);
assertValidSchema(schema);
if (args.includes('--print')) console.log(printSchema(schema));

let failures = 0;
let checked = 0;
for (const name of readdirSync(queriesDir).filter((n) => n.endsWith('.graphql')).sort()) {
  const doc = parse(readFileSync(join(queriesDir, name), 'utf8'));
  const errors = validate(schema, doc);
  checked++;
  if (errors.length) {
    failures++;
    console.error(`${name}: ${errors.map((e) => e.message).join('; ')}`);
  }
}
const types = Object.keys(schema.getTypeMap()).length;
console.log(`introspection: valid schema with ${types} types; ${checked - failures}/${checked} documents validate`);
process.exit(failures ? 1 : 0);
