"""Graft's hostile-input generator (run by tests/hostile/run.sh; see its header).

Every case is sent over SQL (graphql.resolve / graphql.metadata through psycopg, parameters
bound, each call in a transaction that is rolled back) and over HTTP to the sidecar
(/v1/graphql as admin and as the role "user", /v1/metadata, /v1/query, /v2/query). A case passes
when every channel answers in Hasura's shape, within the time bound, every backend's peak memory
stays under the bound, the connection stays usable and the server and sidecar logs show no
crash, panic or backtrace. The fixed cases (the known problem areas) come first and run for
every seed; then GRAFT_HOSTILE_CASES random ones from the seed.

Failures are grouped into classes (channel + what went wrong + the normalised message); each
class is printed with its count and its smallest reproducer.
"""

import argparse
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse

import psycopg

sys.setrecursionlimit(10_000)
MIB = 1 << 20
BODY_MAX = 1_000_000  # under the sidecar's 1 MiB body limit, wrapper included

# ---------------------------------------------------------------------------------------------
# The inputs
# ---------------------------------------------------------------------------------------------

USER = '{"x-hasura-role": "user", "x-hasura-user-id": "1"}'

# Valid requests on the fixture: (query, variables JSON text or None, session or None).
BASE = [
    ("{ items(order_by: {id: asc}, limit: 5) { id title price qty ratio tags data at status owner { id name } } }", None, None),
    ("query Q($id: bigint!) { items_by_pk(id: $id) { id title data } }", '{"id": 3}', None),
    ("{ owners(order_by: {id: desc}) { id name meta created items(where: {qty: {_gt: 1}}, limit: 2) { id } items_aggregate { aggregate { count sum { price } max { at } } } } }", None, None),
    ("query ($w: items_bool_exp) { items(where: $w) { id } }", '{"w": {"_or": [{"id": {"_eq": 1}}, {"title": {"_ilike": "%3%"}}]}}', None),
    ("{ items(where: {status: {_eq: live}}) { id status } }", None, None),
    ("{ items(where: {data: {_contains: {a: 1}}}) { id data(path: \"b\") } }", None, None),
    ("query ($d: jsonb) { items(where: {data: {_contains: $d}}) { id } }", '{"d": {"a": 2}}', None),
    ("{ items(where: {at: {_gt: \"2024-06-01T13:00:00Z\"}, price: {_gte: 1.5}}, order_by: [{price: desc_nulls_last}, {id: asc}]) { id at price } }", None, None),
    ("{ items(distinct_on: owner_id, order_by: [{owner_id: asc}, {id: asc}]) { id owner_id } }", None, None),
    ("query { items(limit: 2) { ...F } } fragment F on items { id title owner { ...G } } fragment G on owners { name }", None, None),
    ("{ items(limit: 3) { id @include(if: true) title @skip(if: false) } }", None, None),
    ("query ($n: Int = 2, $s: String) { items(limit: $n, where: {title: {_neq: $s}}) { id } }", '{"s": "item 1"}', None),
    ("{ items(limit: 3) { id title } items_aggregate { aggregate { count } } }", None, USER),
    ("mutation { insert_items_one(object: {title: \"hostile\", qty: 1}) { id owner_id } }", None, USER),
    ("mutation ($t: String) { update_items(where: {id: {_eq: 1}}, _set: {title: $t}) { affected_rows } }", '{"t": "renamed"}', USER),
    ("mutation { insert_items(objects: [{title: \"a\", owner_id: 1, price: 2.5, data: {x: [1, 2]}}]) { affected_rows returning { id } } }", None, None),
    ("{ __type(name: \"items\") { name fields { name type { name kind ofType { name } } } } }", None, None),
    ("{ __schema { queryType { name } types { name kind } } }", None, None),
    ("query { item_status { value comment } }", None, None),
    ("subscription { items(limit: 1) { id } }", None, None),
]

PUNCT = list("{}()[]:,!$@=|&.\"#\\") + ["...", "\"\"\"", "\n", "\t", " "]
ODD_TOKENS = [
    "1e400", "-1e400", "1e-400", "-0", "0.0e0", "99999999999999999999999999999", "-9223372036854775809",
    "2147483648", "NaN", "Infinity", "-Infinity", "0x10", "1_000", ".5", "5.", "00", "null", "true",
    "\"\\u0000\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\uD83D\\uDE00\"", "\"\\x\"", "\"\\\\\"", "\"\\\"\"",
    "\"\"\"block \" \\\"\"\" \"\"\"", "\"\u202e\u200b\ufeff\"", "\"\U0001F600\"", "\"\uffff\"", "\"e\u0301\"",
    "$v", "$", "@skip(if: true)", "@nope", "...F", "... on items", "__typename", "__schema", "_and", "_not",
    "_or", "where", "order_by", "limit", "offset", "items", "owners", "id", "owner", "ÿ", "日本", "é", "\u0085",
]
NUMBERS = ["1e400", "-1e400", "1e-400", "-0", "-0.0", "123456789012345678901234567890", "1.7976931348623157e309",
           "4.9e-325", "9223372036854775808", "-9223372036854775809", "0", "1E2", "1e+2", "0.1e1"]
JSON_STRINGS = ["\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\\u0000b\"", "\"\\uffff\"",
                "\"\\u202e\"", "\"NaN\"", "\"Infinity\"", "\"-0\"", "\"1e400\"", "\"\"", "\" \"", "\"%\"", "\"\\\\\"",
                "\"'; DROP TABLE items; --\"", "\"2024-13-45T25:61:61Z\"", "\"infinity\"", "\"-infinity\"",
                "\"294277-01-01T00:00:00Z\"", "\"4714-11-24 BC\""]


def tokenize(q):
    return re.findall(r'"""(?:[^"]|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\s+|.', q, re.S)


