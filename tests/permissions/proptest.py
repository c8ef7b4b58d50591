#!/usr/bin/env python3
"""Permission property test for Graft (issue 11).

Random select/insert/update/delete permissions over a five-table, two-tenant fixture, for two
plain roles and an inherited role made of both; random GraphQL queries and mutations over every
access path, run through graphql.resolve() as a non-superuser database role; every answer is
checked against an oracle that does not use Graft:

  * each permission filter is translated here into a plain SQL predicate and evaluated by the
    superuser connection, row by row, with the session's values as literals;
  * the visible data of a role is built from those verdicts: a row is visible iff some
    (parent) role's filter passes; a cell of an inherited role is visible iff some parent role
    that grants the column (or computed field) passes its filter for the row, else it reads null;
  * the query itself (where, order_by, distinct_on, limit, relationships, aggregates, by_pk,
    computed fields) is evaluated in Python over that redacted data, with SQL's three-valued
    logic, ASC NULLS LAST / DESC NULLS FIRST ordering and C collation;
  * mutations run inside a transaction that is rolled back; the target table is read before and
    after (plain SQL in the same transaction) and compared with the rows the update/delete
    filter, the insert/update check and on_conflict allow.

Usage: proptest.py --dsn-admin DSN --dsn-app DSN [--seed N] [--cases N] [--verbose]
Prints one line per distinct failure class with a minimal reproducer, then
"permissions: N passed, M failed".
"""
import argparse
import json
import random
import re
import sys
import time

import psycopg

# ---------------------------------------------------------------------------------------------
# Fixture

FIXTURE_SQL = r"""
CREATE TABLE tenants (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE users (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants,
  name text NOT NULL, email text, age int);
CREATE TABLE projects (id int PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants,
  owner_id int REFERENCES users, title text NOT NULL, budget int, archived boolean);
CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects ON DELETE CASCADE,
  assignee_id int REFERENCES users, title text NOT NULL, priority int, done boolean);
CREATE TABLE comments (id int PRIMARY KEY, task_id int NOT NULL REFERENCES tasks ON DELETE CASCADE,
  author_id int NOT NULL REFERENCES users, body text NOT NULL, score int);
CREATE FUNCTION task_weight(t tasks) RETURNS int LANGUAGE sql STABLE
  AS $$ SELECT t.priority * 10 + length(t.title) $$;
CREATE FUNCTION project_urgent_tasks(p projects) RETURNS SETOF tasks LANGUAGE sql STABLE
  AS $$ SELECT * FROM tasks WHERE project_id = p.id AND priority >= 2 $$;
"""

# table -> [(column, type, nullable)]
TABLES = {
    "tenants": [("id", "int", False), ("name", "text", False)],
    "users": [("id", "int", False), ("tenant_id", "int", False), ("name", "text", False),
              ("email", "text", True), ("age", "int", True)],
    "projects": [("id", "int", False), ("tenant_id", "int", False), ("owner_id", "int", True),
                 ("title", "text", False), ("budget", "int", True), ("archived", "bool", True)],
    "tasks": [("id", "int", False), ("project_id", "int", False), ("assignee_id", "int", True),
              ("title", "text", False), ("priority", "int", True), ("done", "bool", True)],
    "comments": [("id", "int", False), ("task_id", "int", False), ("author_id", "int", False),
                 ("body", "text", False), ("score", "int", True)],
}
FKS = {  # (table, column) -> referenced table
    ("users", "tenant_id"): "tenants", ("projects", "tenant_id"): "tenants",
    ("projects", "owner_id"): "users", ("tasks", "project_id"): "projects",
    ("tasks", "assignee_id"): "users", ("comments", "task_id"): "tasks",
    ("comments", "author_id"): "users",
}
# Key columns are granted to every role that may select a table: rows are identified by id in
# answers, and relationships join on them (so no answer depends on whether a join reads a
# redacted key, a point on which Hasura's docs say nothing).
KEYS = {t: ["id"] + [c for (tt, c) in FKS if tt == t] for t in TABLES}
COLTYPE = {t: {c: ty for c, ty, _ in cols} for t, cols in TABLES.items()}
NULLABLE = {t: {c: n for c, _, n in cols} for t, cols in TABLES.items()}
# Computed fields: name -> (kind, function, returned table)
COMPUTED = {"tasks": {"weight": ("scalar", "task_weight", None)},
            "projects": {"urgent_tasks": ("setof", "project_urgent_tasks", "tasks")}}
WORDS = ["alpha", "beta", "gamma", "Alpha", "delta", "beta two", "omega", "zeta"]
LIKES = ["a%", "%a", "%et%", "_eta", "%", "A%", "b%o", "%ta"]
USER_COLS = {("users", "id"), ("projects", "owner_id"), ("tasks", "assignee_id"), ("comments", "author_id")}
TENANT_COLS = {("tenants", "id"), ("users", "tenant_id"), ("projects", "tenant_id")}
MUTABLE = ["projects", "tasks", "comments"]
PLAIN = ["ra", "rb"]
INHERITED = {"rab": ["ra", "rb"]}


def gen_data(rng):
    d = {t: {} for t in TABLES}
    for i in (1, 2):
        d["tenants"][i] = {"id": i, "name": ["acme", "globex"][i - 1]}
    for i in range(1, 9):
        d["users"][i] = {"id": i, "tenant_id": 1 if i <= 4 else 2, "name": rng.choice(WORDS),
                         "email": None if rng.random() < .3 else rng.choice(WORDS) + "@x",
                         "age": None if rng.random() < .25 else rng.randint(18, 70)}
    for i in range(1, 11):
        ten = 1 + i % 2
        owners = [u for u in d["users"] if d["users"][u]["tenant_id"] == ten]
        d["projects"][i] = {"id": i, "tenant_id": ten,
                            "owner_id": None if rng.random() < .2 else rng.choice(owners),
                            "title": rng.choice(WORDS), "budget": None if rng.random() < .3 else rng.randint(0, 9) * 100,
                            "archived": rng.choice([True, False, None])}
    for i in range(1, 31):
        d["tasks"][i] = {"id": i, "project_id": rng.randint(1, 10),
                         "assignee_id": None if rng.random() < .25 else rng.randint(1, 8),
                         "title": rng.choice(WORDS), "priority": None if rng.random() < .25 else rng.randint(0, 3),
                         "done": rng.choice([True, False, None])}
    for i in range(1, 41):
        d["comments"][i] = {"id": i, "task_id": rng.randint(1, 30), "author_id": rng.randint(1, 8),
                            "body": rng.choice(WORDS), "score": None if rng.random() < .3 else rng.randint(-2, 5)}
    return d


