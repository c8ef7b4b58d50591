//! Streaming subscriptions (`T_stream`): the rows after a cursor, in cursor order, at most
//! `batch_size` of them plus the rows tying with the last, and the next cursor.
//!
//! Hasura's semantics (`Hasura.Backends.Postgres.Translate.Select.Streaming`): the cursor is
//! one column; rows are those where the column is strictly greater (`ASC`, the default) or
//! strictly less (`DESC`) than the cursor value, ANDed with `where` and the role's filter,
//! ordered by the column, and cut with `FETCH FIRST batch_size ROWS WITH TIES`: when the
//! batch ends inside a run of equal cursor values, the whole run is sent, so a non-unique
//! cursor column never loses rows at a batch boundary (a batch may then be larger than
//! `batch_size`; rows inserted later with a value already passed are not sent). A row whose
//! cursor column is null is never after any cursor, and a null cursor matches nothing. The
//! role's select `limit` caps the batch size.
//!
//! The statement returns two columns:
//!
//! ```sql
//! SELECT json_build_object('data', json_build_object('t_stream', "graft.stream"."rows")),
//!        "graft.stream"."cursor"
//! FROM (SELECT coalesce(json_agg(<row> ORDER BY _o."graft.o0" ASC NULLS LAST), '[]') AS "rows",
//!              CASE WHEN count(*) = 0 THEN NULL
//!                   ELSE json_build_object('id', (array_agg(_o."graft.cN" ORDER BY _o."graft.o0" DESC))[1]) END AS "cursor"
//!       FROM (SELECT …, _i."id" AS "graft.o0", (_i."id")::text AS "graft.cN" FROM T AS _i
//!             WHERE (_i."id" > ($1)::int4) AND <where> AND <permission>
//!             ORDER BY _i."id" ASC NULLS LAST FETCH FIRST (($2)::int8) ROWS WITH TIES) AS _o) AS "graft.stream"
//! ```
//!
//! The first column is the whole response, as for any query (`graphql.resolve` reads only
//! it). The second is the next cursor, `{"<column>": "<the last row's value as text>"}`, or
//! NULL when no row came: the value is the column's Postgres text form (Hasura's encoding),
//! which reads back exactly as the column's type, whatever it is.

use super::params::Params;
use super::select::{Ctx, RowCtx};
use crate::error::GqlError;
use crate::request::input::{In, Rule};
use crate::request::{SelField, StreamCursor};
use crate::schema::model::{FieldKind, TypeCategory};
use crate::schema::names::quote_literal;

/// The row set alias of the statement's FROM.
const STREAM: &str = "\"graft.stream\"";

/// The statement of an operation whose root field is a stream, or `None` when none is. A
/// stream must be the operation's only root field (Hasura: a subscription selects one).
pub(super) fn operation(ctx: &mut Ctx, fields: &[SelField], root_type: &str) -> Result<Option<(String, StreamCursor)>, GqlError> {
    let schema = ctx.schema;
    let stream_of = |f: &SelField| match schema.object_field(root_type, &f.name).map(|d| &d.kind) {
        Some(FieldKind::RootStream { table }) => Some(*table),
        _ => None,
    };
    if !fields.iter().any(|f| stream_of(f).is_some()) {
        return Ok(None);
    }
    let [f] = fields else {
        return Err(GqlError::validation("$", "subscriptions must select one top level field"));
    };
    let Some(ti) = stream_of(f) else { return Ok(None) };
    let (from, cursor) = ctx.stream(ti, f)?;
    let sql = format!(
        "SELECT json_build_object('data', json_build_object({}, {STREAM}.\"rows\")), {STREAM}.\"cursor\" FROM ({from}) AS {STREAM}",
        quote_literal(&f.alias)
    );
    Ok(Some((sql, cursor)))
}

/// One cursor column and its initial value, from the `cursor` argument.
struct Cursor<'a> {
    column: usize,
    value: In<'a>,
    descending: bool,
}

