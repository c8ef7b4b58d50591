//! Queries: root fields, lists, by-pk lookups, aggregates, relationships and computed fields,
//! all nested into one statement.
//!
//! A list of rows of table T compiles to
//! ```sql
//! (SELECT coalesce(json_agg(<row json over _o> ORDER BY _o."graft.o0" …), '[]')
//!  FROM (SELECT _i."col" …, <order keys> AS "graft.oN", <whole-row values> AS "graft.cN"
//!        FROM T AS _i WHERE <link to parent> AND <where> ORDER BY … LIMIT n OFFSET m) AS _o)
//! ```
//! The inner query picks the rows (filter, order, limit) and everything that needs the table's
//! whole row (computed fields); the outer one builds JSON only for the rows that survive. A
//! single object (object relationship, by-pk) reads the table directly.

use indexmap::IndexMap;
use serde_json::Value;

use super::filter::count_expr;
use super::json_object;
use super::params::Params;
use crate::error::GqlError;
use crate::request::input::{Arg, In, Source};
use crate::request::{SelField, Session, StreamCursor};
use crate::schema::model::{ComputedReturn, FieldKind, RelKindInfo, Schema, TableInfo};
use crate::schema::names::{quote_ident, quote_literal, quote_qualified};

/// Maximum nesting of generated subqueries (relationships, boolean expressions); bounds
/// recursion so no input can exhaust the backend's stack.
const MAX_NESTING: usize = 200;
/// Ordering keys one field may have: each is a target-list entry, and PostgreSQL allows 1,664.
pub const MAX_ORDER_KEYS: usize = 1000;
/// Relationships one boolean expression may go through, one inside the other. Each is an
/// `EXISTS` sublink, and PostgreSQL's planning time grows steeply with their nesting (about
/// 0.7 s at 48, over 10 s at 126, measured by tests/hostile): a bound keeps a request from
/// holding a backend, far above what real filters use.
pub const MAX_FILTER_HOPS: usize = 32;

pub struct Ctx<'s> {
    pub schema: &'s Schema,
    pub params: Params,
    pub session: &'s Session,
    next_alias: usize,
    depth: usize,
    /// Relationships a boolean expression goes through, nested (see [`MAX_FILTER_HOPS`]).
    pub(super) filter_hops: usize,
    /// Compiling a permission expression: trusted, so relationships inside it are not
    /// filtered again by the target's permission.
    pub(super) in_permission: bool,
    /// The table (index, row alias) the permission expression being compiled belongs to:
    /// what a column comparison's `["$", column]` refers to, however deep inside
    /// relationships and `_exists` the comparison is.
    pub(super) bool_root: Option<(usize, String)>,
    /// Conditions of redacted cells already compiled, by (table, row alias, cell filter):
    /// see [`Ctx::cell`].
    pub(super) cell_conds: std::collections::HashMap<(usize, String, String), Option<String>>,
    /// While compiling the permission checks of a write statement: tables that statement
    /// writes, by index, with the SQL of the rows as the statement leaves them (see
    /// `mutation::overlay`). Boolean expressions read these instead of the table, because the
    /// statement's snapshot cannot see its own writes.
    pub(super) overlay: std::collections::HashMap<usize, String>,
}

pub enum Generated {
    /// SQL returning the whole response as one `json` value; `sources`: where each parameter
    /// comes from.
    Sql { sql: String, params: Vec<Option<String>>, sources: Vec<Source>, guarded: bool, stream: Option<StreamCursor> },
    /// The response, computed without the database.
    Json(Value),
}

/// Where row values come from while building a row's JSON.
pub(super) struct RowCtx {
    /// Alias whose columns the JSON reads.
    outer: String,
    /// Alias of the table itself inside the row-picking subquery, when there is one; whole-row
    /// expressions are evaluated there and exposed as extra columns.
    inner: Option<String>,
    cols: Vec<String>,
    extra: Vec<(String, String)>,
    /// Cast for the whole-row reference when the row comes from a CTE, not the table.
    row_cast: Option<String>,
}

impl RowCtx {
    /// Rows of a CTE shaped like table `table_sql` (mutation RETURNING).
    pub(super) fn returning(alias: &str, table_sql: &str) -> Self {
        let mut rc = RowCtx::direct(alias);
        rc.row_cast = Some(format!("({alias}::{table_sql})"));
        rc
    }
    pub(super) fn direct(alias: &str) -> Self {
        RowCtx { outer: alias.into(), inner: None, cols: vec![], extra: vec![], row_cast: None }
    }
    pub(super) fn sub(outer: &str, inner: &str) -> Self {
        RowCtx { outer: outer.into(), inner: Some(inner.into()), cols: vec![], extra: vec![], row_cast: None }
    }
    /// Reference to a column of the current row.
    fn col(&mut self, name: &str) -> String {
        if self.inner.is_some() && !self.cols.iter().any(|c| c == name) {
            self.cols.push(name.to_string());
        }
        format!("{}.{}", self.outer, quote_ident(name))
    }
    /// The alias naming the table row, for whole-row expressions.
    fn row_alias(&self) -> &str {
        if let Some(c) = &self.row_cast {
            return c;
        }
        self.inner.as_deref().unwrap_or(&self.outer)
    }
    /// Evaluate `expr` (over `row_alias`) per row; returns how to read it from the JSON side.
    pub(super) fn whole_row(&mut self, expr: String) -> String {
        if self.inner.is_none() {
            return expr;
        }
        let name = format!("graft.c{}", self.extra.len());
        let r = format!("{}.{}", self.outer, quote_ident(&name));
        self.extra.push((name, expr));
        r
    }
}