def lit(v, ty=None):
    """A SQL literal for a value we generated ourselves."""
    if v is None:
        return "NULL" + ({"int": "::int", "text": "::text", "bool": "::boolean"}[ty] if ty else "")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def gql_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(gql_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {gql_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Enum):
        return v.name
    raise TypeError(v)


class Enum:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


# ---------------------------------------------------------------------------------------------
# The oracle: permission filters as SQL predicates


class Schema:
    """Relationships, read from export_metadata after graphql.track_all('public')."""

    def __init__(self, md):
        self.obj = {t: {} for t in TABLES}  # table -> name -> (target, local col)
        self.arr = {t: {} for t in TABLES}  # table -> name -> (target, remote col)
        for tab in md["sources"][0]["tables"]:
            t = tab["table"]["name"]
            if t not in TABLES:
                continue
            for r in tab.get("object_relationships", []):
                col = r["using"]["foreign_key_constraint_on"]
                col = col if isinstance(col, str) else col.get("column", (col.get("columns") or [None])[0])
                self.obj[t][r["name"]] = (FKS[(t, col)], col)
            for r in tab.get("array_relationships", []):
                fk = r["using"]["foreign_key_constraint_on"]
                col = fk.get("column") or fk["columns"][0]
                self.arr[t][r["name"]] = (fk["table"]["name"] if isinstance(fk["table"], dict) else fk["table"], col)


def session_value(v, sess):
    if isinstance(v, str) and v.lower().startswith("x-hasura-"):
        return int(sess[v.lower()])
    return v


def sql_pred(sch, t, f, alias, sess, depth=0):
    """Translate a permission boolean expression into SQL over `alias` (a row of table t)."""
    parts = []
    for k, v in f.items():
        if k == "_and":
            parts.append("(" + " AND ".join(["TRUE"] + [sql_pred(sch, t, x, alias, sess, depth) for x in v]) + ")")
        elif k == "_or":
            parts.append("(" + " OR ".join(["FALSE"] + [sql_pred(sch, t, x, alias, sess, depth) for x in v]) + ")")
        elif k == "_not":
            parts.append("(NOT " + sql_pred(sch, t, v, alias, sess, depth) + ")")
        elif k == "_exists":
            tt = v["_table"]["name"]
            a2 = f"e{depth}"
            parts.append(f"EXISTS (SELECT 1 FROM public.{tt} {a2} WHERE {sql_pred(sch, tt, v['_where'], a2, sess, depth + 1)})")
        elif k in sch.obj[t]:
            tt, col = sch.obj[t][k]
            a2 = f"o{depth}"
            parts.append(f"EXISTS (SELECT 1 FROM public.{tt} {a2} WHERE {a2}.id = {alias}.{col} AND "
                         f"{sql_pred(sch, tt, v, a2, sess, depth + 1)})")
        elif k in sch.arr[t]:
            tt, col = sch.arr[t][k]
            a2 = f"a{depth}"
            parts.append(f"EXISTS (SELECT 1 FROM public.{tt} {a2} WHERE {a2}.{col} = {alias}.id AND "
                         f"{sql_pred(sch, tt, v, a2, sess, depth + 1)})")
        elif k in COMPUTED.get(t, {}) and COMPUTED[t][k][0] == "setof":
            _, fn, tt = COMPUTED[t][k]
            a2 = f"c{depth}"
            parts.append(f"EXISTS (SELECT 1 FROM public.{fn}({alias}) {a2} WHERE {sql_pred(sch, tt, v, a2, sess, depth + 1)})")
        else:
            col = f"public.{COMPUTED[t][k][1]}({alias})" if k in COMPUTED.get(t, {}) else f"{alias}.{k}"
            for op, x in v.items():
                x = session_value(x, sess)
                if op == "_eq":
                    parts.append(f"({col} = {lit(x)})")
                elif op == "_neq":
                    parts.append(f"({col} <> {lit(x)})")
                elif op == "_gt":
                    parts.append(f"({col} > {lit(x)})")
                elif op == "_lt":
                    parts.append(f"({col} < {lit(x)})")
                elif op == "_gte":
                    parts.append(f"({col} >= {lit(x)})")
                elif op == "_lte":
                    parts.append(f"({col} <= {lit(x)})")
                elif op == "_nin":
                    parts.append(f"({col} NOT IN ({', '.join(lit(y) for y in x)}))" if x else "TRUE")
                elif op == "_nlike":
                    parts.append(f"({col} NOT LIKE {lit(x)})")
                elif op == "_in":
                    parts.append(f"({col} IN ({', '.join(lit(y) for y in x)}))" if x else "FALSE")
                elif op == "_is_null":
                    parts.append(f"({col} IS {'' if x else 'NOT '}NULL)")
                elif op == "_like":
                    parts.append(f"({col} LIKE {lit(x)})")
                else:
                    raise ValueError(op)
    return "(" + " AND ".join(["TRUE"] + parts) + ")"


# ---------------------------------------------------------------------------------------------
# Random permissions


class Gen:
    def __init__(self, rng, sch, data):
        self.rng, self.sch, self.data = rng, sch, data
        self.allow_cf = True  # computed fields in filters; not in checks (rows not in the table yet)

    def check(self, t, depth):
        self.allow_cf = False
        try:
            return self.filter(t, depth)
        finally:
            self.allow_cf = True

    def value_for(self, t, c, allow_session=True):
        rng = self.rng
        if allow_session and (t, c) in USER_COLS and rng.random() < .6:
            return "X-Hasura-User-Id"
        if allow_session and (t, c) in TENANT_COLS and rng.random() < .7:
            return "X-Hasura-Tenant-Id"
        ty = COLTYPE[t][c]
        vals = [r[c] for r in self.data[t].values() if r[c] is not None]
        if ty == "bool":
            return rng.choice([True, False])
        if ty == "text":
            return rng.choice(vals + WORDS) if vals else rng.choice(WORDS)
        return rng.choice(vals + [0, 5, 200]) if vals else rng.randint(0, 9)

    def atom(self, t, cols=None, allow_session=True):
        rng = self.rng
        c = rng.choice(cols or [c for c, _, _ in TABLES[t]])
        ty = COLTYPE[t][c]
        if ty == "bool":
            op = rng.choice(["_eq", "_eq", "_is_null"])
        elif ty == "text":
            op = rng.choice(["_eq", "_neq", "_like", "_like", "_in", "_is_null"])
        else:
            op = rng.choice(["_eq", "_eq", "_neq", "_gt", "_lt", "_in", "_is_null"])
        if op == "_is_null":
            return {c: {op: rng.choice([True, False])}}
        if op == "_like":
            return {c: {op: rng.choice(LIKES)}}
        if op == "_in":
            return {c: {op: [self.value_for(t, c, False) for _ in range(rng.randint(1, 3))]}}
        return {c: {op: self.value_for(t, c, allow_session)}}

    def filter(self, t, depth=2):
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < .45:
            return self.atom(t)
        if r < .52:
            return {}
        if r < .62:
            return {"_and": [self.filter(t, depth - 1) for _ in range(2)]}
        if r < .72:
            return {"_or": [self.filter(t, depth - 1) for _ in range(2)]}
        if r < .78:
            return {"_not": self.filter(t, depth - 1)}
        if r < .84:
            tt = rng.choice(list(TABLES))
            return {"_exists": {"_table": {"schema": "public", "name": tt}, "_where": self.filter(tt, depth - 1)}}
        if self.allow_cf and COMPUTED.get(t) and rng.random() < .3:
            name, (ck, _, ret) = rng.choice(list(COMPUTED[t].items()))
            if ck == "scalar":
                return {name: {rng.choice(["_gt", "_lt", "_eq"]): rng.randint(0, 40)}}
            return {name: self.filter(ret, depth - 1)}
        rels = list(self.sch.obj[t].items()) + list(self.sch.arr[t].items())
        name, (tt, _) = rng.choice(rels)
        return {name: self.filter(tt, depth - 1)}

    def tenant_filter(self, t):
        """Most real permissions are tenant filters: keep them common."""
        paths = {"tenants": {"id": {"_eq": "X-Hasura-Tenant-Id"}},
                 "users": {"tenant_id": {"_eq": "X-Hasura-Tenant-Id"}},
                 "projects": {"tenant_id": {"_eq": "X-Hasura-Tenant-Id"}}}
        if t in paths:
            return paths[t]
        if t == "tasks":
            return {"project": {"tenant_id": {"_eq": "X-Hasura-Tenant-Id"}}} if "project" in self.sch.obj["tasks"] else {}
        return {"task": {"project": {"tenant_id": {"_eq": "X-Hasura-Tenant-Id"}}}} if "task" in self.sch.obj["comments"] else {}

    def select_perm(self, t):
        rng = self.rng
        others = [c for c, _, _ in TABLES[t] if c not in KEYS[t]]
        cols = KEYS[t] + [c for c in others if rng.random() < .6]
        r = rng.random()
        f = self.tenant_filter(t) if r < .25 else (self.filter(t) if r < .9 else {})
        if rng.random() < .2:
            f = {"_and": [self.tenant_filter(t), self.filter(t, 1)]}
        p = {"columns": cols, "filter": f}
        if rng.random() < .15:
            p["limit"] = rng.randint(1, 6)
        if rng.random() < .6:
            p["allow_aggregations"] = True
        # Only scalar computed fields are granted: a set-returning one follows its returning
        # table's select permission (Hasura refuses it in computed_fields).
        cfs = [n for n, cf in COMPUTED.get(t, {}).items() if cf[0] == "scalar" and rng.random() < .6]
        if cfs:
            p["computed_fields"] = cfs
        return p

    def permissions(self):
        rng = self.rng
        perms = {}
        for role in PLAIN:
            perms[role] = {}
            for t in TABLES:
                entry = {}
                if rng.random() < .88:
                    entry["select"] = self.select_perm(t)
                if t in MUTABLE and "select" in entry:
                    if rng.random() < .6:
                        entry["insert"] = {"columns": [c for c, _, _ in TABLES[t]],
                                           "check": self.check(t, 1) if rng.random() < .7 else {}}
                        if t == "projects" and rng.random() < .3:
                            entry["insert"]["set"] = {"tenant_id": "X-Hasura-Tenant-Id"}
                    if rng.random() < .6:
                        mut = [c for c, _, _ in TABLES[t] if c != "id"]
                        entry["update"] = {"columns": [c for c in mut if rng.random() < .6] or [mut[-1]],
                                           "filter": self.filter(t, 1) if rng.random() < .8 else {},
                                           "check": self.check(t, 1) if rng.random() < .5 else {}}
                    if rng.random() < .5:
                        entry["delete"] = {"filter": self.filter(t, 1) if rng.random() < .8 else {}}
                perms[role][t] = entry
        return perms


def effective_select(perms, role, t):
    """The select permission a role has on t: (parents' permissions, merged view) or None."""
    parents = INHERITED.get(role, [role])
    ps = [(p, perms[p][t]["select"]) for p in parents if "select" in perms[p][t]]
    if not ps:
        return None
    cols = sorted({c for _, s in ps for c in s["columns"]}, key=[c for c, _, _ in TABLES[t]].index)
    cfs = sorted({c for _, s in ps for c in s.get("computed_fields", [])})
    limit = None if any("limit" not in s for _, s in ps) else max(s["limit"] for _, s in ps)
    aggs = any(s.get("allow_aggregations") for _, s in ps)
    return {"parents": ps, "columns": cols, "computed_fields": cfs, "limit": limit, "aggs": aggs}


def metadata_request(base_md, perms):
    md = json.loads(json.dumps(base_md))
    for tab in md["sources"][0]["tables"]:
        t = tab["table"]["name"]
        for kind in ("select", "insert", "update", "delete"):
            tab.pop(kind + "_permissions", None)
            lst = [{"role": role, "permission": perms[role][t][kind]} for role in PLAIN if kind in perms[role].get(t, {})]
            if lst:
                tab[kind + "_permissions"] = lst
    md["inherited_roles"] = [{"role_name": r, "role_set": ps} for r, ps in INHERITED.items()]
    return {"type": "replace_metadata", "args": md}


# ---------------------------------------------------------------------------------------------
# The model: what a role may see, and what a query answers over it


def like_re(p):
    out = ""
    for ch in p:
        out += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
    return re.compile("^" + out + "$", re.S)


def cmp_op(op, a, x):
    if op == "_is_null":
        return (a is None) == x
    if a is None:
        return None
    if op == "_eq":
        return a == x
    if op == "_neq":
        return a != x
    if op == "_gt":
        return a > x
    if op == "_lt":
        return a < x
    if op == "_gte":
        return a >= x
    if op == "_lte":
        return a <= x
    if op == "_in":
        return a in x
    if op == "_nin":
        return a not in x
    if op == "_like":
        return bool(like_re(x).match(a))
    if op == "_nlike":
        return not like_re(x).match(a)
    raise ValueError(op)


def and3(vals):
    vals = list(vals)
    if any(v is False for v in vals):
        return False
    if any(v is None for v in vals):
        return None
    return True


def or3(vals):
    vals = list(vals)
    if any(v is True for v in vals):
        return True
    if any(v is None for v in vals):
        return None
    return False


class View:
    """The data one role sees with one session: rows by id, hidden cells set to None."""

    def __init__(self, ctx, role, sess):
        self.ctx, self.role, self.sess = ctx, role, sess
        self.rows = {}
        self.eff = {}
        for t in TABLES:
            eff = effective_select(ctx.perms, role, t)
            self.eff[t] = eff
            if eff is None:
                continue
            cells = {}
            for p, s in eff["parents"]:
                for i in ctx.passing(p, t, "select", sess):
                    cells.setdefault(i, set()).update(s["columns"] + s.get("computed_fields", []))
            rows = {}
            for i, vis in cells.items():
                raw = ctx.data[t][i]
                r = {c: (raw[c] if c in vis else None) for c in eff["columns"]}
                for cf in eff["computed_fields"]:
                    if COMPUTED[t][cf][0] == "scalar":
                        r[cf] = ctx.computed[t][cf][i] if cf in vis else None
                r["__raw"] = raw
                rows[i] = r
            self.rows[t] = rows

    def ev(self, t, w, row):
        sch = self.ctx.sch
        out = []
        for k, v in w.items():
            if k == "_and":
                out.append(and3(self.ev(t, x, row) for x in v))
            elif k == "_or":
                out.append(or3(self.ev(t, x, row) for x in v))
            elif k == "_not":
                x = self.ev(t, v, row)
                out.append(None if x is None else not x)
            elif k in sch.obj[t]:
                tt, col = sch.obj[t][k]
                target = self.rows[tt].get(row["__raw"][col])
                out.append(target is not None and self.ev(tt, v, target) is True)
            elif k in sch.arr[t]:
                tt, col = sch.arr[t][k]
                out.append(any(self.ev(tt, v, r) is True for r in self.children(tt, col, row["__raw"]["id"])))
            elif k in COMPUTED.get(t, {}) and COMPUTED[t][k][0] == "setof":
                tt = COMPUTED[t][k][2]
                rows = [self.rows[tt][i] for i in self.ctx.computed[t][k][row["__raw"]["id"]] if i in self.rows[tt]]
                out.append(any(self.ev(tt, v, r) is True for r in rows))
            else:
                out.append(and3(cmp_op(op, row[k], x) for op, x in v.items()))
        return and3(out)

    def children(self, tt, col, parent_id):
        return [r for i, r in sorted(self.rows[tt].items()) if r["__raw"][col] == parent_id]

    def order_key(self, t, ob, row):
        """[(value, direction)] for one order_by list."""
        sch = self.ctx.sch
        keys = []
        for item in ob:
            (k, v), = item.items()
            if k in sch.obj[t]:
                tt, col = sch.obj[t][k]
                target = self.rows[tt].get(row["__raw"][col])
                (c2, d), = v.items()
                keys.append((None if target is None else target[c2], d.name))
            elif k.endswith("_aggregate"):
                tt, col = sch.arr[t][k[:-len("_aggregate")]]
                keys.append((len(self.children(tt, col, row["__raw"]["id"])), v["count"].name))
            else:
                keys.append((row[k], v.name))
        return keys

    def sort(self, t, rows, ob):
        """Stable multi-key sort: asc = ASC NULLS LAST, desc = DESC NULLS FIRST (PostgreSQL)."""
        rows = list(rows)
        for item in reversed(ob):
            (k, v), = item.items()
            d = (list(v.values())[0] if isinstance(v, dict) else v).name
            desc = d.startswith("desc")
            nulls_first = d in ("desc", "asc_nulls_first", "desc_nulls_first")
            keyed = [(self.order_key(t, [item], r)[0][0], r) for r in rows]
            nonnull = [(x, r) for x, r in keyed if x is not None]
            nulls = [r for x, r in keyed if x is None]
            nonnull.sort(key=lambda p: p[0], reverse=desc)
            rows = nulls + [r for _, r in nonnull] if nulls_first else [r for _, r in nonnull] + nulls
        return rows

    # -- selections -------------------------------------------------------------------------
    def select_rows(self, t, args, rows, nested):
        if "where" in args:
            rows = [r for r in rows if self.ev(t, args["where"], r) is True]
        rows = self.sort(t, rows, args.get("order_by", []))
        if "distinct_on" in args:
            seen, out = set(), []
            for r in rows:
                key = tuple(r[c] for c in args["distinct_on"])
                if key not in seen:
                    seen.add(key)
                    out.append(r)
            rows = out
        if "offset" in args:
            rows = rows[args["offset"]:]
        lim = self.eff[t]["limit"]
        exact = True
        if lim is not None and nested:
            exact = False  # only a prefix is asserted, see check_list
        if "limit" in args:
            rows = rows[:args["limit"]]
        if lim is not None and not nested:
            rows = rows[:lim]
        return rows, exact

    def project(self, t, fields, row):
        sch = self.ctx.sch
        out = {}
        for f in fields:
            if isinstance(f, str):
                out[f] = row[f]
            elif f[0] == "obj":
                _, name, sub = f
                tt, col = sch.obj[t][name]
                target = self.rows[tt].get(row["__raw"][col])
                out[name] = None if target is None else self.project(tt, sub, target)
            elif f[0] in ("arr", "setof"):
                _, name, args, sub = f
                if f[0] == "arr":
                    tt, col = sch.arr[t][name]
                    cand = self.children(tt, col, row["__raw"]["id"])
                else:
                    tt = COMPUTED[t][name][2]
                    cand = [self.rows[tt][i] for i in self.ctx.computed[t][name][row["__raw"]["id"]] if i in self.rows[tt]]
                rows, exact = self.select_rows(tt, args, cand, True)
                out[name] = Approx([self.project(tt, sub, r) for r in rows], exact, self.eff[tt]["limit"])
            elif f[0] == "agg":
                _, name, args, spec = f
                tt, col = sch.arr[t][name]
                out[name + "_aggregate"] = self.aggregate(tt, args, self.children(tt, col, row["__raw"]["id"]), spec, True)
        return out

    def aggregate(self, t, args, rows, spec, nested):
        rows = [r for r in rows if "where" not in args or self.ev(t, args["where"], r) is True]
        rows = self.sort(t, rows, args.get("order_by", []))
        res = {}
        agg = {}
        for a in spec["aggregate"]:
            if a == "count":
                agg["count"] = len(rows)
            elif a[0] == "count":
                agg[f"count_{a[1]}"] = sum(1 for r in rows if r[a[1]] is not None)
            else:
                fn, c = a
                vals = [r[c] for r in rows if r[c] is not None]
                v = (sum(vals) if fn == "sum" else max(vals)) if vals else None
                agg.setdefault(fn, {})[c] = v
        res["aggregate"] = agg
        if spec.get("nodes") is not None:
            res["nodes"] = [self.project(t, spec["nodes"], r) for r in rows]
        lim = self.eff[t]["limit"]
        return AggApprox(res) if lim is not None else res


class Approx(list):
    """A nested list under a role limit: the answer must be a prefix of it, at most limit long."""

    def __init__(self, items, exact, limit):
        super().__init__(items)
        self.exact, self.limit = exact, limit


class AggApprox(dict):
    """An aggregate under a role limit (Hasura's docs do not say whether the limit applies to
    aggregates): only nodes ⊆ visible rows and count ≤ the visible count are asserted."""


# ---------------------------------------------------------------------------------------------
# Random queries


class QueryGen:
    def __init__(self, rng, view, gen):
        self.rng, self.v, self.gen = rng, view, gen
        self.sch = view.ctx.sch

    def readable(self, t):
        return [t2 for t2 in TABLES if self.v.eff.get(t2)]

    def cols(self, t):
        return self.v.eff[t]["columns"]

    def scalar_cfs(self, t):
        return [c for c in self.v.eff[t]["computed_fields"] if COMPUTED[t][c][0] == "scalar"]

    def setof_cfs(self, t):
        # Visible to every role that may select both tables (Hasura's rule).
        return [c for c, cf in COMPUTED.get(t, {}).items() if cf[0] == "setof" and self.v.eff.get(cf[2])]

    def vis_obj(self, t):
        return [n for n, (tt, _) in self.sch.obj[t].items() if self.v.eff.get(tt)]

    def vis_arr(self, t):
        return [n for n, (tt, _) in self.sch.arr[t].items() if self.v.eff.get(tt)]

    def where_atom(self, t):
        rng = self.rng
        cands = self.cols(t) + self.scalar_cfs(t)
        # Prefer the columns that are redacted for some visible row: that is where leaks are.
        hidden = [c for c in cands if c not in KEYS[t]]
        c = rng.choice(hidden if hidden and rng.random() < .7 else cands)
        if c in COMPUTED.get(t, {}):
            op = rng.choice(["_gt", "_lt", "_eq", "_is_null"])
            x = rng.choice([True, False]) if op == "_is_null" else rng.randint(0, 40)
            return {c: {op: x}}
        a = self.gen.atom(t, [c], allow_session=False)
        (op, x), = a[c].items()
        if op == "_in" and not x:
            x = [1]
        if self.rng.random() < .15:
            op2 = {"_eq": "_neq", "_gt": "_lte", "_lt": "_gte", "_in": "_nin", "_like": "_nlike"}.get(op)
            if op2:
                op = op2
        return {c: {op: x}}

    def where(self, t, depth=2):
        rng = self.rng
        r = rng.random()
        if depth <= 0 or r < .5:
            return self.where_atom(t)
        if r < .6:
            return {"_and": [self.where(t, depth - 1) for _ in range(2)]}
        if r < .7:
            return {"_or": [self.where(t, depth - 1) for _ in range(2)]}
        if r < .78:
            return {"_not": self.where(t, depth - 1)}
        rels = self.vis_obj(t) + self.vis_arr(t) + self.setof_cfs(t)
        if not rels:
            return self.where_atom(t)
        n = rng.choice(rels)
        tt = COMPUTED[t][n][2] if n in COMPUTED.get(t, {}) else (self.sch.obj[t].get(n) or self.sch.arr[t][n])[0]
        return {n: self.where(tt, depth - 1)}

    def direction(self):
        return Enum(self.rng.choice(["asc", "desc", "asc", "desc", "asc_nulls_first", "desc_nulls_last"]))

    def order_by(self, t):
        rng = self.rng
        ob = []
        for _ in range(rng.randint(0, 2)):
            r = rng.random()
            objs = self.vis_obj(t)
            arrs = [n for n in self.vis_arr(t) if self.v.eff[self.sch.arr[t][n][0]]["aggs"]
                    and self.v.eff[self.sch.arr[t][n][0]]["limit"] is None]
            if r < .25 and objs:
                n = rng.choice(objs)
                tt = self.sch.obj[t][n][0]
                ob.append({n: {rng.choice(self.cols(tt)): self.direction()}})
            elif r < .35 and arrs:
                ob.append({rng.choice(arrs) + "_aggregate": {"count": self.direction()}})
            else:
                ob.append({rng.choice(self.cols(t) + self.scalar_cfs(t)): self.direction()})
        ob.append({"id": Enum("asc")})
        return ob

    def list_args(self, t, root):
        rng = self.rng
        args = {}
        if rng.random() < .6:
            args["where"] = self.where(t)
        if rng.random() < .2:
            c = rng.choice(self.cols(t))
            args["distinct_on"] = [c]
            args["order_by"] = [{c: self.direction()}] + self.order_by(t)
        else:
            args["order_by"] = self.order_by(t)
        if rng.random() < .2:
            args["limit"] = rng.randint(0, 5)
        if root and rng.random() < .1:
            args["offset"] = rng.randint(0, 3)
        return args

    def fields(self, t, depth):
        rng = self.rng
        fs = ["id"] + [c for c in self.cols(t) if c != "id" and rng.random() < .6]
        fs += [c for c in self.scalar_cfs(t) if rng.random() < .6]
        # Fewer relationships further down: the answers stay small and the statements fast.
        k = 1.0 if depth >= 2 else .5
        if depth > 0:
            for n in self.vis_obj(t):
                if rng.random() < .35 * k:
                    fs.append(("obj", n, self.fields(self.sch.obj[t][n][0], depth - 1)))
            for n in self.vis_arr(t):
                tt = self.sch.arr[t][n][0]
                if rng.random() < .3 * k:
                    fs.append(("arr", n, self.list_args(tt, False), self.fields(tt, depth - 1)))
                elif rng.random() < .15 and self.v.eff[tt]["aggs"]:
                    args = {"where": self.where(tt, 1)} if rng.random() < .5 else {}
                    spec = self.agg_spec(tt, depth - 1)
                    if spec.get("nodes") is not None:
                        args["order_by"] = self.order_by(tt)
                    fs.append(("agg", n, args, spec))
            for n in self.setof_cfs(t):
                if rng.random() < .5 * k:
                    tt = COMPUTED[t][n][2]
                    fs.append(("setof", n, self.list_args(tt, False), self.fields(tt, depth - 1)))
        return fs

    def agg_spec(self, t, depth):
        rng = self.rng
        spec = ["count"]
        nonkeys = [c for c in self.cols(t) if c not in KEYS[t]] or self.cols(t)
        for _ in range(rng.randint(1, 3)):
            c = rng.choice(nonkeys)
            if COLTYPE[t][c] == "int" and rng.random() < .5:
                spec.append(("sum", c))
            elif COLTYPE[t][c] in ("int", "text"):
                spec.append(("max", c))
            else:
                spec.append(("count", c))
        s = {"aggregate": list(dict.fromkeys(spec))}
        if rng.random() < .5:
            s["nodes"] = self.fields(t, min(depth, 1))
        return s

    def query(self):
        """A random query AST: (kind, table, spec), or None when the role reads nothing."""
        rng = self.rng
        tabs = self.readable(None)
        if not tabs:
            return None
        t = rng.choice(tabs)
        r = rng.random()
        v = self.v
        if r < .2:
            return ("by_pk", t, {"id": rng.choice(list(v.ctx.data[t]) + [999]), "fields": self.fields(t, 2)})
        if r < .4 and v.eff[t]["aggs"]:
            args = {}
            if rng.random() < .7:
                args["where"] = self.where(t)
            spec = self.agg_spec(t, 1)
            if spec.get("nodes") is not None:
                args["order_by"] = self.order_by(t)
            return ("aggregate", t, {"args": args, "agg": spec})
        return ("list", t, {"args": self.list_args(t, True), "fields": self.fields(t, 2)})


def render_query(q):
    kind, t, s = q
    if kind == "by_pk":
        return f"{{ {t}_by_pk(id: {s['id']}) {render_fields(s['fields'])} }}"
    if kind == "aggregate":
        return f"{{ {t}_aggregate{render_args(s['args'])} {render_agg(s['agg'])} }}"
    return f"{{ {t}{render_args(s['args'])} {render_fields(s['fields'])} }}"


def expect_query(v, q):
    kind, t, s = q
    if kind == "by_pk":
        row = v.rows[t].get(s["id"])
        return {f"{t}_by_pk": None if row is None else v.project(t, s["fields"], row)}
    allrows = [v.rows[t][i] for i in sorted(v.rows[t])]
    if kind == "aggregate":
        return {f"{t}_aggregate": v.aggregate(t, s["args"], allrows, s["agg"], False)}
    rows, _ = v.select_rows(t, s["args"], allrows, False)
    return {t: [v.project(t, s["fields"], r) for r in rows]}


# ---------------------------------------------------------------------------------------------
# Shrinking: smaller variants of a failing query / permission set


OPS = {"_eq", "_neq", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_is_null", "_like", "_nlike"}


def shrink_where(w):
    if not w:
        return
    if len(w) > 1:
        for k in w:
            yield {k: w[k]}
        return
    (k, v), = w.items()
    if k in ("_and", "_or"):
        yield from v
        for i, x in enumerate(v):
            for y in shrink_where(x):
                yield {k: v[:i] + [y] + v[i + 1:]}
    elif k == "_not":
        yield v
        for y in shrink_where(v):
            yield {"_not": y}
    elif k == "_exists":
        for y in shrink_where(v["_where"]):
            yield {"_exists": dict(v, _where=y)}
    elif isinstance(v, dict) and not (set(v) <= OPS):
        for y in shrink_where(v):
            yield {k: y}


def shrink_args(args):
    # order_by is never dropped, nor its last item ({id: asc}): the answer's order must stay total.
    for k in ("distinct_on", "where", "limit", "offset"):
        if k in args:
            a = dict(args)
            del a[k]
            yield a
    if "where" in args:
        for w in shrink_where(args["where"]):
            yield dict(args, where=w)
    ob = args.get("order_by", [])
    for i in range(len(ob) - 1):
        if "distinct_on" in args and i == 0:
            continue
        yield dict(args, order_by=ob[:i] + ob[i + 1:])


def shrink_fields(fs):
    for i, f in enumerate(fs):
        if f != "id":
            yield fs[:i] + fs[i + 1:]
    for i, f in enumerate(fs):
        if isinstance(f, tuple):
            if f[0] == "obj":
                for sub in shrink_fields(f[2]):
                    yield fs[:i] + [("obj", f[1], sub)] + fs[i + 1:]
            elif f[0] in ("arr", "setof"):
                for a in shrink_args(f[2]):
                    yield fs[:i] + [(f[0], f[1], a, f[3])] + fs[i + 1:]
                for sub in shrink_fields(f[3]):
                    yield fs[:i] + [(f[0], f[1], f[2], sub)] + fs[i + 1:]
            elif f[0] == "agg":
                for a in shrink_args(f[2]):
                    yield fs[:i] + [("agg", f[1], a, f[3])] + fs[i + 1:]
                for sp in shrink_agg(f[3]):
                    yield fs[:i] + [("agg", f[1], f[2], sp)] + fs[i + 1:]


def shrink_agg(spec):
    aggs = spec["aggregate"]
    for i in range(len(aggs)):
        if len(aggs) > 1:
            yield dict(spec, aggregate=aggs[:i] + aggs[i + 1:])
    if spec.get("nodes") is not None:
        yield {k: x for k, x in spec.items() if k != "nodes"}
        for sub in shrink_fields(spec["nodes"]):
            yield dict(spec, nodes=sub)


def shrink_query(q):
    kind, t, s = q
    if "args" in s:
        for a in shrink_args(s["args"]):
            if kind == "aggregate" and "order_by" not in a and s["agg"].get("nodes") is not None:
                continue
            yield (kind, t, dict(s, args=a))
    if "fields" in s:
        for f in shrink_fields(s["fields"]):
            yield (kind, t, dict(s, fields=f))
    if "agg" in s:
        for sp in shrink_agg(s["agg"]):
            yield (kind, t, dict(s, agg=sp))


def shrink_perms(perms, role):
    """Variants of the permission set: a parent's select filter replaced by a part of it or by
    {}, a permission on a table dropped, a non-key column or a computed field dropped."""
    parents = INHERITED.get(role, [role])
    for p in parents:
        for t in TABLES:
            sel = perms[p][t].get("select")
            if sel is None:
                continue
            def variant(newsel, p=p, t=t):
                np = json.loads(json.dumps(perms))
                if newsel is None:
                    np[p][t] = {}
                else:
                    np[p][t]["select"] = newsel
                return np
            yield variant(None)
            if sel["filter"]:
                yield variant(dict(sel, filter={}))
                for w in shrink_where(sel["filter"]):
                    yield variant(dict(sel, filter=w))
            for c in sel["columns"]:
                if c not in KEYS[t]:
                    yield variant(dict(sel, columns=[x for x in sel["columns"] if x != c]))
            for k in ("limit", "allow_aggregations", "computed_fields"):
                if k in sel:
                    yield variant({x: y for x, y in sel.items() if x != k})


def render_args(args):
    if not args:
        return ""
    parts = []
    for k in ("where", "order_by", "distinct_on", "limit", "offset"):
        if k in args:
            val = args[k]
            if k == "distinct_on":
                val = [Enum(c) for c in val]
            parts.append(f"{k}: {gql_value(val)}")
    return "(" + ", ".join(parts) + ")"


def render_fields(fs):
    out = []
    for f in fs:
        if isinstance(f, str):
            out.append(f)
        elif f[0] == "obj":
            out.append(f"{f[1]} {render_fields(f[2])}")
        elif f[0] in ("arr", "setof"):
            out.append(f"{f[1]}{render_args(f[2])} {render_fields(f[3])}")
        elif f[0] == "agg":
            out.append(f"{f[1]}_aggregate{render_args(f[2])} {render_agg(f[3])}")
    return "{ " + " ".join(out) + " }"


def render_agg(spec):
    parts = []
    by_fn = {}
    for a in spec["aggregate"]:
        if a == "count":
            parts.append("count")
        elif a[0] == "count":
            parts.append(f"count_{a[1]}: count(columns: [{a[1]}])")
        else:
            by_fn.setdefault(a[0], []).append(a[1])
    for fn, cs in by_fn.items():
        parts.append(f"{fn} {{ {' '.join(cs)} }}")
    s = "{ aggregate { " + " ".join(parts) + " }"
    if spec.get("nodes") is not None:
        s += " nodes " + render_fields(spec["nodes"])
    return s + " }"


# ---------------------------------------------------------------------------------------------
# Comparison


def compare(exp, got, path="data"):
    """None if got matches exp, else (symptom, path, expected, got)."""
    d = compare1(exp, got, path)
    if d and d[0] == "hidden cell revealed" and any(d[1].endswith("." + cf) for cfs in COMPUTED.values() for cf in cfs):
        d = ("hidden computed field value revealed",) + d[1:]
    return d


def compare1(exp, got, path="data"):
    if isinstance(exp, AggApprox):
        if not isinstance(got, dict):
            return ("aggregate shape", path, dict(exp), got)
        ec, gc = exp["aggregate"].get("count"), (got.get("aggregate") or {}).get("count")
        if ec is not None and (gc is None or gc > ec):
            return ("aggregate count over hidden cells/rows", path + ".aggregate.count", ec, gc)
        if "nodes" in exp:
            ids = {n["id"] for n in exp["nodes"]}
            for n in got.get("nodes") or []:
                if n.get("id") not in ids:
                    return ("invisible row in aggregate nodes", path + ".nodes", sorted(ids), n)
        return None
    if isinstance(exp, Approx) and not exp.exact:
        if not isinstance(got, list):
            return ("list shape", path, list(exp), got)
        if len(got) > exp.limit:
            return ("more rows than the role's limit", path, exp.limit, len(got))
        byid = {e["id"]: e for e in exp}
        for g in got:
            if not isinstance(g, dict) or g.get("id") not in byid:
                return ("invisible or non-matching row returned", path, sorted(byid), g)
            d = compare(byid[g["id"]], g, f"{path}[id={g['id']}]")
            if d:
                return d
        return None
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            if got is None:
                return ("visible object missing", path, exp, got)
            return ("shape", path, exp, got)
        for k, e in exp.items():
            if k not in got:
                return ("field missing", f"{path}.{k}", e, None)
            if k in ("aggregate",):
                d = compare_agg(e, got[k], f"{path}.{k}")
            else:
                d = compare(e, got[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(exp, list):
        if not isinstance(got, list):
            return ("shape", path, exp, got)
        eids = [e.get("id") if isinstance(e, dict) else e for e in exp]
        gids = [g.get("id") if isinstance(g, dict) else g for g in got]
        if eids != gids:
            extra = [g for g in gids if g not in eids]
            if extra:
                return ("invisible or non-matching row returned", path, eids, gids)
            missing = [e for e in eids if e not in gids]
            if missing:
                return ("visible matching row missing", path, eids, gids)
            return ("row order", path, eids, gids)
        for e, g, i in zip(exp, got, eids):
            d = compare(e, g, f"{path}[id={i}]")
            if d:
                return d
        return None
    if exp is None and got is not None:
        if isinstance(got, dict):
            return ("invisible object returned", path, exp, got)
        return ("hidden cell revealed", path, exp, got)
    if exp != got or type(exp) is not type(got) and not (isinstance(exp, int) and isinstance(got, int)):
        return ("cell value", path, exp, got)
    return None


def compare_agg(exp, got, path):
    if not isinstance(got, dict):
        return ("aggregate shape", path, exp, got)
    for k, e in exp.items():
        g = got.get(k)
        if isinstance(e, dict):
            for c, ev in e.items():
                gv = (g or {}).get(c)
                if gv != ev:
                    return (f"aggregate {k}() over hidden cells/rows", f"{path}.{k}.{c}", ev, gv)
        elif g != e:
            return (f"aggregate {k} over hidden cells/rows", f"{path}.{k}", e, g)
    return None


# ---------------------------------------------------------------------------------------------
# The run


class Ctx:
    def __init__(self, admin, app, sch, data, computed, base_md):
        self.admin, self.app, self.sch, self.data = admin, app, sch, data
        self.computed, self.base_md = computed, base_md
        self.perms = None
        self.cache = {}

    def set_perms(self, perms):
        with TIMER("metadata"):
            self._set_perms(perms)

    def _set_perms(self, perms):
        self.perms = perms
        self.cache = {}
        res = self.admin.execute("SELECT graphql.metadata(%s::json)::text", (json.dumps(metadata_request(self.base_md, perms)),)).fetchone()[0]
        res = json.loads(res)
        if not (isinstance(res, dict) and res.get("message") == "success") and not (isinstance(res, dict) and "error" not in res):
            raise RuntimeError(f"replace_metadata failed: {res}")

    def passing(self, role, t, kind, sess):
        key = (role, t, kind, tuple(sorted(sess.items())))
        if key not in self.cache:
            TIMER.count("oracle")
            f = self.perms[role][t][kind]["filter"]
            pred = sql_pred(self.sch, t, f, "r", sess)
            ids = [x for (x,) in self.admin.execute(f"SELECT r.id FROM public.{t} r WHERE coalesce({pred}, false)").fetchall()]
            self.cache[key] = set(ids)
        return self.cache[key]

    def check_rows(self, t, f, rows, sess):
        """For each hypothetical row of t (dicts with every column): does filter f pass?"""
        cols = [c for c, _, _ in TABLES[t]]
        values = ", ".join("(" + ", ".join(lit(r[c], COLTYPE[t][c]) for c in cols) + ")" for r in rows)
        pred = sql_pred(self.sch, t, f, "r", sess)
        q = f"SELECT {pred} FROM (VALUES {values}) AS r({', '.join(cols)})"
        return [x for (x,) in self.admin.execute(q).fetchall()]

    def reconnect(self):
        for name in ("admin", "app"):
            conn = getattr(self, name)
            try:
                conn.close()
            except Exception:
                pass
        for _ in range(30):
            try:
                self.admin = psycopg.connect(self.dsn_admin, autocommit=True)
                self.app = connect_app(self.dsn_app, self.timeout_ms)
                return
            except psycopg.OperationalError:
                time.sleep(1)
        raise RuntimeError("cannot reconnect to the server")

    def resolve(self, query, sess):
        with TIMER("resolve"):
            return self._resolve(query, sess)

    def _resolve(self, query, sess):
        r = self.app.execute("SELECT graphql.resolve(%s, NULL, %s::json)::text", (query, json.dumps(sess))).fetchone()[0]
        return json.loads(r)


def gen_mutation(rng, ctx, gen, role, sess):
    """(kind, table, graphql, expected) with expected = ('error',) or ('ok', after_rows, affected)."""
    perms = ctx.perms[role]
    opts = [(t, k) for t in MUTABLE for k in ("insert", "update", "delete", "upsert")
            if (k != "upsert" and k in perms[t]) or (k == "upsert" and "insert" in perms[t] and "update" in perms[t])]
    if not opts:
        return None
    t, kind = rng.choice(opts)
    sel = perms[t]["select"]
    data = ctx.data[t]
    before = {i: dict(r) for i, r in data.items()}
    ret = "returning { " + " ".join(sel["columns"]) + " }"
    if kind in ("update", "delete"):
        by_pk = rng.random() < .3
        if by_pk:
            pk = rng.choice(sorted(data))
            where = {"id": {"_eq": pk}}
        else:
            where = gen.atom(t, sel["columns"], allow_session=False) if rng.random() < .8 else {}
        pre = ctx.passing(role, t, kind, sess)
        view_like = [i for i in sorted(data) if i in pre and (not where or and3(cmp_op(op, data[i][c], x) for c, ops in where.items() for op, x in ops.items()) is True)]
        cols = " ".join(sel["columns"])
        if kind == "delete":
            after = {i: r for i, r in before.items() if i not in view_like}
            if by_pk:
                return "delete_by_pk", t, f"mutation {{ delete_{t}_by_pk(id: {pk}) {{ {cols} }} }}", ("ok", after, view_like)
            q = f"mutation {{ delete_{t}(where: {gql_value(where)}) {{ affected_rows {ret} }} }}"
            return kind, t, q, ("ok", after, view_like)
        c = rng.choice(perms[t]["update"]["columns"])
        newval = new_value(rng, ctx, t, c)
        after = {i: dict(r) for i, r in before.items()}
        for i in view_like:
            after[i][c] = newval
        if by_pk:
            kind = "update_by_pk"
            q = f"mutation {{ update_{t}_by_pk(pk_columns: {{id: {pk}}}, _set: {{{c}: {gql_value(newval)}}}) {{ {cols} }} }}"
        else:
            q = f"mutation {{ update_{t}(where: {gql_value(where)}, _set: {{{c}: {gql_value(newval)}}}) {{ affected_rows {ret} }} }}"
        verdicts = ctx.check_rows(t, perms[t]["update"]["check"], [after[i] for i in view_like], sess) if view_like else []
        return kind, t, q, check_outcome(verdicts, after, view_like)
    # insert / upsert
    objs = []
    n = rng.randint(1, 2)
    used = set()
    for _ in range(n):
        if kind == "upsert" and rng.random() < .75:
            i = rng.choice([x for x in sorted(data) if x not in used])
        else:
            i = rng.choice([x for x in range(100, 110) if x not in used])
        used.add(i)
        o = {c: new_value(rng, ctx, t, c) for c, _, _ in TABLES[t] if c != "id"} | {"id": i}
        for c, v in perms[t]["insert"].get("set", {}).items():
            o[c] = session_value(v, sess)  # a preset: not part of the input, set from the session
        objs.append(o)
    after = {i: dict(r) for i, r in before.items()}
    touched = []
    inserted, updated = [], []
    if kind == "upsert":
        upd_cols = [c for c in perms[t]["update"]["columns"] if rng.random() < .6] or [perms[t]["update"]["columns"][0]]
        pre = ctx.passing(role, t, "update", sess)
        for o in objs:
            if o["id"] in before:
                if o["id"] in pre:
                    for c in upd_cols:
                        after[o["id"]][c] = o[c]
                    updated.append(after[o["id"]])
                    touched.append(o["id"])
            else:
                after[o["id"]] = dict(o)
                inserted.append(o)
                touched.append(o["id"])
        oc = f", on_conflict: {{constraint: {t}_pkey, update_columns: [{', '.join(upd_cols)}]}}"
    else:
        for o in objs:
            after[o["id"]] = dict(o)
            inserted.append(o)
            touched.append(o["id"])
        oc = ""
    verdicts = (ctx.check_rows(t, perms[t]["insert"]["check"], inserted, sess) if inserted else []) + \
        (ctx.check_rows(t, perms[t]["update"]["check"], updated, sess) if updated else [])
    presets = perms[t]["insert"].get("set", {})
    inputs = [{c: v for c, v in o.items() if c not in presets} for o in objs]
    q = f"mutation {{ insert_{t}(objects: {gql_value(inputs)}{oc}) {{ affected_rows {ret} }} }}"
    return kind, t, q, check_outcome(verdicts, after, touched)


def check_outcome(verdicts, after, touched):
    """A false check fails the mutation. A check that is NULL (unknown) for some row is left open:
    Hasura's coalesce(bool_and(check), true) lets it pass, a CASE WHEN check lets it fail, and we
    do not rely on either; then only "nothing but the allowed rows changed" is asserted."""
    if any(v is False for v in verdicts):
        return ("error",)
    if any(v is None for v in verdicts):
        return ("either", after, touched)
    return ("ok", after, touched)


def new_value(rng, ctx, t, c):
    ty = COLTYPE[t][c]
    if (t, c) in FKS:
        vals = sorted(ctx.data[FKS[(t, c)]])
        return None if NULLABLE[t][c] and rng.random() < .15 else rng.choice(vals)
    if NULLABLE[t][c] and rng.random() < .2:
        return None
    if ty == "text":
        return rng.choice(WORDS)
    if ty == "bool":
        return rng.choice([True, False])
    return rng.randint(0, 9) * (100 if c == "budget" else 1)


def read_table(conn, t):
    cols = [c for c, _, _ in TABLES[t]]
    return {r[0]: dict(zip(cols, r)) for r in conn.execute(f"SELECT {', '.join(cols)} FROM public.{t} ORDER BY id").fetchall()}


def run_mutation(ctx, m, sess):
    kind, t, q, exp = m
    with ctx.app.transaction(force_rollback=True):
        resp = ctx.resolve(q, sess)
        after = read_table(ctx.app, t)
    errors = resp.get("errors")
    if exp[0] == "either":
        if errors:
            exp = ("error",)
        else:
            exp = ("ok",) + exp[1:]
    if exp[0] == "error":
        if not errors:
            changed = sorted(i for i in set(after) | set(ctx.data[t]) if after.get(i) != ctx.data[t].get(i))
            return ("check violation not enforced", f"{t} rows changed: {changed}", "permission-error", resp)
        code = errors[0].get("extensions", {}).get("code")
        if code not in ("permission-error",):
            return ("check failure gives another error", "errors", "permission-error", errors)
        if after != ctx.data[t]:
            changed = sorted(i for i in set(after) | set(ctx.data[t]) if after.get(i) != ctx.data[t].get(i))
            return ("failed mutation left rows written", f"{t} rows changed: {changed}", "no change", errors)
        return None
    if errors:
        return ("unexpected error", "errors", "success", errors)
    _, want, touched = exp
    for i in sorted(set(after) | set(want)):
        if after.get(i) != want.get(i):
            before = ctx.data[t].get(i)
            sym = "row outside the permission touched" if i not in touched else "allowed row not changed as asked"
            return (sym, f"{t} id={i}", {"before": before, "expected": want.get(i)}, after.get(i))
    body = resp["data"][next(iter(resp["data"]))]
    if kind.endswith("_by_pk"):
        # The row when the mutation touched it (or null: its select filter may hide it), else null.
        if body is None:
            return None
        if body.get("id") not in touched:
            return ("by_pk mutation answers a row it did not touch", "data", None, body)
        row = after.get(body["id"]) or ctx.data[t][body["id"]]
        for c, v in body.items():
            if row.get(c) != v:
                return ("returning value differs from the row", f"data.{c}", row.get(c), v)
        return None
    if body["affected_rows"] != len(touched):
        return ("affected_rows", "affected_rows", len(touched), body["affected_rows"])
    for r in body.get("returning", []):
        if r.get("id") not in touched:
            return ("returning holds a row the mutation did not touch", "returning", touched, r)
        for c, v in r.items():
            if after.get(r["id"], {}).get(c, v) != v:
                return ("returning value differs from the row", f"returning id={r['id']}.{c}", after[r["id"]].get(c), v)
    return None


def connect_app(dsn, timeout_ms):
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f"SET statement_timeout = {int(timeout_ms)}")
    return conn


def run_query(ctx, view, q, sess):
    exp = expect_query(view, q)
    resp = ctx.resolve(render_query(q), sess)
    if "errors" in resp:
        return ("query error", "errors", "data", resp["errors"])
    return compare(exp, resp.get("data"))


def guarded(ctx, fn):
    """Run one case; a lost connection (a crashed backend) is a failure, and we reconnect."""
    try:
        return fn()
    except psycopg.errors.QueryCanceled as e:
        return ("slow", "", "", str(e).strip()[:100])
    except psycopg.OperationalError as e:
        ctx.reconnect()
        return ("server error or crash", "", "an answer", str(e).strip()[:300])
    except psycopg.Error as e:
        return ("database error", "", "an answer", str(e).strip()[:300])


def shrink(ctx, perms, role, sess, q, diff, key, rk, kind):
    """Greedy: drop parts of the query, then of the permissions, then of the query again, while
    the failure keeps its class. Bounded: a permission candidate costs a metadata reload."""
    def same(cand_q):
        try:
            view = View(ctx, role, sess)
            expect_query(view, cand_q)
        except (KeyError, TypeError):
            return None  # the candidate uses something the shrunk permissions no longer grant
        d = guarded(ctx, lambda: run_query(ctx, view, cand_q, sess))
        return d if d and f"{rk} role, {cand_q[0]}: {d[0]}" == key else None
    best_p = perms
    for phase, budget in (("query", 40), ("perms", 25), ("query", 20)):
        improved = True
        while improved and budget > 0:
            improved = False
            cands = shrink_query(q) if phase == "query" else shrink_perms(best_p, role)
            for c in cands:
                budget -= 1
                if budget <= 0:
                    break
                if phase == "query":
                    d = same(c)
                    if d:
                        q, diff, improved = c, d, True
                        break
                else:
                    try:
                        ctx.set_perms(c)
                    except Exception:
                        continue
                    d = same(q)
                    if d:
                        best_p, diff, improved = c, d, True
                        break
        if phase == "perms" and ctx.perms is not best_p:
            ctx.set_perms(best_p)
    if ctx.perms is not perms:
        ctx.set_perms(perms)
    return q, best_p, diff


def perm_summary(perms, role, tables, kinds=("select",)):
    parents = INHERITED.get(role, [role])
    out = {}
    for p in parents:
        out[p] = {t: {k: v for k, v in perms[p][t].items() if k in kinds} for t in tables
                  if any(k in kinds for k in perms[p].get(t, {}))}
    if role in INHERITED:
        out["inherited"] = {role: parents}
    return out


def tables_of(q, sch):
    """The tables a query AST reads: its root and every relationship it follows."""
    seen = set()

    def where(t, w):
        seen.add(t)
        for k, v in w.items():
            if k in ("_and", "_or"):
                for x in v:
                    where(t, x)
            elif k == "_not":
                where(t, v)
            elif k in sch.obj[t] or k in sch.arr[t]:
                where((sch.obj[t].get(k) or sch.arr[t][k])[0], v)
            elif k in COMPUTED.get(t, {}) and COMPUTED[t][k][0] == "setof":
                where(COMPUTED[t][k][2], v)

    def args(t, a):
        where(t, a.get("where", {}))
        for item in a.get("order_by", []):
            for k in item:
                if k in sch.obj[t]:
                    seen.add(sch.obj[t][k][0])
                elif k.endswith("_aggregate"):
                    seen.add(sch.arr[t][k[:-len("_aggregate")]][0])

    def fields(t, fs):
        seen.add(t)
        for f in fs:
            if isinstance(f, tuple):
                if f[0] == "obj":
                    fields(sch.obj[t][f[1]][0], f[2])
                elif f[0] in ("arr", "setof", "agg"):
                    tt = sch.arr[t][f[1]][0] if f[0] != "setof" else COMPUTED[t][f[1]][2]
                    args(tt, f[2])
                    fields(tt, f[3] if f[0] != "agg" else (f[3].get("nodes") or []))

    kind, t, s = q
    seen.add(t)
    args(t, s.get("args", {}))
    fields(t, s.get("fields") or (s.get("agg", {}).get("nodes") or []))
    return sorted(seen)


STATS = {"passed": 0, "failed": 0}


class _Timer:
    """Where the time goes (printed with --verbose)."""

    def __init__(self):
        self.total, self.n, self.cur = {}, {}, []

    def __call__(self, name):
        self.cur.append(name)
        return self

    def __enter__(self):
        self.t = getattr(self, "t", [])
        self.t.append(time.time())

    def __exit__(self, *exc):
        name = self.cur.pop()
        self.total[name] = self.total.get(name, 0) + time.time() - self.t.pop()
        self.n[name] = self.n.get(name, 0) + 1

    def count(self, name):
        self.n[name] = self.n.get(name, 0) + 1

    def report(self):
        return ", ".join(f"{k}: {self.n[k]} calls" + (f" {self.total[k]:.1f}s" if k in self.total else "") for k in sorted(self.n))


TIMER = _Timer()
COVERAGE = {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn-admin", required=True)
    ap.add_argument("--dsn-app", required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--cases", type=int, default=1500)
    ap.add_argument("--per-epoch", type=int, default=25, help="cases per random permission set")
    ap.add_argument("--setup", action="store_true", help="create the fixture, then exit")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--timeout-ms", type=int, default=1000,
                    help="a case whose statement runs longer is skipped and reported as slow")
    ap.add_argument("--no-shrink", action="store_true", help="report failures as found, unshrunk")
    a = ap.parse_args()

    admin = psycopg.connect(a.dsn_admin, autocommit=True)
    if a.setup:
        setup(admin)
        return 0
    app = connect_app(a.dsn_app, a.timeout_ms)
    data = {t: read_table(admin, t) for t in TABLES}
    computed = {"tasks": {"weight": dict(admin.execute("SELECT id, task_weight(t) FROM tasks t").fetchall())},
                "projects": {"urgent_tasks": {i: ids or [] for i, ids in admin.execute(
                    "SELECT p.id, array(SELECT u.id FROM project_urgent_tasks(p) u ORDER BY u.id) FROM projects p").fetchall()}}}
    base_md = json.loads(admin.execute("SELECT graphql.export_metadata()::text").fetchone()[0])
    sch = Schema(base_md)
    ctx = Ctx(admin, app, sch, data, computed, base_md)
    ctx.dsn_admin, ctx.dsn_app, ctx.timeout_ms = a.dsn_admin, a.dsn_app, a.timeout_ms
    rng = random.Random(a.seed)
    gen = Gen(rng, sch, data)
    passed = failed = 0
    slow = []
    classes = {}
    t0 = time.time()
    case = 0
    while case < a.cases:
        perms = gen.permissions()
        ctx.set_perms(perms)
        for _ in range(min(a.per_epoch, a.cases - case)):
            case += 1
            role = rng.choice(PLAIN + list(INHERITED) + list(INHERITED))
            sess = {"x-hasura-role": role, "x-hasura-user-id": str(rng.randint(1, 8)),
                    "x-hasura-tenant-id": str(rng.choice([1, 2]))}
            view = View(ctx, role, sess)
            q = None
            if role in PLAIN and rng.random() < .3:
                m = gen_mutation(rng, ctx, gen, role, sess)
                if m is None:
                    case -= 1
                    continue
                diff = guarded(ctx, lambda: run_mutation(ctx, m, sess))
                kind, query, tables = "mutation " + m[0], m[2], [m[1]]
                kinds = ("select", "insert", "update") if m[0] == "upsert" else ("select", m[0].replace("_by_pk", ""))
            else:
                q = QueryGen(rng, view, gen).query()
                if q is None:
                    case -= 1
                    continue
                diff = guarded(ctx, lambda: run_query(ctx, view, q, sess))
                kind, query, tables = q[0], render_query(q), tables_of(q, sch)
                kinds = ("select",)
            cov = f"{'inherited' if role in INHERITED else 'plain'} {kind}"
            COVERAGE[cov] = COVERAGE.get(cov, 0) + 1
            if diff is not None and diff[0] == "slow":
                slow.append((query, sess, perm_summary(perms, role, tables, kinds) if not slow else None))
                continue
            if diff is None:
                passed += 1
                STATS["passed"] = passed
                continue
            failed += 1
            STATS["failed"] = failed
            rk = "inherited" if role in INHERITED else "plain"
            key = f"{rk} role, {kind}: {diff[0]}"
            if key in classes:
                repro, n = classes[key]
                classes[key] = (repro, n + 1)
                continue
            p_used = perms
            if q is not None and not a.no_shrink and len(classes) < 12:
                q, p_used, diff = shrink(ctx, perms, role, sess, q, diff, key, rk, kind)
                query, tables = render_query(q), tables_of(q, sch)
            symptom, path, e, g = diff
            classes[key] = ({"permissions": perm_summary(p_used, role, tables, kinds), "session": sess, "query": query,
                             "at": path, "expected": e, "got": g}, 1)
            if a.verbose:
                print(f"FAIL case {case}: {key}\n  {json.dumps(classes[key][0], default=str)}", flush=True)
        if a.verbose and case % 100 < a.per_epoch:
            print(f"  ... {case} cases, {passed} passed, {failed} failed, {time.time() - t0:.0f}s", flush=True)
    for key in sorted(classes):
        repro, n = classes[key]
        print(f"FAILURE CLASS [{n}x] {key}")
        print("  permissions: " + json.dumps(repro["permissions"]))
        print("  session:     " + json.dumps(repro["session"]))
        print("  query:       " + repro["query"])
        print(f"  at {repro['at']}: expected {json.dumps(repro['expected'], default=str)}")
        print(f"  {' ' * len(repro['at'])}     got      {json.dumps(repro['got'], default=str)}")
    if slow:
        print(f"SLOW: {len(slow)} cases ran longer than {a.timeout_ms} ms and were skipped (not counted), e.g.")
        print(f"  permissions: {json.dumps(slow[0][2])}\n  session: {json.dumps(slow[0][1])}\n  query:   {slow[0][0]}")
    print(f"seed {a.seed}, {a.cases} cases in {time.time() - t0:.1f}s, {len(classes)} failure classes")
    if a.verbose:
        print("time: " + TIMER.report())
        print("cases: " + ", ".join(f"{k} {n}" for k, n in sorted(COVERAGE.items())))
    print(f"permissions: {passed} passed, {failed} failed")
    return 1 if failed else 0


def setup(admin):
    rng = random.Random(20261201)
    data = gen_data(rng)
    admin.execute(FIXTURE_SQL)
    for t in TABLES:
        cols = [c for c, _, _ in TABLES[t]]
        for r in data[t].values():
            admin.execute(f"INSERT INTO public.{t} ({', '.join(cols)}) VALUES ({', '.join(lit(r[c]) for c in cols)})")
    admin.execute("CREATE EXTENSION IF NOT EXISTS graft")
    res = admin.execute("SELECT graphql.track_all('public')::text").fetchone()[0]
    for t, cfs in COMPUTED.items():
        for name, (_, fn, _) in cfs.items():
            r = admin.execute("SELECT graphql.metadata(%s::json)::text", (json.dumps(
                {"type": "pg_add_computed_field", "args": {"table": t, "name": name, "definition": {"function": fn}}}),)).fetchone()[0]
            if "error" in json.loads(r):
                raise RuntimeError(f"pg_add_computed_field {name}: {r}")
    admin.execute("CREATE ROLE perm_app LOGIN")
    admin.execute("GRANT USAGE ON SCHEMA graphql TO perm_app")
    admin.execute("GRANT EXECUTE ON FUNCTION graphql.resolve(text, json, json, text) TO perm_app")
    admin.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO perm_app")
    print(f"fixture: {sum(len(v) for v in data.values())} rows; track_all: {res[:200]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"permissions: {STATS['passed']} passed, {STATS['failed'] + 1} failed")
        sys.exit(1)