def mutate_query(rng, q):
    toks = tokenize(q)
    for _ in range(rng.choice([1, 1, 2, 3, 5, 8])):
        if not toks:
            toks = ["{"]
        i = rng.randrange(len(toks))
        op = rng.randrange(9)
        if op == 0:
            del toks[i]
        elif op == 1:
            toks.insert(i, toks[i])
        elif op == 2:
            j = rng.randrange(len(toks))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == 3:
            toks.insert(i, rng.choice(PUNCT))
        elif op == 4:
            toks.insert(i, " " + rng.choice(ODD_TOKENS) + " ")
        elif op == 5:
            toks[i] = rng.choice(ODD_TOKENS)
        elif op == 6:
            toks.insert(i, rng.choice(["{", "}", "(", ")", "[", "]"]) * rng.choice([1, 2, 50, 1000]))
        elif op == 7:
            toks.insert(i, " " + rng.choice(NUMBERS) + " ")
        else:
            toks = toks[: rng.randrange(len(toks) + 1)]
    return "".join(toks)


def nest(open_, close, inner, levels):
    return open_ * levels + inner + close * levels


def levels_for(rng, unit):
    """A nesting depth, around the interesting limits, fitting a 1 MB body."""
    cap = max(1, (BODY_MAX - 400) // unit)
    return min(cap, rng.choice([64, 100, 126, 127, 128, 129, 130, 200, 255, 256, 500, 1000, 1500, 5000, 20_000, cap]))


# Deep nests of every kind: name -> (levels) -> (query, variables, session).
def deep_kinds():
    rel = lambda n: "{ items(limit: 1) " + "{ owner { items(limit: 1) " * (n // 2) + "{ id }" + " } }" * (n // 2) + " }"
    return {
        "selection": (4, lambda n: ("{ items " + nest("{ owner ", " }", "{ id }", n) + " }", None, None)),
        "selection-rel": (36, lambda n: (rel(n), None, None)),
        "list-value": (2, lambda n: ("{ items(where: {id: {_in: " + nest("[", "]", "1", n) + "}}) { id } }", None, None)),
        "object-value": (6, lambda n: ("{ items(where: {data: {_contains: " + nest("{a: ", "}", "1", n) + "}}) { id } }", None, None)),
        "_and": (10, lambda n: ("{ items(where: " + nest("{_and: [", "]}", "{id: {_eq: 1}}", n) + ") { id } }", None, None)),
        "_or": (9, lambda n: ("{ items(where: " + nest("{_or: ", "}", "{id: {_eq: 1}}", n) + ") { id } }", None, None)),
        "_not": (9, lambda n: ("{ items(where: " + nest("{_not: ", "}", "{id: {_eq: 1}}", n) + ") { id } }", None, None)),
        "rel-filter": (10, lambda n: ("{ items(where: " + nest("{owner: {items: ", "}}", "{id: {_eq: 1}}", n // 2) + ") { id } }", None, None)),
        "var-_not": (9, lambda n: ("query ($w: items_bool_exp) { items(where: $w) { id } }", "{\"w\": " + nest("{\"_not\": ", "}", "{\"id\": {\"_eq\": 1}}", n) + "}", None)),
        "var-jsonb-list": (2, lambda n: ("query ($d: jsonb) { items(where: {data: {_contains: $d}}) { id } }", "{\"d\": " + nest("[", "]", "1", n) + "}", None)),
        "var-jsonb-object": (6, lambda n: ("query ($d: jsonb) { items(where: {data: {_contains: $d}}) { id } }", "{\"d\": " + nest("{\"a\":", "}", "1", n) + "}", None)),
        "var-unused": (2, lambda n: ("{ items(limit: 1) { id } }", "{\"x\": " + nest("[", "]", "", n) + "}", None)),
        "session": (2, lambda n: ("{ items(limit: 1) { id } }", None, "{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": " + nest("[", "]", "1", n) + "}")),
        "session-object": (6, lambda n: ("{ items(limit: 1) { id } }", None, "{\"x-hasura-role\": \"admin\", \"x\": " + nest("{\"a\":", "}", "1", n) + "}")),
        "list-arg-deep-order": (12, lambda n: ("{ items(order_by: " + nest("[{owner: ", "}]", "{id: asc}", n // 2) + ") { id } }", None, None)),
        "fragment-chain": (40, lambda n: ("{ items { ...F0 } } " + " ".join(f"fragment F{i} on items {{ owner {{ items {{ ...F{i + 1} }} }} }}" for i in range(min(n, 12000))) + f" fragment F{min(n, 12000)} on items {{ id }}", None, None)),
        "unclosed": (1, lambda n: ("{ items " + "{" * n, None, None)),
    }


def big_cases(rng):
    """Huge lists, long strings, many aliases and fields."""
    n = rng.choice([1000, 10_000, 50_000, 100_000])
    s = rng.choice([1000, 100_000, 900_000])
    kind = rng.randrange(9)
    if kind == 0:
        return f"in-list-{n}", ("{ items(where: {id: {_in: [" + ",".join(str(i) for i in range(n)) + "]}}) { id } }", None, None)
    if kind == 1:
        return f"var-list-{n}", ("query ($ids: [bigint!]) { items(where: {id: {_in: $ids}}) { id } }", json.dumps({"ids": list(range(n))}), None)
    if kind == 2:
        return f"long-string-{s}", ("{ items(where: {title: {_eq: \"" + "x" * s + "\"}}) { id } }", None, None)
    if kind == 3:
        return f"long-var-string-{s}", ("query ($t: String) { items(where: {title: {_like: $t}}) { id } }", json.dumps({"t": "%" * s}), None)
    if kind == 4:
        k = min(n, 8000)
        return f"aliases-{k}", ("{ " + " ".join(f"a{i}: items(limit: 1) {{ id }}" for i in range(k)) + " }", None, None)
    if kind == 5:
        k = min(n, 10_000)
        return f"fields-{k}", ("{ items(limit: 1) { " + "id " * k + "} }", None, None)
    if kind == 6:
        k = min(n, 5000)
        return f"order-by-{k}", ("{ items(order_by: [" + ",".join("{id: asc}" for _ in range(k)) + "]) { id } }", None, None)
    if kind == 7:
        k = min(n, 20_000)
        return f"same-alias-{k}", ("{ " + " ".join("a: items(limit: 1) { id }" for _ in range(k)) + " }", None, None)
    k = min(n, 10_000)
    return f"many-operations-{k}", (" ".join(f"query q{i} {{ items(limit: 1) {{ id }} }}" for i in range(k)), None, None)


BAD_VARIABLES = (
    ['{"id": ' + x + '}' for x in NUMBERS] + ['{"id": ' + x + '}' for x in JSON_STRINGS]
    + ["NaN", "Infinity", "[1, 2]", "\"str\"", "123", "true", "null", "{", "{\"id\": 1,}", "{\"id\": 1} x", "",
       "{\"id\": 1, \"id\": \"x\"}", "{\"id\": [1]}", "{\"id\": {\"a\": 1}}", "{\"\\u0000\": 1}", "{\"\\ud800\": 1}", "{'id': 1}",
       "{\"id\": 01}", "{\"id\": .5}", "{\"id\": +1}", "{\"id\": 0x1}", "\ufeff{\"id\": 1}"]
)
BAD_SESSIONS = (
    ["{}", "[]", "\"admin\"", "null", "1", "{\"x-hasura-role\": 5}", "{\"x-hasura-role\": null}", "{\"x-hasura-role\": []}",
     "{\"x-hasura-role\": \"\"}", "{\"x-hasura-role\": \"\\u0000\"}", "{\"x-hasura-role\": \"\\ud800\"}", "{\"x-hasura-role\": \"ADMIN\"}",
     "{\"X-HASURA-ROLE\": \"user\", \"X-Hasura-User-Id\": \"1\"}", "{\"x-hasura-role\": \"user\", \"x-hasura-role\": \"admin\"}",
     "{\"x-hasura-role\": \"" + "r" * 100_000 + "\"}", "{\"x-hasura-role\": \"user\"}", "{\"x-hasura-role\": \"viewer\"}",
     "{\"x-hasura-role\": \"nobody\"}", "{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": {\"a\": 1}}"]
    + ["{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": " + x + "}" for x in NUMBERS + JSON_STRINGS]
    + ["{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": \"" + x + "\"}" for x in ["99999999999999999999", "1 OR 1=1", "1.5", " 1", "0x1", "-0", "1e3"]]
)

META_TYPES = ["pg_track_table", "pg_untrack_table", "pg_create_object_relationship", "pg_create_array_relationship",
              "pg_create_select_permission", "pg_create_insert_permission", "pg_drop_select_permission",
              "pg_set_table_is_enum", "pg_set_table_customization", "pg_create_event_trigger", "create_cron_trigger",
              "export_metadata", "replace_metadata", "clear_metadata", "reload_metadata", "get_inconsistent_metadata",
              "bulk", "concurrent_bulk", "set_api_limits", "add_inherited_role", "create_query_collection",
              "add_remote_schema", "create_action", "pg_add_computed_field", "track_table", "nope", "", "\u0000", "\ud800"]
# Types a garbage request may still carry out: only ever sent over SQL (rolled back), never HTTP.
DESTRUCTIVE = {"pg_untrack_table", "pg_drop_select_permission", "replace_metadata", "clear_metadata", "pg_set_table_is_enum",
               "pg_set_table_customization", "bulk", "concurrent_bulk", "set_api_limits", "reload_metadata"}
GARBAGE = [None, 0, -0.0, 1e308, 10 ** 30, "", "items", "\u0000", "\ud800", [], {}, [[[]]], {"a": {"b": {}}}, True,
           {"schema": [], "name": {}}, {"schema": "public", "name": "items" * 1000}, {"name": "nope"}, "x" * 100_000,
           list(range(1000)), {"table": "items", "role": "\u0000"}, {"table": {"schema": "public", "name": "items"}, "role": "fz", "permission": {"columns": "*", "filter": {"_not": {"_not": {"id": {"_eq": "X-Hasura-User-Id"}}}}}}]


def garbage(rng, depth=0):
    if depth < 3 and rng.random() < 0.3:
        if rng.random() < 0.5:
            return [garbage(rng, depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(["table", "name", "schema", "role", "permission", "args", "type", "source", "using", "filter", "\u0000", ""]): garbage(rng, depth + 1) for _ in range(rng.randrange(5))}
    return rng.choice(GARBAGE)


def dumps(v):
    # Lone surrogates ("\ud800") survive as escapes; huge ints stay exact.
    return json.dumps(v, ensure_ascii=True, allow_nan=True)


def meta_case(rng):
    t = rng.choice(META_TYPES)
    args = garbage(rng)
    body = {"type": t, "args": args}
    if rng.random() < 0.2:
        body[rng.choice(["version", "resource_version", "source", "\u0000"])] = garbage(rng)
    text = dumps(body)
    if rng.random() < 0.15:
        text = mutate_json(rng, text)
    return t, text


def mutate_json(rng, text):
    toks = re.findall(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\s+|.', text, re.S)
    for _ in range(rng.choice([1, 2, 3])):
        i = rng.randrange(len(toks) or 1) if toks else 0
        op = rng.randrange(4)
        if op == 0 and toks:
            del toks[i]
        elif op == 1:
            toks.insert(i, rng.choice(["{", "}", "[", "]", ",", ":", "\"", "1e400", "-0", "NaN", "\"\\ud800\"", "\"\\u0000\""]))
        elif op == 2 and toks:
            toks[i] = rng.choice(NUMBERS + JSON_STRINGS)
        else:
            toks.insert(i, toks[i] if toks else "{")
    return "".join(toks)


class Case:
    __slots__ = ("name", "kind", "query", "variables", "session", "operation", "meta", "http_body", "http_path", "role_too", "repro")

    def __init__(self, name, kind, query=None, variables=None, session=None, operation=None, meta=None, http_body=None,
                 http_path="/v1/graphql", role_too=False, repro=None):
        self.name, self.kind, self.query, self.variables, self.session = name, kind, query, variables, session
        self.operation, self.meta, self.http_body, self.http_path, self.role_too = operation, meta, http_body, http_path, role_too
        self.repro = repro

    def size(self):
        return sum(len(x) for x in (self.query, self.variables, self.session, self.meta, self.http_body) if x)

    def describe(self):
        if self.repro:
            return self.repro
        parts = []
        if self.kind == "meta":
            parts.append(f"graphql.metadata({short(self.meta)!r})")
        elif self.kind == "http":
            parts.append(f"POST {self.http_path} {short(self.http_body)!r}")
        else:
            parts.append(f"graphql.resolve({short(self.query)!r}, {short(self.variables)!r}, {short(self.session)!r})")
        return " ".join(parts)


def short(s, n=160):
    if s is None:
        return None
    if isinstance(s, bytes):
        s = s.decode("utf-8", "backslashreplace")
    if len(s) <= n:
        return s
    return s[: n // 2] + f"…[{len(s)} chars]…" + s[-n // 4:]


def gql(name, query, variables=None, session=None, repro=None, role_too=True, operation=None):
    return Case(name, "gql", query=query, variables=variables, session=session, repro=repro, role_too=role_too, operation=operation)


def known_cases():
    """The known problem areas of issue 12, each a minimal reproducer; run for every seed."""
    c = []
    var_q = "query ($w: items_bool_exp) { items(where: $w) { id } }"
    jq = "query ($d: jsonb) { items(where: {data: {_contains: $d}}) { id } }"
    for n in (126, 127, 128, 129, 1000, 100_000):
        c.append(gql(f"known/var-_not-{n}", var_q, "{\"w\": " + nest("{\"_not\": ", "}", "{\"id\": {\"_eq\": 1}}", n) + "}",
                     repro=f"resolve('{var_q}', '{{\"w\": ' || repeat('{{\"_not\": ', {n}) || '{{\"id\": {{\"_eq\": 1}}}}' || repeat('}}', {n}) || '}}')"))
    for n in (127, 200, 499_000):
        c.append(gql(f"known/var-list-{n}", "{ items(limit: 1) { id } }", "{\"x\": " + nest("[", "]", "", n) + "}",
                     repro=f"resolve('{{ items(limit: 1) {{ id }} }}', '{{\"x\": ' || repeat('[', {n}) || repeat(']', {n}) || '}}')"))
    c.append(gql("known/session-deep-200", "{ items(limit: 1) { id } }", None, "{\"x-hasura-role\": \"admin\", \"x\": " + nest("[", "]", "", 200) + "}",
                 repro="resolve('{ items(limit: 1) { id } }', NULL, '{\"x-hasura-role\": \"admin\", \"x\": ' || repeat('[', 200) || repeat(']', 200) || '}')"))
    c.append(gql("known/1e400", "query ($id: bigint) { items(where: {id: {_eq: $id}}) { id } }", "{\"id\": 1e400}",
                 repro="resolve('query ($id: bigint) { items(where: {id: {_eq: $id}}) { id } }', '{\"id\": 1e400}')"))
    c.append(gql("known/n-1e400", "{ items(limit: 1) { id } }", "{\"n\": 1e400}", repro="resolve('{ items(limit: 1) { id } }', '{\"n\": 1e400}')"))
    c.append(gql("known/lone-surrogate", "query ($s: String) { items(where: {title: {_eq: $s}}) { id } }", "{\"s\": \"\\ud800\"}",
                 repro="resolve('query ($s: String) { items(where: {title: {_eq: $s}}) { id } }', '{\"s\": \"\\ud800\"}')"))
    c.append(gql("known/lone-surrogate-unused", "{ items(limit: 1) { id } }", "{\"s\": \"\\ud800\"}", repro="resolve('{ items(limit: 1) { id } }', '{\"s\": \"\\ud800\"}')"))
    c.append(gql("known/nul-in-jsonb", jq, "{\"d\": {\"a\": \"\\u0000\"}}", repro=f"resolve('{jq}', '{{\"d\": {{\"a\": \"\\u0000\"}}}}')"))
    c.append(gql("known/nul-in-string", "query ($s: String) { items(where: {title: {_eq: $s}}) { id } }", "{\"s\": \"a\\u0000\"}",
                 repro="resolve('query ($s: String) { items(where: {title: {_eq: $s}}) { id } }', '{\"s\": \"a\\u0000\"}')"))
    c.append(gql("known/nul-literal", "{ items(where: {title: {_eq: \"\\u0000\"}}) { id } }", repro="resolve('{ items(where: {title: {_eq: \"\\u0000\"}}) { id } }')"))
    for k in (1664, 1700):
        c.append(gql(f"known/order-by-{k}", "{ items(order_by: [" + ",".join("{id: asc}" for _ in range(k)) + "]) { id } }",
                     repro=f"resolve('{{ items(order_by: [' || repeat('{{id: asc}},', {k}) || ']) {{ id }} }}')"))
    c.append(gql("known/aliases-8000", "{ " + " ".join(f"a{i}: items(limit: 1) {{ id }}" for i in range(8000)) + " }",
                 repro="resolve('{ a0: items(limit: 1) { id } … a7999: items(limit: 1) { id } }')  -- 8,000 aliases", role_too=False))
    c.append(gql("known/fields-50000", "{ items(limit: 1) { " + "id " * 50_000 + "} }",
                 repro="resolve('{ items(limit: 1) { ' || repeat('id ', 50000) || '} }')", role_too=False))
    deep = nest("{ a ", " }", "", 100_000)
    for name, prefix, suffix in [
        ("backslash-string", "{ items(where: {title: {_eq: \"\\\\\"}}) ", " }"),
        ("comment-quote", "{ items # \"\n", "\n# \"\n }"),
        ("comment-braces", "{ items # }}}}}}}}\n", " }"),
        ("block-string", "{ items(where: {title: {_eq: \"\"\" \\\" \" \"\"\"}}) ", " }"),
        ("escaped-quote", "{ items(where: {title: {_eq: \"\\\"\"}}) ", " }"),
    ]:
        q = prefix + deep + suffix
        c.append(gql(f"known/depth-precheck-{name}", q, repro=f"resolve({short(prefix, 80)!r} || repeat('{{ a ', 100000) || repeat(' }}', 100000) || {suffix!r})"))
    c.append(gql("known/selection-100000", "{ items " + nest("{ owner ", " }", "{ id }", 100_000) + " }",
                 repro="resolve('{ items ' || repeat('{ owner ', 100000) || '{ id }' || repeat(' }', 100000) || ' }')"))
    c.append(gql("known/list-500000", "{ items(where: {id: {_in: " + nest("[", "]", "1", 499_000) + "}}) { id } }",
                 repro="resolve('{ items(where: {id: {_in: ' || repeat('[', 499000) || '1' || repeat(']', 499000) || '}}) { id } }')"))
    # Nested relationship filters: each level an EXISTS over the other table.
    for n in (8, 16, 24, 32, 63):
        q = "{ items(where: " + nest("{owner: {items: ", "}}", "{id: {_eq: 1}}", n) + ") { id } }"
        c.append(gql(f"known/rel-filter-{2 * n}", q, role_too=False,
                     repro=f"resolve('{{ items(where: ' || repeat('{{owner: {{items: ', {n}) || '{{id: {{_eq: 1}}}}' || repeat('}}}}', {n}) || ') {{ id }} }}')"))
    c.append(gql("known/user-id-overflow", "{ items { id } }", None, "{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": \"99999999999999999999\"}",
                 repro="resolve('{ items { id } }', NULL, '{\"x-hasura-role\": \"user\", \"x-hasura-user-id\": \"99999999999999999999\"}')"))
    # Deep metadata: a 126-level _not permission filter, and a bulk in a bulk in a bulk.
    perm = {"type": "pg_create_select_permission", "args": {"table": "items", "role": "fz_deep", "permission": {"columns": ["id"], "filter": None}}}
    for n in (126, 1000):
        text = dumps(perm).replace("null", nest("{\"_not\": ", "}", "{\"id\": {\"_eq\": 1}}", n))
        c.append(Case(f"known/meta-filter-_not-{n}", "meta", meta=text,
                      repro=f"metadata(pg_create_select_permission with a {n}-level _not filter)"))
    for n in (100, 10_000):
        text = nest("{\"type\": \"bulk\", \"args\": [", "]}", "{\"type\": \"export_metadata\", \"args\": {}}", n)
        c.append(Case(f"known/meta-bulk-{n}", "meta", meta=text, repro=f"metadata(bulk nested {n} levels around export_metadata)"))
    c.append(Case("known/meta-deep-args", "meta", meta="{\"type\": \"export_metadata\", \"args\": " + nest("[", "]", "", 499_000) + "}",
                  repro="metadata('{\"type\": \"export_metadata\", \"args\": ' || repeat('[', 499000) || repeat(']', 499000) || '}')"))
    # HTTP bodies the sidecar must answer itself.
    for name, body in [
        ("brackets-500000", "[" * 500_000 + "]" * 500_000),
        ("objects-unclosed", "{\"a\":" * 190_000),
        ("deep-query-field", "{\"query\": " + nest("[", "]", "", 400_000) + "}"),
        ("variables-_not-126", dumps({"query": var_q}).rstrip("}") + ", \"variables\": {\"w\": " + nest("{\"_not\": ", "}", "{\"id\": {\"_eq\": 1}}", 126) + "}}"),
        ("variables-_not-1000", dumps({"query": var_q}).rstrip("}") + ", \"variables\": {\"w\": " + nest("{\"_not\": ", "}", "{\"id\": {\"_eq\": 1}}", 1000) + "}}"),
        ("batch-deep", "[" + dumps({"query": "{ items(limit: 1) { id } }"}) + ", " + nest("[", "]", "", 300_000) + "]"),
        ("invalid-utf8", b"{\"query\": \"\xff\xfe\"}"),
        ("empty", ""),
        ("bom", "\ufeff{\"query\": \"{ items { id } }\"}"),
        ("nan", "{\"query\": \"{ items { id } }\", \"variables\": {\"a\": NaN}}"),
        ("number-1e400", "{\"query\": \"{ items(limit: 1) { id } }\", \"variables\": {\"n\": 1e400}}"),
        ("lone-surrogate-query", "{\"query\": \"{ items { id } }\\ud800\"}"),
        ("too-large", "{\"query\": \"" + "x" * (1 << 20) + "\"}"),
        ("batch-300", "[" + ",".join([dumps({"query": "{ items(limit: 1) { id } }"})] * 300) + "]"),
    ]:
        c.append(Case(f"known/http-{name}", "http", http_body=body, repro=f"POST /v1/graphql {short(body, 100)!r}"))
    for path in ("/v1/metadata", "/v1/query", "/v2/query"):
        c.append(Case(f"known/http{path.replace('/', '-')}-deep", "http", http_path=path,
                      http_body=nest("{\"type\": \"bulk\", \"args\": [", "]}", "{\"type\": \"export_metadata\", \"args\": {}}", 20_000),
                      repro=f"POST {path} bulk nested 20,000 levels"))
        c.append(Case(f"known/http{path.replace('/', '-')}-brackets", "http", http_path=path, http_body="[" * 500_000 + "]" * 500_000,
                      repro=f"POST {path} '[' * 500000 + ']' * 500000"))
    return c


def random_case(rng, i):
    r = rng.random()
    q, v, s = rng.choice(BASE)
    if r < 0.50:
        return gql(f"mutated/{i}", mutate_query(rng, q), v, s, role_too=rng.random() < 0.3)
    if r < 0.62:
        kinds = deep_kinds()
        name = rng.choice(sorted(kinds))
        unit, make = kinds[name]
        n = levels_for(rng, unit)
        q, v, s = make(n)
        return gql(f"deep/{name}-{n}", q, v, s, role_too=rng.random() < 0.3,
                   repro=f"deep {name} nest of {n} levels ({len(q) + len(v or '') + len(s or '')} bytes)")
    if r < 0.72:
        return gql(f"bad-variables/{i}", q, rng.choice(BAD_VARIABLES) if rng.random() < 0.8 else mutate_json(rng, v or "{\"id\": 1}"), s)
    if r < 0.80:
        return gql(f"bad-session/{i}", q, v, rng.choice(BAD_SESSIONS))
    if r < 0.88:
        t, text = meta_case(rng)
        if t not in DESTRUCTIVE and rng.random() < 0.25:
            path = rng.choice(["/v1/query", "/v2/query"])
            return Case(f"query{path.replace('/', '-')}/{t or 'empty'}/{i}", "http", http_path=path, http_body=text)
        return Case(f"metadata/{t or 'empty'}/{i}", "meta", meta=text)
    if r < 0.93:
        name, (q, v, s) = big_cases(rng)
        return gql(f"big/{name}", q, v, s, role_too=False, repro=f"{name} ({len(q) + len(v or '')} bytes)")
    # A raw HTTP body: a valid request made invalid as JSON.
    body = dumps({"query": q, "variables": json.loads(v) if v else None})
    return Case(f"http-body/{i}", "http", http_body=mutate_json(rng, body))


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------

# What must never be in the server or sidecar log: (label, pattern).
LOG_PROBLEMS = [
    ("crash", re.compile(r"terminated by signal|server process \(PID \d+\) was terminated|was terminated by|all server processes terminated|core dumped")),
    ("PANIC", re.compile(r"\bPANIC:")),
    ("Rust panic", re.compile(r"panicked at|has overflowed its stack|memory allocation of \d+ bytes failed")),
    ("Rust backtrace", re.compile(r"stack backtrace:|^\s*\d+: (?:std|core|pgrx|graft|<)\S*::")),
    ("out of memory", re.compile(r"out of memory", re.I)),
]


def normalise(msg):
    msg = re.sub(r"\d+", "N", msg or "")
    msg = re.sub(r'"([^"]{0,40})[^"]{0,200}"', r'"\1"', msg)
    msg = re.sub(r"'([^']{0,40})[^']{0,200}'", r"'\1'", msg)
    return msg[:110]


def json_depth(text):
    """The deepest nesting of arrays and objects in JSON text (strings skipped)."""
    if not text:
        return 0
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for ch in re.sub(r"[^\[\]{}]", "", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# PostgreSQL's own json parser (the json type's input, before graphql.resolve runs) stops at
# its stack depth limit somewhere past 10,000 levels: a documented refusal of the input, not
# graphql.resolve raising.
PG_JSON_DEPTH = 5000


def valid_graphql_answer(v):
    """Why v is not a GraphQL answer in Hasura's shape, or None."""
    if not isinstance(v, dict):
        return f"not an object: {type(v).__name__}"
    if "data" not in v and "errors" not in v:
        return "neither data nor errors"
    if "errors" in v:
        errs = v["errors"]
        if not isinstance(errs, list) or not errs:
            return "errors is not a non-empty list"
        for e in errs:
            if not isinstance(e, dict) or not isinstance(e.get("message"), str):
                return "an error without a message"
            code = (e.get("extensions") or {}).get("code")
            if not isinstance(code, str):
                return "an error without extensions.code"
            if "panicked" in e["message"]:
                return "a panic message in the answer"
    return None


def parse_json(text):
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "answer nested too deeply for Python"
    except ValueError as e:
        return None, f"not JSON: {e}"


class Backends:
    """Peak memory of every backend of the cluster (children of the postmaster)."""

    def __init__(self, postmaster):
        self.postmaster = postmaster

    def children(self):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                if int(st.rsplit(")", 1)[1].split()[1]) == self.postmaster:
                    pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
        return pids

    @staticmethod
    def hwm_kib(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def peaks(self):
        return {pid: self.hwm_kib(pid) for pid in self.children()}


class Runner:
    def __init__(self, a):
        self.a = a
        self.time_s = a.time_s
        self.mem_kib = a.mem_mib * 1024
        self.url = urllib.parse.urlparse(a.url)
        self.backends = Backends(a.postmaster_pid)
        self.conn = None
        self.failures = {}  # class -> [count, case, detail]
        self.passed = self.failed = 0
        self.expected = {}
        self.notes = {}  # answers in shape that still look like bugs: reported, not failed
        self.peak_kib = 0
        self.logs = {p: open(p, "rb") for p in (a.pg_log, a.sidecar_log)}
        for f in self.logs.values():
            f.seek(0, 2)
        self.out = open(a.out, "w") if a.out else None
        self.connect()

    # -- connections ------------------------------------------------------------------------
    def connect(self):
        for _ in range(120):
            try:
                self.conn = psycopg.connect(self.a.dsn, autocommit=False, application_name="graft-hostile")
                with self.conn.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    self.pid = cur.fetchone()[0]
                self.conn.rollback()
                return
            except psycopg.OperationalError:
                time.sleep(0.5)
        raise SystemExit("hostile: cannot connect to PostgreSQL")

    # -- one SQL call -----------------------------------------------------------------------
    def sql(self, statement, params, check):
        """Run statement; returns a failure (class, detail) or None."""
        timer = threading.Timer(self.time_s * 3 + 5, lambda: self.conn.cancel_safe())
        t0 = time.monotonic()
        timer.start()
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, params)
                text = cur.fetchone()[0]
            self.conn.rollback()
        except psycopg.Error as e:
            elapsed = time.monotonic() - t0
            diag = e.diag
            state = e.sqlstate or "no-sqlstate"
            msg = diag.message_primary or str(e)
            try:
                self.conn.rollback()
            except psycopg.Error:
                pass
            if self.conn.closed or self.conn.broken:
                return ("sql connection lost", f"{state}: {msg}")
            # The json type's own input check, before graphql.resolve runs: documented, expected.
            if state == "22P02" and msg.startswith("invalid input syntax for type json"):
                return ("expected", "json input")
            if state == "54001" and "portal parameter" in (diag.context or ""):
                return ("expected", "json input nested beyond PostgreSQL's stack depth limit")
            if state == "57014" and elapsed >= self.time_s - 0.5:
                return ("sql statement_timeout", f"{state}: {msg} after {elapsed:.1f}s")
            return (f"sql {state} {normalise(msg)}", f"{state}: {short(msg, 300)} (context: {short(diag.context or '', 120)})")
        finally:
            timer.cancel()
        elapsed = time.monotonic() - t0
        if elapsed > self.time_s:
            return ("sql slow", f"{elapsed:.1f}s")
        v, why = parse_json(text) if text is not None else (None, "NULL answer")
        if why:
            return (f"sql answer {why[:40]}", why)
        why = check(v)
        if why:
            return (f"sql answer {why}", short(text, 300))
        for e in (v.get("errors") or []) if isinstance(v, dict) else []:
            if isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "unexpected":
                return ("note", f"sql unexpected: {normalise(e.get('message'))}")
        return None

    def sql_alive(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT 1")
            self.conn.rollback()
            return True
        except psycopg.Error:
            return False

    # -- one HTTP call ----------------------------------------------------------------------
    def post(self, path, body, headers):
        """POST on a fresh connection (Connection: close). The answer is read even when the
        server stopped reading the body early (413), which a client library reports as a reset."""
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        h = {"host": f"{self.url.hostname}:{self.url.port}", "content-type": "application/json", "content-length": str(len(data)),
             "connection": "close", "x-hasura-admin-secret": self.a.admin_secret, **headers}
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        t0 = time.monotonic()
        try:
            s = socket.create_connection((self.url.hostname, self.url.port), timeout=self.time_s * 3 + 10)
        except OSError as e:
            return None, b"", 0, f"connect: {e}"
        with s:
            try:
                s.sendall(head.encode("latin-1") + data)
            except OSError:
                pass  # refused early: the answer may still be there
            chunks = []
            try:
                while True:
                    b = s.recv(1 << 16)
                    if not b:
                        break
                    chunks.append(b)
            except OSError as e:
                if not chunks:
                    return None, b"", 0, f"{type(e).__name__}: {e}"
        elapsed = time.monotonic() - t0
        raw = b"".join(chunks)
        head, _, body = raw.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if not m:
            return None, raw, elapsed, f"no HTTP status line: {raw[:80]!r}"
        if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
            out, rest = [], body
            while rest:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    break
                out.append(rest[:size])
                rest = rest[size + 2:]
            body = b"".join(out)
        return int(m.group(1)), body, elapsed, None

    def http_check(self, path, body, headers, kind, deep_json=False):
        status, raw, elapsed, err = self.post(path, body, headers)
        if err:
            return ("http no answer", err) if self.sidecar_alive() else ("http sidecar died", err)
        if elapsed > self.time_s + 2:
            return ("http slow", f"{elapsed:.1f}s")
        v, why = parse_json(raw.decode("utf-8", "replace"))
        if why:
            return (f"http {status} {why[:40]}", short(raw.decode("utf-8", "replace"), 200))
        if path == "/v1/graphql":
            if status not in (200, 400, 413):
                return (f"http status {status}", short(raw.decode("utf-8", "replace"), 200))
            items = v if isinstance(v, list) else [v]
            for item in items:
                why = valid_graphql_answer(item)
                if why:
                    return (f"http answer {why}", short(raw.decode("utf-8", "replace"), 200))
                for e in item.get("errors") or []:
                    code, message = e["extensions"]["code"], e["message"]
                    # The database raised (the sidecar's json cast of the variables aside):
                    # graphql.resolve must answer request errors itself.
                    if code == "postgres-error":
                        if message.startswith("invalid input syntax for type json"):
                            return ("expected", "json input")
                        if message == "stack depth limit exceeded" and deep_json:
                            return ("expected", "json input nested beyond PostgreSQL's stack depth limit")
                        return (f"http {code} {normalise(message)}", short(message, 300))
                    if code == "unexpected":
                        return ("note", f"http unexpected: {normalise(message)}")
        else:
            if status >= 500:
                err = normalise(v.get("error")) if isinstance(v, dict) else ""
                if err == "stack depth limit exceeded" and json_depth(body if isinstance(body, str) else "") > PG_JSON_DEPTH:
                    return ("expected", "json input nested beyond PostgreSQL's stack depth limit")
                return (f"http {path} {status} {err}", short(raw.decode("utf-8", "replace"), 200))
            if status != 200:
                if not (isinstance(v, dict) and isinstance(v.get("error"), str) and isinstance(v.get("code"), str) and "path" in v):
                    return (f"http {path} error shape", short(raw.decode("utf-8", "replace"), 200))
        return None

    def sidecar_alive(self):
        try:
            os.kill(self.a.sidecar_pid, 0)
        except OSError:
            return False
        try:
            c = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
            c.request("GET", "/healthz")
            ok = c.getresponse().status in (200, 500)
            c.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    # -- logs and memory --------------------------------------------------------------------
    def new_log_lines(self):
        bad = []
        for path, f in self.logs.items():
            chunk = f.read()
            if not chunk:
                continue
            seen = set()
            for line in chunk.decode("utf-8", "replace").splitlines():
                if '"type":"http-log"' in line or line.startswith("STATEMENT") or "STATEMENT:" in line[:60]:
                    continue
                for label, pattern in LOG_PROBLEMS:
                    if label not in seen and pattern.search(line):
                        seen.add(label)
                        bad.append((f"{os.path.basename(path)} {label}", line.strip()[:300]))
        return bad

    def memory(self):
        over = []
        for pid, kib in self.backends.peaks().items():
            self.peak_kib = max(self.peak_kib, kib)
            if kib > self.mem_kib:
                over.append((pid, kib))
        return over

    # -- a case -----------------------------------------------------------------------------
    def run(self, case):
        fails = []

        def note(channel, f):
            if f and f[0] == "expected":
                self.expected[f[1]] = self.expected.get(f[1], 0) + 1
            elif f and f[0] == "note":
                entry = self.notes.setdefault(f[1], [0, case])
                entry[0] += 1
                if case.size() < entry[1].size():
                    entry[1] = case
            elif f:
                fails.append((f[0], f"{channel}: {f[1]}"))

        if case.size() > 100_000:
            # A fresh backend for a heavy case: its peak memory (VmHWM) is this case's alone.
            self.conn.close()
            self.connect()
        t_case = time.monotonic()
        if case.kind == "gql":
            sql_ok = all("\x00" not in x and not re.search("[\ud800-\udfff]", x) for x in (case.query, case.variables or "", case.session or ""))
            if sql_ok:
                note("sql resolve", self.sql("SELECT graphql.resolve(%s, %s::json, %s::json, %s)::text",
                                            (case.query, case.variables, case.session, case.operation), valid_graphql_answer))
            body = dumps({"query": case.query})[:-1]
            if case.variables is not None:
                body += ", \"variables\": " + case.variables
            body += "}"
            headers = {}
            if case.session:
                # A session as headers: only a usable object of strings travels this way.
                try:
                    sess = json.loads(case.session)
                    if isinstance(sess, dict):
                        headers = {k: v for k, v in sess.items() if isinstance(v, str) and v.isprintable() and v.isascii() and len(v) < 8000}
                except (ValueError, RecursionError):
                    pass
            deep = max(json_depth(case.variables), json_depth(case.session)) > PG_JSON_DEPTH
            note("http graphql", self.http_check("/v1/graphql", body, headers, "gql", deep))
            if case.role_too:
                note("http graphql as user", self.http_check("/v1/graphql", body, {"x-hasura-role": "user", "x-hasura-user-id": "1"}, "gql", deep))
        elif case.kind == "meta":
            if "\x00" not in case.meta and not re.search("[\ud800-\udfff]", case.meta):
                note("sql metadata", self.sql("SELECT graphql.metadata(%s::json)::text", (case.meta,), lambda v: None))
            t = re.match(r'\s*\{"type": "([^"]*)"', case.meta)
            if case.name.startswith("known/") or (t and t.group(1) not in DESTRUCTIVE and t.group(1) in META_TYPES):
                note("http metadata", self.http_check("/v1/metadata", case.meta, {}, "meta"))
        else:
            note(f"http {case.http_path}", self.http_check(case.http_path, case.http_body, {}, "http"))
        if time.monotonic() - t_case > 4 * self.time_s + 10:
            fails.append(("case slow", f"{time.monotonic() - t_case:.1f}s in all"))
        if not self.sql_alive():
            fails.append(("sql connection unusable afterwards", "SELECT 1 failed"))
            self.connect()
        for what, line in self.new_log_lines():
            fails.append((f"log {what}", line))
        over = self.memory()
        for pid, kib in over:
            fails.append(("memory over bound", f"backend {pid} peak {kib // 1024} MiB > {self.a.mem_mib} MiB"))
        if over:
            # Start over with fresh backends, so the next case is measured on its own.
            with psycopg.connect(self.a.dsn, autocommit=True) as c:
                c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", ([p for p, _ in over],))
            self.connect()
            time.sleep(0.2)
        if fails:
            self.failed += 1
            for cls, detail in fails:
                entry = self.failures.setdefault(cls, [0, case, detail])
                entry[0] += 1
                if case.size() < entry[1].size():
                    entry[1], entry[2] = case, detail
            if self.out:
                self.out.write(json.dumps({"name": case.name, "failures": fails, "query": case.query, "variables": case.variables,
                                           "session": case.session, "metadata": case.meta, "http_path": case.http_path,
                                           "http_body": short(case.http_body, 1 << 30)}, ensure_ascii=True) + "\n")
        else:
            self.passed += 1
        return fails


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--admin-secret", required=True)
    p.add_argument("--pg-log", required=True)
    p.add_argument("--sidecar-log", required=True)
    p.add_argument("--sidecar-pid", type=int, required=True)
    p.add_argument("--postmaster-pid", type=int, required=True)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--mem-mib", type=int, default=512)
    p.add_argument("--time-s", type=float, default=10)
    p.add_argument("--only", default="")
    p.add_argument("--out", default="")
    a = p.parse_args()
    rng = random.Random(a.seed)
    cases = known_cases() + [random_case(rng, i) for i in range(a.cases)]
    if a.only:
        cases = [c for c in cases if re.search(a.only, c.name)]
    runner = Runner(a)
    started = time.monotonic()
    slowest = []
    for n, case in enumerate(cases, 1):
        t0 = time.monotonic()
        fails = runner.run(case)
        slowest = sorted(slowest + [(time.monotonic() - t0, case.name)], reverse=True)[:8]
        if fails and case.name.startswith("known/"):
            print(f"  {case.name}: {fails[0][0]}", flush=True)
        if n % 200 == 0:
            print(f"  {n}/{len(cases)} cases, {runner.failed} failing, {time.monotonic() - started:.0f}s", flush=True)
    # After the run: the sidecar still answers, nothing crashed since the last case.
    final = Case("final/after-the-run", "final", repro="the sidecar's /healthz and both logs after the last case")
    fails = [("http sidecar died", "no /healthz answer")] if not runner.sidecar_alive() else []
    fails += [(f"log {what}", line) for what, line in runner.new_log_lines()]
    for cls, detail in fails:
        runner.failures.setdefault(cls, [0, final, detail])[0] += 1
    if fails:
        runner.failed += 1
    else:
        runner.passed += 1
    print(f"\n{len(cases)} cases in {time.monotonic() - started:.0f}s (seed {a.seed}); peak backend memory "
          f"{runner.peak_kib // 1024} MiB (bound {a.mem_mib} MiB)")
    print("slowest cases (all channels): " + ", ".join(f"{name} {t:.1f}s" for t, name in slowest))
    if runner.expected:
        print("expected refusals (the json type's own input check): " + ", ".join(f"{k} ×{v}" for k, v in runner.expected.items()))
    if runner.notes:
        print(f"\nnotes (answers in Hasura's shape, not counted as failures): ")
        for cls, (count, case) in sorted(runner.notes.items(), key=lambda kv: -kv[1][0]):
            print(f"  [{count}] {cls}\n      case {case.name}: {case.describe()}")
    if runner.failures:
        print(f"\n{len(runner.failures)} failure classes (count, class, smallest reproducer, detail):")
        for cls, (count, case, detail) in sorted(runner.failures.items(), key=lambda kv: -kv[1][0]):
            print(f"  [{count}] {cls}\n      case {case.name}: {case.describe()}\n      {short(detail, 300)}")
    print(f"hostile: {runner.passed} passed, {runner.failed} failed")
    sys.exit(1 if runner.failed else 0)


if __name__ == "__main__":
    main()