/// Rows picked from a table: alias names and the clauses of the inner query.
pub(super) struct RowsQuery {
    from: String,
    pub(super) inner: String,
    pub(super) outer: String,
    pub(super) conds: Vec<String>,
    /// (expression over `inner`, direction SQL)
    pub(super) order: Vec<(String, &'static str)>,
    distinct: Vec<String>,
    pub(super) limit: Option<i64>,
    offset: Option<i64>,
    /// `FETCH FIRST <count> ROWS WITH TIES` instead of `LIMIT` (streaming subscriptions):
    /// the count expression, whose rows are followed by every row tying with the last.
    pub(super) with_ties: Option<String>,
}

impl RowsQuery {
    pub(super) fn inner_sql(&self, rc: &RowCtx) -> String {
        let mut sel: Vec<String> = rc.cols.iter().map(|c| format!("{}.{}", self.inner, quote_ident(c))).collect();
        for (i, (e, _)) in self.order.iter().enumerate() {
            sel.push(format!("{e} AS {}", quote_ident(&format!("graft.o{i}"))));
        }
        for (n, e) in &rc.extra {
            sel.push(format!("{e} AS {}", quote_ident(n)));
        }
        let mut s = String::from("SELECT ");
        if !self.distinct.is_empty() {
            s.push_str(&format!("DISTINCT ON ({}) ", self.distinct.join(", ")));
        }
        s.push_str(&sel.join(", "));
        s.push_str(&format!(" FROM {} AS {}", self.from, self.inner));
        if !self.conds.is_empty() {
            s.push_str(" WHERE ");
            s.push_str(&self.conds.join(" AND "));
        }
        // The aggregate orders the rows (`outer_order`); the inner query sorts only when that
        // decides which rows it keeps, or PostgreSQL would sort every row set twice.
        let picks_rows = self.limit.is_some() || self.offset.is_some() || !self.distinct.is_empty() || self.with_ties.is_some();
        if !self.order.is_empty() && picks_rows {
            s.push_str(" ORDER BY ");
            s.push_str(&self.order.iter().map(|(e, d)| format!("{e} {d}")).collect::<Vec<_>>().join(", "));
        }
        if let Some(n) = &self.with_ties {
            s.push_str(&format!(" FETCH FIRST {n} ROWS WITH TIES"));
        } else if let Some(l) = self.limit {
            s.push_str(&format!(" LIMIT {l}"));
        }
        if let Some(o) = self.offset {
            s.push_str(&format!(" OFFSET {o}"));
        }
        s
    }

    /// ` ORDER BY …` for the aggregate over the outer alias (empty when unordered).
    pub(super) fn outer_order(&self) -> String {
        if self.order.is_empty() {
            return String::new();
        }
        let keys: Vec<String> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, (_, d))| format!("{}.{} {d}", self.outer, quote_ident(&format!("graft.o{i}"))))
            .collect();
        format!(" ORDER BY {}", keys.join(", "))
    }
}

/// Scalars Hasura prints as strings under `stringify_numeric_types` (its `isBigNum`: bigint,
/// bigserial, numeric, float8, money; not int2/int4/float4, not arrays).
fn is_big_number(scalar: &str) -> bool {
    matches!(scalar, "bigint" | "numeric" | "float8" | "money")
}

impl Ctx<'_> {
    /// A value for the response JSON, as Hasura's `toJSONableExp` makes it: under
    /// `stringify_numeric_types`, one whose type is a big number ([`is_big_number`]) is sent as
    /// its text. `scalar` is the type that decides: the column's (also for every aggregate of
    /// it, `avg` and `stddev` included, whatever Postgres returns) or the computed field's.
    pub(super) fn json_value(&self, expr: String, scalar: &str, is_array: bool) -> String {
        if self.session.stringify_numeric && !is_array && is_big_number(scalar) {
            format!("({expr})::text")
        } else {
            expr
        }
    }
}

fn direction(v: &str) -> &'static str {
    match v {
        "asc_nulls_first" => "ASC NULLS FIRST",
        "desc" | "desc_nulls_first" => "DESC NULLS FIRST",
        "desc_nulls_last" => "DESC NULLS LAST",
        _ => "ASC NULLS LAST",
    }
}