/// The one cursor column of `cursor: [T_stream_cursor_input]!`: every item's
/// `initial_value` columns together (null items count for nothing), exactly one of them.
fn cursor_column<'a>(ctx: &Ctx, ti: usize, f: &'a SelField) -> Result<Cursor<'a>, GqlError> {
    let t = &ctx.schema.tables[ti];
    let path = format!("{}.args", f.path);
    let mut found = vec![];
    for item in f.arg("cursor").and_then(In::items).unwrap_or_default() {
        crate::interrupt::tick()?;
        if item.is_null() {
            continue;
        }
        // `ordering` is an enum value: the shape fixes it, and it is SQL text (the operator).
        let descending = item.get("ordering").filter(|o| !o.is_null()).and_then(In::as_str) == Some("DESC");
        let Some(initial) = item.get("initial_value") else { continue };
        for (key, value) in initial.entries().into_iter().flatten() {
            crate::interrupt::tick()?;
            let column = t
                .column_by_gql(key)
                .ok_or_else(|| GqlError::validation(&path, format!("field '{key}' not found in type: '{}_stream_cursor_value_input'", t.type_name)))?;
            // An explicit null is a given value, as in Hasura: it matches no row.
            found.push(Cursor { column, value, descending });
        }
    }
    match found.len() {
        0 => Err(GqlError::validation(&path, "one streaming column field is expected")),
        1 => Ok(found.pop().expect("one")),
        _ => Err(GqlError::validation(&path, "multiple column cursors are not supported yet")),
    }
}

impl Ctx<'_> {
    /// The FROM item of a stream over table `ti` (columns `rows`, `cursor`) and its cursor.
    fn stream(&mut self, ti: usize, f: &SelField) -> Result<(String, StreamCursor), GqlError> {
        self.enter()?;
        let schema = self.schema;
        let t = &schema.tables[ti];
        let cursor = cursor_column(self, ti, f)?;
        let c = &t.columns[cursor.column];
        // The cursor value is bound first, so its parameter is known before anything else is.
        let param = self.params.values.len();
        let (value, rule) = bind_value(&mut self.params, cursor.value, &c.sql_type, c.category, c.is_array);
        // `json` has no ordering: Postgres refuses the comparison, an error to report, not raise.
        if c.category == TypeCategory::Json {
            self.params.needs_guard = true;
        }
        let from = super::select::table_sql(t);
        let mut q = self.rows_query(ti, from, vec![], &f.args, &f.path)?;
        let key = self.cell(ti, &q.inner.clone(), cursor.column)?;
        let (op, dir) = if cursor.descending { ("<", "DESC NULLS FIRST") } else { (">", "ASC NULLS LAST") };
        q.conds.insert(0, format!("({key} {op} {value})"));
        q.order = vec![(key.clone(), dir)];
        // `batch_size` is a bound value (cohorts with other batch sizes share the statement);
        // the role's select limit, a constant, caps it.
        let batch = f.arg("batch_size").unwrap_or(In::null());
        let n = self.params.scalar(batch, "\"pg_catalog\".\"int8\"");
        q.with_ties = Some(match q.limit.take() {
            Some(cap) => format!("(least({n}, {cap}))"),
            None => format!("({n})"),
        });
        let mut rc = RowCtx::sub(&q.outer, &q.inner);
        let row = self.row_json(ti, &mut rc, &f.selection)?;
        let last = rc.whole_row(format!("({key})::text"));
        let inner = q.inner_sql(&rc);
        // The last row in cursor order is the first in the other direction.
        let back = if cursor.descending { "ASC NULLS LAST" } else { "DESC NULLS FIRST" };
        let o = format!("{}.\"graft.o0\"", q.outer);
        let next = format!(
            "CASE WHEN count(*) = 0 THEN NULL ELSE json_build_object({}, (array_agg({last} ORDER BY {o} {back}))[1]) END",
            quote_literal(&c.gql_name)
        );
        let sql = format!(
            "SELECT coalesce(json_agg({row}{}), '[]') AS \"rows\", {next} AS \"cursor\" FROM ({inner}) AS {}",
            q.outer_order(),
            q.outer
        );
        self.leave();
        Ok((sql, StreamCursor { param, column: c.gql_name.clone(), rule }))
    }
}

/// Bind a column value as a comparison operand binds it, and the rule its text follows.
fn bind_value(params: &mut Params, v: In, sql_type: &str, category: TypeCategory, is_array: bool) -> (String, Rule) {
    if is_array {
        (params.array(v, sql_type.strip_suffix("[]").unwrap_or(sql_type)), Rule::Array)
    } else if matches!(category, TypeCategory::Json | TypeCategory::Jsonb) {
        (params.json(v, sql_type), Rule::Json)
    } else {
        (params.scalar(v, sql_type), Rule::Scalar)
    }
}