pub(super) fn table_sql(t: &TableInfo) -> String {
    quote_qualified(&t.name.schema, &t.name.name)
}

impl Ctx<'_> {
    /// What a boolean expression reads the rows of table `ti` from: the table, or its overlay
    /// while compiling a write statement's checks.
    pub(super) fn rows_source(&self, ti: usize) -> String {
        match self.overlay.get(&ti) {
            Some(o) => o.clone(),
            None => table_sql(&self.schema.tables[ti]),
        }
    }
}

/// Compile the root fields of a query (or subscription) operation.
pub fn compile_operation(
    schema: &Schema,
    fields: &[SelField],
    root_type: &str,
    session: &Session,
) -> Result<Generated, GqlError> {
    let mut ctx = Ctx::new(schema, session);
    if let Some(sql) = super::stream::operation(&mut ctx, fields, root_type)? {
        let (sql, stream) = sql;
        return Ok(Generated::Sql {
            sql,
            guarded: ctx.params.needs_guard,
            params: ctx.params.values,
            sources: ctx.params.sources,
            stream: Some(stream),
        });
    }
    let mut pairs = vec![];
    let mut static_data = serde_json::Map::new();
    let mut needs_db = false;
    for f in fields {
        crate::interrupt::tick()?;
        if f.name == "__typename" {
            pairs.push((f.alias.clone(), quote_literal(root_type)));
            static_data.insert(f.alias.clone(), Value::String(root_type.into()));
            continue;
        }
        let def = schema
            .object_field(root_type, &f.name)
            .ok_or_else(|| GqlError::validation(&f.path, format!("field '{}' not found in type: '{root_type}'", f.name)))?;
        let expr = match &def.kind {
            FieldKind::IntrospectionSchema | FieldKind::IntrospectionType => {
                // Introspection reads its arguments through `In` (a variable there is marked
                // read), so for a template its answer is a constant.
                let v = crate::introspection::resolve(schema, f)?;
                static_data.insert(f.alias.clone(), v.clone());
                ctx.params.json(In::constant(&v), "json")
            }
            kind => {
                needs_db = true;
                ctx.root_field(kind, f)?
            }
        };
        pairs.push((f.alias.clone(), expr));
    }
    if !needs_db {
        return Ok(Generated::Json(serde_json::json!({ "data": Value::Object(static_data) })));
    }
    let sql = format!("SELECT json_build_object('data', {})", super::json_object_root(&pairs));
    Ok(Generated::Sql { sql, guarded: ctx.params.needs_guard, params: ctx.params.values, sources: ctx.params.sources, stream: None })
}

impl<'s> Ctx<'s> {
    pub fn new(schema: &'s Schema, session: &'s Session) -> Self {
        Ctx {
            schema,
            params: Params::default(),
            session,
            next_alias: 0,
            depth: 0,
            filter_hops: 0,
            in_permission: false,
            bool_root: None,
            cell_conds: Default::default(),
            overlay: Default::default(),
        }
    }

    pub fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("_{prefix}{}", self.next_alias)
    }

    pub fn enter(&mut self) -> Result<(), GqlError> {
        crate::interrupt::tick()?;
        crate::stack::check("$")?;
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(GqlError::validation("$", "the query is nested too deeply"));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    pub(super) fn root_field(&mut self, kind: &FieldKind, f: &SelField) -> Result<String, GqlError> {
        let schema = self.schema;
        match kind {
            FieldKind::RootSelect { table } => {
                let from = table_sql(&schema.tables[*table]);
                self.list(*table, from, vec![], &f.args, &f.selection, &f.path)
            }
            FieldKind::RootAggregate { table } => {
                let from = table_sql(&schema.tables[*table]);
                self.aggregate(*table, from, vec![], &f.args, &f.selection, &f.path)
            }
            FieldKind::RootByPk { table } => self.by_pk(*table, f),
            FieldKind::RootFunction { function } | FieldKind::RootFunctionAggregate { function } => {
                let fi = &schema.functions[*function];
                let call = self.function_call(
                    &quote_qualified(&fi.name.schema, &fi.name.name),
                    &fi.args,
                    fi.session_arg_pos,
                    None,
                    fi.num_args,
                    f.arg("args"),
                    &format!("{}.args.args", f.path),
                )?;
                if matches!(kind, FieldKind::RootFunction { .. }) {
                    self.list(fi.returns_table, call, vec![], &f.args, &f.selection, &f.path)
                } else {
                    self.aggregate(fi.returns_table, call, vec![], &f.args, &f.selection, &f.path)
                }
            }
            other => Err(GqlError::new("unexpected", &f.path, format!("cannot resolve root field of kind {other:?}"))),
        }
    }

    fn by_pk(&mut self, ti: usize, f: &SelField) -> Result<String, GqlError> {
        let t = &self.schema.tables[ti];
        let a = self.alias("t");
        let mut conds = vec![];
        for &ci in &t.primary_key {
            let c = &t.columns[ci];
            let v = f.arg(&c.gql_name).unwrap_or(In::null());
            let p = self.params.scalar(v, &c.sql_type);
            let key = self.cell(ti, &a, ci)?;
            conds.push(format!("{key} = {p}"));
        }
        if let Some(pf) = self.select_filter(ti, &a)? {
            conds.push(pf);
        }
        let mut rc = RowCtx::direct(&a);
        let row = self.row_json(ti, &mut rc, &f.selection)?;
        Ok(format!("(SELECT {row} FROM {} AS {a} WHERE {})", table_sql(t), conds.join(" AND ")))
    }

    /// Pick rows of table `ti` from `from`, linked to the parent by `link` (parent expression,
    /// target column), applying where/order_by/distinct_on/limit/offset.
    pub(super) fn rows_query(
        &mut self,
        ti: usize,
        from: String,
        link: Vec<(String, String)>,
        args: &IndexMap<String, Arg>,
        path: &str,
    ) -> Result<RowsQuery, GqlError> {
        let arg = |name: &str| args.get(name).map(Arg::view);
        let schema = self.schema;
        let t = &schema.tables[ti];
        let inner = self.alias("i");
        let outer = self.alias("o");
        let mut conds = vec![];
        for (pexpr, col) in &link {
            let mine = match t.column_by_sql(col) {
                Some(ci) => self.cell(ti, &inner, ci)?,
                None => format!("{inner}.{}", quote_ident(col)),
            };
            conds.push(format!("{mine} = {pexpr}"));
        }
        if let Some(w) = arg("where").filter(|w| !w.is_null()) {
            let c = self.bool_exp(ti, &inner, w, &format!("{path}.args.where"))?;
            if c != "true" {
                conds.push(c);
            }
        }
        if let Some(f) = self.select_filter(ti, &inner)? {
            conds.push(f);
        }
        let mut order = vec![];
        if let Some(items) = arg("order_by").and_then(In::items) {
            for (i, item) in items.into_iter().enumerate() {
                self.order_keys(ti, &inner, item, &format!("{path}.args.order_by[{i}]"), &mut order)?;
            }
            // Each key is a target-list entry of the statement, and PostgreSQL allows 1,664 of
            // those (54011): refuse well before, as a request error.
            if order.len() > MAX_ORDER_KEYS {
                return Err(GqlError::validation(
                    &format!("{path}.args.order_by"),
                    format!("at most {MAX_ORDER_KEYS} order_by keys are allowed in one field, got {}", order.len()),
                ));
            }
        }
        let mut distinct = vec![];
        if let Some(cols) = arg("distinct_on").and_then(In::items) {
            for c in cols.into_iter().filter_map(|c| c.as_str()) {
                let ci = t.column_by_gql(c).ok_or_else(|| GqlError::validation(path, format!("unknown column '{c}'")))?;
                distinct.push(self.cell(ti, &inner, ci)?);
            }
            if !distinct.is_empty() {
                let given = order.len();
                let prefix_ok = distinct.iter().enumerate().all(|(i, d)| order.get(i).map(|(e, _)| e == d).unwrap_or(i >= given));
                if !prefix_ok || (given > 0 && given < distinct.len()) {
                    return Err(GqlError::validation(
                        format!("{path}.args"),
                        "\"distinct_on\" columns must match initial \"order_by\" columns",
                    ));
                }
                if given == 0 {
                    order = distinct.iter().map(|d| (d.clone(), "ASC NULLS LAST")).collect();
                }
            }
        }
        // A limit or offset is SQL text: reading a variable's here keeps the shape from a template.
        let int_arg = |name: &str| -> Result<Option<i64>, GqlError> {
            match arg(name) {
                None => Ok(None),
                Some(v) if v.is_null() => Ok(None),
                Some(v) => match v.as_i64() {
                    Some(n) if n >= 0 => Ok(Some(n)),
                    _ => Err(GqlError::validation(format!("{path}.args.{name}"), format!("unexpected negative value for '{name}'"))),
                },
            }
        };
        // The role's select limit caps the request's.
        let perm_limit = t.perms.as_ref().and_then(|p| p.select.as_ref()).and_then(|s| s.limit).map(|l| l as i64);
        let limit = match (int_arg("limit")?, perm_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(RowsQuery { from, inner, outer, conds, order, distinct, limit, offset: int_arg("offset")?, with_ties: None })
    }

    /// Append the ordering keys of one `T_order_by` object.
    fn order_keys(
        &mut self,
        ti: usize,
        alias: &str,
        item: In,
        path: &str,
        out: &mut Vec<(String, &'static str)>,
    ) -> Result<(), GqlError> {
        self.enter()?;
        let schema = self.schema;
        let t = &schema.tables[ti];
        for (key, v) in item.entries().into_iter().flatten() {
            if v.is_null() {
                continue;
            }
            let kpath = format!("{path}.{key}");
            if let Some(ci) = t.column_by_gql(key) {
                out.push((self.cell(ti, alias, ci)?, direction(v.as_str().unwrap_or("asc"))));
            } else if let Some(ri) = t.rel_by_name(key).filter(|&ri| t.relationships[ri].kind == RelKindInfo::Object) {
                let r = &t.relationships[ri];
                let x = self.alias("x");
                let link = self.rel_join(ti, r, &x, alias)?.join(" AND ");
                let mut nested = vec![];
                self.order_keys(r.target, &x, v, &kpath, &mut nested)?;
                let target = table_sql(&schema.tables[r.target]);
                for (e, d) in nested {
                    out.push((format!("(SELECT {e} FROM {target} AS {x} WHERE {link} LIMIT 1)"), d));
                }
            } else if let Some(ri) = key
                .strip_suffix("_aggregate")
                .and_then(|n| t.rel_by_name(n))
                .filter(|&ri| t.relationships[ri].kind == RelKindInfo::Array)
            {
                let r = &t.relationships[ri];
                let target_t = &schema.tables[r.target];
                let target = table_sql(target_t);
                for (op, spec) in v.entries().into_iter().flatten() {
                    let x = self.alias("x");
                    let link = self.rel_join(ti, r, &x, alias)?.join(" AND ");
                    if op == "count" {
                        out.push((format!("(SELECT count(*) FROM {target} AS {x} WHERE {link})"), direction(spec.as_str().unwrap_or("asc"))));
                        continue;
                    }
                    for (col, dir) in spec.entries().into_iter().flatten() {
                        let ci = target_t
                            .column_by_gql(col)
                            .ok_or_else(|| GqlError::validation(&kpath, format!("unknown column '{col}'")))?;
                        let cell = self.cell(r.target, &x, ci)?;
                        out.push((
                            format!("(SELECT {op}({cell}) FROM {target} AS {x} WHERE {link})"),
                            direction(dir.as_str().unwrap_or("asc")),
                        ));
                    }
                }
            } else if let Some(fi) = t.computed_by_name(key) {
                let call = self.computed_call(ti, fi, alias, None, &kpath)?;
                let call = self.computed_cell(ti, fi, alias, call)?;
                out.push((call, direction(v.as_str().unwrap_or("asc"))));
            } else {
                return Err(GqlError::validation(kpath, format!("field '{key}' not found in type: '{}_order_by'", t.type_name)));
            }
        }
        self.leave();
        Ok(())
    }

    /// A JSON array of rows.
    fn list(
        &mut self,
        ti: usize,
        from: String,
        link: Vec<(String, String)>,
        args: &IndexMap<String, Arg>,
        selection: &[SelField],
        path: &str,
    ) -> Result<String, GqlError> {
        self.enter()?;
        let q = self.rows_query(ti, from, link, args, path)?;
        let mut rc = RowCtx::sub(&q.outer, &q.inner);
        let row = self.row_json(ti, &mut rc, selection)?;
        let inner = q.inner_sql(&rc);
        self.leave();
        Ok(format!("(SELECT coalesce(json_agg({row}{}), '[]') FROM ({inner}) AS {})", q.outer_order(), q.outer))
    }

    /// A `T_aggregate` object: `aggregate { count sum {…} … }` and `nodes`.
    fn aggregate(
        &mut self,
        ti: usize,
        from: String,
        link: Vec<(String, String)>,
        args: &IndexMap<String, Arg>,
        selection: &[SelField],
        path: &str,
    ) -> Result<String, GqlError> {
        self.enter()?;
        let schema = self.schema;
        let t = &schema.tables[ti];
        let mut q = self.rows_query(ti, from, link, args, path)?;
        // The role's select limit caps the rows `nodes` lists, not the rows aggregated (as in
        // Hasura): the inner query keeps only the request's own limit.
        let requested = args.get("limit").map(Arg::view).and_then(|l| l.as_i64());
        let nodes_cap = match (q.limit, requested) {
            (Some(l), Some(r)) if l < r => Some(l),
            (Some(l), None) => Some(l),
            _ => None,
        };
        q.limit = requested;
        let mut rc = RowCtx::sub(&q.outer, &q.inner);
        let mut pairs = vec![];
        for s in selection {
            let expr = match s.name.as_str() {
                "__typename" => quote_literal(&format!("{}_aggregate", t.type_name)),
                "aggregate" => {
                    let mut apairs = vec![];
                    for a in &s.selection {
                        let e = match a.name.as_str() {
                            "__typename" => quote_literal(&format!("{}_aggregate_fields", t.type_name)),
                            "count" => {
                                let mut cols = vec![];
                                let named = a.arg("columns").and_then(|c| c.items()).into_iter().flatten();
                                for ci in named.filter_map(|c| c.as_str()).filter_map(|c| t.column_by_gql(c)) {
                                    cols.push(self.row_cell(ti, &mut rc, ci)?);
                                }
                                let distinct = a.arg("distinct").and_then(|d| d.as_bool()).unwrap_or(false);
                                count_expr(&cols, distinct)
                            }
                            op => {
                                let mut opairs = vec![];
                                for c in &a.selection {
                                    let e = if c.name == "__typename" {
                                        quote_literal(&format!("{}_{op}_fields", t.type_name))
                                    } else {
                                        let ci = t
                                            .column_by_gql(&c.name)
                                            .ok_or_else(|| GqlError::validation(&c.path, "unknown column"))?;
                                        let e = format!("{op}({})", self.row_cell(ti, &mut rc, ci)?);
                                        let c = &t.columns[ci];
                                        self.json_value(e, &c.scalar, c.is_array)
                                    };
                                    opairs.push((c.alias.clone(), e));
                                }
                                json_object(&opairs)
                            }
                        };
                        apairs.push((a.alias.clone(), e));
                    }
                    json_object(&apairs)
                }
                "nodes" => {
                    let row = self.row_json(ti, &mut rc, &s.selection)?;
                    match nodes_cap {
                        Some(n) => {
                            // The first n of the ordered rows, listed as json_agg lists them.
                            let u = self.alias("n");
                            format!(
                                "(SELECT coalesce(json_agg({u}.e ORDER BY {u}.o), '[]') FROM unnest((array_agg({row}{}))[1:{n}]) WITH ORDINALITY AS {u}(e, o))",
                                q.outer_order()
                            )
                        }
                        None => format!("coalesce(json_agg({row}{}), '[]')", q.outer_order()),
                    }
                }
                other => return Err(GqlError::validation(&s.path, format!("field '{other}' not found in type: '{}_aggregate'", t.type_name))),
            };
            pairs.push((s.alias.clone(), expr));
        }
        let inner = q.inner_sql(&rc);
        self.leave();
        Ok(format!("(SELECT {} FROM ({inner}) AS {})", json_object(&pairs), q.outer))
    }

    /// JSON object of one row of table `ti`, fields in selection order.
    pub(super) fn row_json(&mut self, ti: usize, rc: &mut RowCtx, selection: &[SelField]) -> Result<String, GqlError> {
        self.enter()?;
        let schema = self.schema;
        let t = &schema.tables[ti];
        let mut pairs = vec![];
        for s in selection {
            if s.name == "__typename" {
                pairs.push((s.alias.clone(), quote_literal(&t.type_name)));
                continue;
            }
            let def = schema
                .object_field(&t.type_name, &s.name)
                .ok_or_else(|| GqlError::validation(&s.path, format!("field '{}' not found in type: '{}'", s.name, t.type_name)))?;
            let expr = match &def.kind {
                FieldKind::Column { column, .. } => {
                    let c = &t.columns[*column];
                    // Inherited roles: a cell only some parent roles may see reads as null
                    // on rows only the other parents reach.
                    let r = self.row_cell(ti, rc, *column)?;
                    let r = super::extension_ops::output(r, &c.sql_type, c.category);
                    let r = self.json_value(r, &c.scalar, c.is_array);
                    match s.arg("path").and_then(|p| p.as_str().map(|t| (p, t))) {
                        Some((from, p)) => {
                            // The path is split here: the steps are computed from the value.
                            let steps = json_path(p).map_err(|m| GqlError::validation(format!("{}.args.path", s.path), m))?;
                            let steps: Vec<Value> = steps.into_iter().map(Value::String).collect();
                            let arr = self.params.array_of(&steps, "\"pg_catalog\".\"text\"", from);
                            format!("({r} #> {arr})")
                        }
                        None => r,
                    }
                }
                FieldKind::ObjectRel { rel, .. } => {
                    let r = &t.relationships[*rel];
                    let target = &schema.tables[r.target];
                    let x = self.alias("t");
                    let mut conds = vec![];
                    for (l, rcol) in &r.mapping {
                        let theirs = match target.column_by_sql(rcol) {
                            Some(ci) => self.cell(r.target, &x, ci)?,
                            None => format!("{x}.{}", quote_ident(rcol)),
                        };
                        conds.push(format!("{theirs} = {}", self.row_cell_sql(ti, rc, l)?));
                    }
                    if let Some(pf) = self.select_filter(r.target, &x)? {
                        conds.push(pf);
                    }
                    let link = conds.join(" AND ");
                    let mut sub = RowCtx::direct(&x);
                    let row = self.row_json(r.target, &mut sub, &s.selection)?;
                    format!("(SELECT {row} FROM {} AS {x} WHERE {link} LIMIT 1)", table_sql(target))
                }
                FieldKind::ArrayRel { rel, .. } | FieldKind::ArrayRelAggregate { rel, .. } => {
                    let r = &t.relationships[*rel];
                    let mut link: Vec<(String, String)> = vec![];
                    for (l, rcol) in &r.mapping {
                        link.push((self.row_cell_sql(ti, rc, l)?, rcol.clone()));
                    }
                    let from = table_sql(&schema.tables[r.target]);
                    if matches!(def.kind, FieldKind::ArrayRel { .. }) {
                        self.list(r.target, from, link, &s.args, &s.selection, &s.path)?
                    } else {
                        self.aggregate(r.target, from, link, &s.args, &s.selection, &s.path)?
                    }
                }
                FieldKind::ComputedScalar { field, .. } => {
                    let row = rc.row_alias().to_string();
                    let call = self.computed_call(ti, *field, &row, s.arg("args"), &s.path)?;
                    let call = self.computed_cell(ti, *field, &row, call)?;
                    let call = match &t.computed_fields[*field].returns {
                        ComputedReturn::Scalar { scalar, sql_type, category } => {
                            let call = super::extension_ops::output(call, sql_type, *category);
                            self.json_value(call, scalar, false)
                        }
                        ComputedReturn::SetOf { .. } => call,
                    };
                    rc.whole_row(call)
                }
                FieldKind::ComputedSetOf { field, .. } => {
                    let row = rc.row_alias().to_string();
                    let call = self.computed_call(ti, *field, &row, s.arg("args"), &s.path)?;
                    let ComputedReturn::SetOf { table } = t.computed_fields[*field].returns else {
                        return Err(GqlError::new("unexpected", &s.path, "computed field is not a set"));
                    };
                    let list = self.list(table, call, vec![], &s.args, &s.selection, &s.path)?;
                    rc.whole_row(list)
                }
                other => return Err(GqlError::new("unexpected", &s.path, format!("cannot resolve field of kind {other:?}"))),
            };
            pairs.push((s.alias.clone(), expr));
        }
        self.leave();
        Ok(json_object(&pairs))
    }

    /// [`Ctx::cell`] of the row `rc` reads, as the JSON side reads it: a plain column, or the
    /// redacted cell evaluated where the row is (the inner query) and passed out.
    pub(super) fn row_cell(&mut self, ti: usize, rc: &mut RowCtx, ci: usize) -> Result<String, GqlError> {
        if self.in_permission || self.cell_filter(ti, ci).is_none() {
            return Ok(rc.col(&self.schema.tables[ti].columns[ci].name));
        }
        let row = rc.row_alias().to_string();
        let cell = self.cell(ti, &row, ci)?;
        Ok(rc.whole_row(cell))
    }

    /// [`Self::row_cell`] by SQL column name.
    fn row_cell_sql(&mut self, ti: usize, rc: &mut RowCtx, col: &str) -> Result<String, GqlError> {
        match self.schema.tables[ti].column_by_sql(col) {
            Some(ci) => self.row_cell(ti, rc, ci),
            None => Ok(rc.col(col)),
        }
    }

    /// `"schema"."fn"(row, args…)` for computed field `fi` of table `ti`.
    pub fn computed_call(
        &mut self,
        ti: usize,
        fi: usize,
        row_alias: &str,
        args: Option<In>,
        path: &str,
    ) -> Result<String, GqlError> {
        let cf = &self.schema.tables[ti].computed_fields[fi];
        self.function_call(
            &quote_qualified(&cf.function.schema, &cf.function.name),
            &cf.args,
            cf.session_arg_pos,
            Some((cf.table_arg_pos, row_alias)),
            cf.num_args,
            args,
            &format!("{path}.args.args"),
        )
    }

    /// A function call with positional arguments, switching to named notation after the first
    /// omitted argument that has a default.
    #[allow(clippy::too_many_arguments)]
    fn function_call(
        &mut self,
        name: &str,
        fargs: &[crate::schema::model::FunctionArg],
        session_pos: Option<usize>,
        row: Option<(usize, &str)>,
        num_args: usize,
        given: Option<In>,
        path: &str,
    ) -> Result<String, GqlError> {
        // User code: it may raise (RAISE EXCEPTION, division by zero, a missing privilege), and
        // that must become a GraphQL error, not abort the caller's transaction.
        self.params.needs_guard = true;
        let mut parts = vec![];
        let mut named = false;
        for pos in 0..num_args {
            if let Some((rp, alias)) = row {
                if rp == pos {
                    parts.push(alias.to_string());
                    continue;
                }
            }
            if session_pos == Some(pos) {
                let p = self.params.session_json(&self.session.to_json(), "\"pg_catalog\".\"json\"");
                parts.push(p);
                continue;
            }
            let Some(a) = fargs.iter().find(|a| a.position == pos) else { continue };
            match given.and_then(|g| g.get(&a.name)) {
                Some(v) => {
                    let p = self.params.scalar(v, &a.sql_type);
                    if named {
                        parts.push(format!("{} => {p}", quote_ident(&a.name)));
                    } else {
                        parts.push(p);
                    }
                }
                None if a.has_default => named = true,
                None => {
                    return Err(GqlError::validation(path, format!("missing required field '{}'", a.name)));
                }
            }
        }
        Ok(format!("{name}({})", parts.join(", ")))
    }
}

/// Hasura's `path` argument: `$.a.b[0]` (the `$.` is optional) → `["a", "b", "0"]`.
fn json_path(p: &str) -> Result<Vec<String>, String> {
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut steps = vec![];
    let mut cur = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    steps.push(std::mem::take(&mut cur));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    steps.push(std::mem::take(&mut cur));
                }
                let mut idx = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    idx.push(d);
                }
                let idx = idx.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
                if idx.is_empty() {
                    return Err(format!("invalid JSON path: {p}"));
                }
                steps.push(idx);
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        steps.push(cur);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::json_path;

    #[test]
    fn json_paths() {
        assert_eq!(json_path("$.a.b[0]").unwrap(), vec!["a", "b", "0"]);
        assert_eq!(json_path("a").unwrap(), vec!["a"]);
        assert_eq!(json_path("$[\"x\"].y").unwrap(), vec!["x", "y"]);
    }
}

#[cfg(test)]
mod dump {
    use crate::request::{compile, Compiled, Limits, Session};
    use crate::schema::build::{build_schema, tests::fixture};

    /// Writes psql scripts for a set of queries to `$GRAFT_SQLDUMP` (run with --ignored).
    #[test]
    #[ignore]
    fn dump_sql() {
        let dir = std::env::var("GRAFT_SQLDUMP").unwrap_or_else(|_| "/tmp/sqldump".into());
        std::fs::create_dir_all(&dir).unwrap();
        let (md, db) = fixture();
        let (schema, _) = build_schema(&md, &db, "admin");
        let queries = std::fs::read_to_string(format!("{dir}/queries.txt")).unwrap();
        for (i, q) in queries.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let out = match compile(&schema, q, None, None, &Session::admin(), &Limits::default()) {
                Ok(Compiled::Sql(s)) => {
                    let types = vec!["text"; s.params.len()].join(",");
                    let args: Vec<String> = s
                        .params
                        .iter()
                        .map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into()))
                        .collect();
                    let prep = if s.params.is_empty() { String::new() } else { format!("({types})") };
                    let exec = if s.params.is_empty() { String::new() } else { format!("({})", args.join(",")) };
                    format!("\\echo Q{i}: {q}\nPREPARE q{i}{prep} AS {};\nEXECUTE q{i}{exec};\n", s.sql)
                }
                Ok(Compiled::Json(v)) => format!("\\echo Q{i}: {q}\n\\echo JSON {v}\n"),
                Ok(Compiled::Mutation(plan)) => {
                    use crate::request::MutationStep;
                    let lit = |ps: &[Option<String>]| -> String {
                        ps.iter().map(|p| p.as_ref().map(|v| crate::schema::names::quote_literal(v)).unwrap_or("NULL".into())).collect::<Vec<_>>().join(",")
                    };
                    let mut out = format!("\\echo Q{i}: {q}\nBEGIN;\n");
                    for (j, f) in plan.fields.iter().enumerate() {
                        for (k, st) in f.steps.iter().enumerate() {
                            match st {
                                MutationStep::Static(s) => out.push_str(&format!("\\echo {s}\n")),
                                MutationStep::Query(s) => out.push_str(&format!("PREPARE s{j}_{k}({}) AS {};\nEXECUTE s{j}_{k}({});\n", vec!["text"; s.params.len()].join(","), s.sql, lit(&s.params))),
                                MutationStep::WriteRead { write, read } => {
                                    out.push_str(&format!("PREPARE w{j}_{k}({}) AS {};\nEXECUTE w{j}_{k}({}) \\gset\n", vec!["text"; write.params.len()].join(","), write.sql, lit(&write.params)));
                                    let rest = lit(&read.params[2..]);
                                    let sep = if rest.is_empty() { "" } else { "," };
                                    out.push_str(&format!("PREPARE r{j}_{k}({}) AS {};\nEXECUTE r{j}_{k}(:'affected', :'tids'{sep}{rest});\n", vec!["text"; read.params.len()].join(","), read.sql));
                                }
                            }
                        }
                    }
                    out.push_str("ROLLBACK;\n");
                    out.replace("PREPARE s0_0() AS", "PREPARE s0_0 AS").replace("EXECUTE s0_0()", "EXECUTE s0_0")
                }
                Err(e) => format!("\\echo Q{i}: {q}\n\\echo ERROR {}\n", e.response()),
            };
            std::fs::write(format!("{dir}/q{i:03}.sql"), out).unwrap();
        }
    }
}
