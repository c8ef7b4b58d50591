//! Mutations: inserts (with upserts and nested inserts through relationships), updates and
//! deletes, each field compiled to data-modifying CTEs.
//!
//! Inserts and updates are written by one statement that checks every written row against the
//! role's `check` (`ok`), and reports the affected row count and the root rows themselves (a
//! JSON array of their `RETURNING` rows, in order); a second statement reads them back as rows
//! of the table's type (`json_populate_record`), so `returning` (relationships, computed fields,
//! the select filter) sees everything the write did, and exactly the written rows, for tables,
//! partitioned and inheritance trees (whose `ctid`s repeat) and views (which have none) alike.
//! Deletes return rows straight from `RETURNING`: the rows are gone, nothing can be re-read.

use indexmap::IndexMap;
use serde_json::Value;

use super::json_object;
use super::params::Params;
use super::select::{table_sql, Ctx, RowCtx};
use crate::error::GqlError;
use crate::request::input::{Arg, In, Source};
use crate::request::{MutationField, MutationPlan, MutationStep, SelField, Session, Stmt};
use crate::schema::model::{FieldKind, RelKindInfo, Schema, TableInfo, TypeCategory};
use crate::schema::names::{quote_ident, quote_literal};

pub fn compile_mutation(
    schema: &Schema,
    fields: &[SelField],
    root_type: &str,
    session: &Session,
) -> Result<MutationPlan, GqlError> {
    compile_mutation_traced(schema, fields, root_type, session).map(|(plan, _)| plan)
}

/// [`compile_mutation`], and where each statement's parameters come from: per statement with
/// parameters, in plan order (fields, steps, then write before read).
pub fn compile_mutation_traced(
    schema: &Schema,
    fields: &[SelField],
    root_type: &str,
    session: &Session,
) -> Result<(MutationPlan, Vec<Vec<Source>>), GqlError> {
    let mut out = vec![];
    let mut sources = vec![];
    for f in fields {
        if f.name == "__typename" {
            out.push(MutationField {
                alias: f.alias.clone(),
                many: false,
                steps: vec![MutationStep::Static(Value::String(root_type.into()).to_string())],
            });
            continue;
        }
        let def = schema
            .object_field(root_type, &f.name)
            .ok_or_else(|| GqlError::validation(&f.path, format!("field '{}' not found in type: '{root_type}'", f.name)))?;
        let (many, steps) = match def.kind {
            FieldKind::Insert { table } => {
                let objects = f.arg("objects").and_then(In::items).unwrap_or_default();
                (false, vec![insert(schema, session, table, &objects, f.arg("on_conflict"), f, false)?])
            }
            FieldKind::InsertOne { table } => {
                let object = f.arg("object").unwrap_or(In::null());
                (false, vec![insert(schema, session, table, &[object], f.arg("on_conflict"), f, true)?])
            }
            FieldKind::Update { table } => (false, vec![update(schema, session, table, &f.args, f, Target::Where, false)?]),
            FieldKind::UpdateByPk { table } => (false, vec![update(schema, session, table, &f.args, f, Target::PkColumns, true)?]),
            FieldKind::UpdateMany { table } => {
                let mut steps = vec![];
                for (i, u) in f.arg("updates").and_then(In::items).into_iter().flatten().enumerate() {
                    let args: IndexMap<String, Arg> =
                        u.entries().unwrap_or_default().into_iter().map(|(k, v)| (k.to_string(), v.to_arg())).collect();
                    let mut sub = f.clone();
                    sub.path = format!("{}.args.updates[{i}]", f.path);
                    steps.push(update(schema, session, table, &args, &sub, Target::Where, false)?);
                }
                (true, steps)
            }
            FieldKind::Delete { table } => (false, vec![delete(schema, session, table, f, false)?]),
            FieldKind::RootFunction { .. } => {
                // A volatile tracked function: its rows, as a query would return them.
                let mut ctx = Ctx::new(schema, session);
                let expr = ctx.root_field(&def.kind, f)?;
                (false, vec![Traced(MutationStep::Query(Stmt { sql: format!("SELECT ({expr})::text"), params: ctx.params.values }), vec![ctx.params.sources])])
            }
            FieldKind::DeleteByPk { table } => (false, vec![delete(schema, session, table, f, true)?]),
            ref other => {
                return Err(GqlError::new("unexpected", &f.path, format!("cannot resolve mutation field of kind {other:?}")))
            }
        };
        let steps = steps
            .into_iter()
            .map(|Traced(step, s)| {
                sources.extend(s);
                step
            })
            .collect();
        out.push(MutationField { alias: f.alias.clone(), many, steps });
    }
    Ok((MutationPlan { fields: out }, sources))
}

/// A step and the sources of its statements' parameters (write, then read).
struct Traced(MutationStep, Vec<Vec<Source>>);

impl Traced {
    fn query(stmt: Stmt, params: Params) -> Traced {
        Traced(MutationStep::Query(Stmt { params: params.values, ..stmt }), vec![params.sources])
    }
}

enum Target {
    Where,
    PkColumns,
}

/// The `returning`-side JSON of a mutation field over the rows of `rows` (a FROM clause that
/// names them `rc`'s alias). `single`: the field returns one row (`_one`, `_by_pk`), else a
/// `T_mutation_response`.
#[allow(clippy::too_many_arguments)]
fn response_json(
    ctx: &mut Ctx,
    ti: usize,
    f: &SelField,
    single: bool,
    affected: &str,
    rows: &str,
    mut rc: RowCtx,
    order: &str,
) -> Result<String, GqlError> {
    let t = &ctx.schema.tables[ti];
    if single {
        let row = ctx.row_json(ti, &mut rc, &f.selection)?;
        return Ok(format!("(SELECT {row} FROM {rows} LIMIT 1)"));
    }
    let mut pairs = vec![];
    for s in &f.selection {
        let e = match s.name.as_str() {
            "__typename" => quote_literal(&format!("{}_mutation_response", t.type_name)),
            "affected_rows" => affected.to_string(),
            "returning" => {
                let row = ctx.row_json(ti, &mut rc, &s.selection)?;
                format!("(SELECT coalesce(json_agg({row}{order}), '[]') FROM {rows})")
            }
            other => return Err(GqlError::validation(&s.path, format!("field '{other}' not found in type: '{}_mutation_response'", t.type_name))),
        };
        pairs.push((s.alias.clone(), e));
    }
    Ok(json_object(&pairs))
}

/// The read-back statement: the written rows of table `ti`, which the write statement returns
/// in `$2` as a JSON array of `row_to_json` objects (in write order), made rows of the table's
/// own type again with `json_populate_record`. So relationships, computed fields (they take
/// the table's row type) and the role's select filter see exactly the written rows, whatever
/// the relation: a table, a partition tree (where a `ctid` repeats across partitions), an
/// inheritance parent, or an auto-updatable view (which has no `ctid` at all).
fn read_back(schema: &Schema, session: &Session, ti: usize, f: &SelField, single: bool) -> Result<(Stmt, Vec<Source>), GqlError> {
    let mut ctx = Ctx::new(schema, session);
    ctx.params.runtime(); // $1: affected rows
    ctx.params.runtime(); // $2: the written rows, as JSON
    let t = &schema.tables[ti];
    let r = ctx.alias("r");
    let e = ctx.alias("e");
    let mut rows = format!(
        "json_array_elements(($2)::json) WITH ORDINALITY AS {e}(j, n) CROSS JOIN LATERAL json_populate_record(NULL::{}, {e}.j) AS {r}",
        table_sql(t)
    );
    // `returning` shows only rows the role may select.
    if let Some(sf) = ctx.select_filter(ti, &r)? {
        rows = format!("{rows} WHERE {sf}");
    }
    let order = format!(" ORDER BY {e}.n");
    if single {
        rows.push_str(&order);
    }
    let json = response_json(&mut ctx, ti, f, single, "($1)::int8", &rows, RowCtx::direct(&r), &order)?;
    Ok((Stmt { sql: format!("SELECT ({json})::text"), params: ctx.params.values }, ctx.params.sources))
}

/// The rows of CTEs `names` (in that order) as one JSON array of `row_to_json` objects: what a
/// write statement hands the read-back in `$2`.
fn rows_json(ctx: &mut Ctx, names: &[String]) -> String {
    let j = ctx.alias("j");
    match names {
        [] => "'[]'".to_string(),
        [one] => format!("(SELECT coalesce(json_agg(row_to_json({j})), '[]') FROM {one} AS {j})"),
        many => {
            let parts: Vec<String> =
                many.iter().enumerate().map(|(k, n)| format!("SELECT {k} AS k, row_to_json({j}) AS j FROM {n} AS {j}")).collect();
            let s = ctx.alias("s");
            format!("(SELECT coalesce(json_agg({s}.j ORDER BY {s}.k), '[]') FROM ({}) AS {s})", parts.join(" UNION ALL "))
        }
    }
}

/// The keys of an insert object (fixed by the request's shape).
fn check_object<'a>(v: In<'a>, path: &str) -> Result<Vec<&'a str>, GqlError> {
    if v.kind() != crate::request::input::Kind::Object {
        return Err(GqlError::validation(path, "expected an object"));
    }
    Ok(v.keys())
}

/// Bind a column value with its column's type.
fn bind(params: &mut Params, t: &TableInfo, ci: usize, v: In) -> String {
    let c = &t.columns[ci];
    if v.is_null() {
        return format!("NULL::{}", c.sql_type);
    }
    if c.is_array {
        let elem = c.sql_type.strip_suffix("[]").unwrap_or(&c.sql_type);
        return params.array(v, elem);
    }
    if matches!(c.category, TypeCategory::Json | TypeCategory::Jsonb) {
        return params.json(v, &c.sql_type);
    }
    params.scalar(v, &c.sql_type)
}

struct InsertWriter<'c, 's> {
    ctx: &'c mut Ctx<'s>,
    /// (CTE name, statement, table index)
    ctes: Vec<(String, String, usize)>,
    /// CTEs whose rows may have been updated (`ON CONFLICT … DO UPDATE`): their RETURNING has
    /// `"graft.updated"`, and updated rows answer to the update permission's `check`.
    upserts: Vec<String>,
}

/// `RETURNING` of an insert: the row, and for an upsert whether the row was updated (an
/// updated row has the inserting transaction's id in `xmax`; a new one has 0).
fn returning(alias: &str, updates: bool) -> String {
    let updated = if updates { format!(", ({alias}.xmax <> 0) AS \"graft.updated\"") } else { String::new() };
    format!(" RETURNING *{updated}")
}

impl<'c, 's> InsertWriter<'c, 's> {
    /// The `ON CONFLICT` clause, and whether it updates rows the role's update `check` must
    /// then hold for.
    fn on_conflict(&mut self, ti: usize, alias: &str, oc: Option<In>, path: &str) -> Result<(String, bool), GqlError> {
        let Some(oc) = oc.filter(|v| !v.is_null()) else { return Ok((String::new(), false)) };
        let t = &self.ctx.schema.tables[ti];
        let constraint = oc.get("constraint").and_then(|c| c.as_str()).unwrap_or_default();
        // The `T_constraint` value names the SQL constraint (they differ when it is not a GraphQL name).
        let constraint = t.constraint_by_gql(constraint).unwrap_or(constraint);
        let cols: Vec<String> = oc
            .get("update_columns")
            .and_then(|u| u.items())
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .filter_map(|c| t.column_by_gql(c))
            .map(|ci| quote_ident(&t.columns[ci].name))
            .collect();
        // A unique constraint (or the primary key) is named; a unique index that backs no
        // constraint cannot be, and is inferred from its key (and predicate) instead.
        let target = match t.conflict_targets.iter().find(|(n, _)| n == constraint) {
            Some((_, keys)) => keys.clone(),
            None => format!("ON CONSTRAINT {}", quote_ident(constraint)),
        };
        if cols.is_empty() {
            // No constraint (only the data API's `ignore` without a target): any conflict.
            if constraint.is_empty() {
                return Ok((" ON CONFLICT DO NOTHING".to_string(), false));
            }
            return Ok((format!(" ON CONFLICT {target} DO NOTHING"), false));
        }
        let update_perm = self.ctx.schema.tables[ti].perms.as_ref().and_then(|p| p.update.clone());
        // The update permission's presets apply to updated rows, as in an update.
        let presets = update_perm.as_ref().map(|u| u.set.clone()).unwrap_or_default();
        // Preset values are session values or constants (their sources say which).
        let no_values = Value::Object(serde_json::Map::new());
        let preset_values = self.ctx.with_presets(ti, In::constant(&no_values), &presets)?;
        let mut sets: Vec<(String, String)> = cols.iter().map(|c| (c.clone(), format!("EXCLUDED.{c}"))).collect();
        for (k, v) in preset_values.view().entries().into_iter().flatten() {
            let Some(ci) = t.column_by_gql(k) else { continue };
            let col = quote_ident(&t.columns[ci].name);
            let val = bind(&mut self.ctx.params, t, ci, v);
            match sets.iter_mut().find(|(c, _)| c == &col) {
                Some(slot) => slot.1 = val,
                None => sets.push((col, val)),
            }
        }
        let set = sets.iter().map(|(c, v)| format!("{c} = {v}")).collect::<Vec<_>>().join(", ");
        let mut s = format!(" ON CONFLICT {target} DO UPDATE SET {set}");
        let mut conds = vec![];
        if let Some(w) = oc.get("where").filter(|w| !w.is_null()) {
            conds.push(self.ctx.bool_exp(ti, alias, w, &format!("{path}.where"))?);
        }
        // An upsert updates only rows the role's update permission reaches.
        if let Some(u) = &update_perm {
            if let Some(c) = self.ctx.permission_condition(ti, alias, &u.filter)? {
                conds.push(c);
            }
        }
        if !conds.is_empty() {
            s.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        // With permissions (not the admin), updated rows are told apart for the checks. (Views
        // have no xmax; their writes are not checked here.)
        let t = &self.ctx.schema.tables[ti];
        Ok((s, t.perms.is_some() && !t.is_view))
    }

    /// Insert several plain objects (no nested relationships) with one multi-row VALUES.
    fn flat(&mut self, ti: usize, objects: &[In], oc: Option<In>, path: &str) -> Result<String, GqlError> {
        let schema = self.ctx.schema;
        let t = &schema.tables[ti];
        for (i, o) in objects.iter().enumerate() {
            check_object(*o, &format!("{path}[{i}]"))?;
        }
        let presets = self.ctx.insert_presets(ti);
        let objects: Vec<Arg> = objects.iter().map(|o| self.ctx.with_presets(ti, *o, &presets)).collect::<Result<_, _>>()?;
        let objects: Vec<In> = objects.iter().map(Arg::view).collect();
        let mut cols: Vec<usize> = vec![];
        for (i, o) in objects.iter().enumerate() {
            for k in check_object(*o, &format!("{path}[{i}]"))? {
                let ci = t
                    .column_by_gql(k)
                    .ok_or_else(|| GqlError::validation(format!("{path}[{i}].{k}"), format!("field '{k}' not found in type: '{}_insert_input'", t.type_name)))?;
                if !cols.contains(&ci) {
                    cols.push(ci);
                }
            }
        }
        let alias = self.ctx.alias("t");
        let mut rows = vec![];
        for o in &objects {
            let vals: Vec<String> = cols
                .iter()
                .map(|&ci| match o.get(&t.columns[ci].gql_name) {
                    Some(v) => bind(&mut self.ctx.params, t, ci, v),
                    None => "DEFAULT".to_string(),
                })
                .collect();
            rows.push(format!("({})", vals.join(", ")));
        }
        let (conflict, updates) = self.on_conflict(ti, &alias, oc, &format!("{path}.on_conflict"))?;
        let name = self.ctx.alias("m");
        if updates {
            self.upserts.push(name.clone());
        }
        let ret = returning(&alias, updates);
        let target = if cols.is_empty() {
            // Every row takes all defaults.
            format!("{} AS {alias} {}", table_sql(t), if rows.len() == 1 { "DEFAULT VALUES".to_string() } else { String::new() })
        } else {
            format!(
                "{} AS {alias} ({}) VALUES {}",
                table_sql(t),
                cols.iter().map(|&ci| quote_ident(&t.columns[ci].name)).collect::<Vec<_>>().join(", "),
                rows.join(", ")
            )
        };
        if cols.is_empty() && rows.len() > 1 {
            // DEFAULT VALUES takes one row; insert the others from a generated series.
            let sql = format!(
                "INSERT INTO {} AS {alias} SELECT FROM generate_series(1, {}){conflict}{ret}",
                table_sql(t),
                rows.len()
            );
            self.ctes.push((name.clone(), sql, ti));
            return Ok(name);
        }
        let sql = format!("INSERT INTO {target}{conflict}{ret}");
        self.ctes.push((name.clone(), sql, ti));
        Ok(name)
    }

    /// Insert one object with its nested relationships; returns the CTE holding its row.
    /// `parent`: the CTE of the row this one points at, with (my column, parent column) pairs.
    fn nested(
        &mut self,
        ti: usize,
        obj: In,
        oc: Option<In>,
        parent: Option<(&str, &[(String, String)])>,
        path: &str,
    ) -> Result<String, GqlError> {
        self.ctx.enter()?;
        let schema = self.ctx.schema;
        let t = &schema.tables[ti];
        let given = check_object(obj, path)?;
        // Columns the parent row or an object relationship decides cannot be given too.
        let given_cols: Vec<&str> =
            given.iter().copied().filter_map(|k| t.column_by_gql(k)).map(|ci| t.columns[ci].name.as_str()).collect();
        let from_parent: Vec<&str> = parent.map(|(_, pairs)| pairs.iter().map(|(mine, _)| mine.as_str()).collect()).unwrap_or_default();
        let clash: Vec<&str> = from_parent.iter().copied().filter(|c| given_cols.contains(c)).collect();
        if !clash.is_empty() {
            return Err(GqlError::validation(
                path,
                format!("cannot insert {} columns as their values are already being determined by parent insert", dq_list(&clash)),
            ));
        }
        for &k in &given {
            let Some(r) = t.rel_by_name(k).map(|ri| &t.relationships[ri]) else { continue };
            if !(r.insert_before && r.kind == RelKindInfo::Object) {
                continue;
            }
            let clash: Vec<&str> = r
                .mapping
                .iter()
                .map(|(mine, _)| mine.as_str())
                .filter(|c| given_cols.contains(c) || from_parent.contains(c))
                .collect();
            if !clash.is_empty() {
                return Err(GqlError::validation(
                    format!("{path}.{k}"),
                    format!("cannot insert object relationship \"{k}\" as {} column values are already determined", dq_list(&clash)),
                ));
            }
        }
        let owned = self.ctx.with_presets(ti, obj, &self.ctx.insert_presets(ti))?;
        let obj = owned.view().entries().expect("presets keep objects");
        let mut cols: Vec<String> = vec![];
        let mut vals: Vec<String> = vec![];
        let mut from: Vec<String> = vec![];
        let mut after: Vec<(usize, In, String)> = vec![];
        if let Some((cte, pairs)) = parent {
            for (mine, theirs) in pairs {
                cols.push(quote_ident(mine));
                vals.push(format!("{cte}.{}", quote_ident(theirs)));
            }
            from.push(cte.to_string());
        }
        for (k, v) in obj {
            let kpath = format!("{path}.{k}");
            if let Some(ci) = t.column_by_gql(k) {
                let name = quote_ident(&t.columns[ci].name);
                if cols.contains(&name) {
                    continue; // set from the parent row
                }
                cols.push(name);
                vals.push(bind(&mut self.ctx.params, t, ci, v));
                continue;
            }
            let ri = t
                .rel_by_name(k)
                .ok_or_else(|| GqlError::validation(&kpath, format!("field '{k}' not found in type: '{}_insert_input'", t.type_name)))?;
            let r = &t.relationships[ri];
            if r.insert_before && r.kind == RelKindInfo::Object {
                let data = v.get("data").unwrap_or(In::null());
                let cte = self.nested(r.target, data, v.get("on_conflict"), None, &format!("{kpath}.data"))?;
                for (mine, theirs) in &r.mapping {
                    let q = quote_ident(mine);
                    if let Some(pos) = cols.iter().position(|c| c == &q) {
                        cols.remove(pos);
                        vals.remove(pos);
                    }
                    cols.push(q);
                    vals.push(format!("{cte}.{}", quote_ident(theirs)));
                }
                from.push(cte);
            } else {
                after.push((ri, v, kpath));
            }
        }
        let alias = self.ctx.alias("t");
        let (conflict, updates) = self.on_conflict(ti, &alias, oc, &format!("{path}.on_conflict"))?;
        let name = self.ctx.alias("m");
        if updates {
            self.upserts.push(name.clone());
        }
        let ret = returning(&alias, updates);
        let source = if from.is_empty() { String::new() } else { format!(" FROM {}", from.join(", ")) };
        let sql = if cols.is_empty() && from.is_empty() {
            format!("INSERT INTO {} AS {alias} DEFAULT VALUES{conflict}{ret}", table_sql(t))
        } else {
            format!(
                "INSERT INTO {} AS {alias} ({}) SELECT {}{source}{conflict}{ret}",
                table_sql(t),
                cols.join(", "),
                vals.join(", ")
            )
        };
        self.ctes.push((name.clone(), sql, ti));
        for (ri, v, kpath) in after {
            let r = &t.relationships[ri];
            // The child's columns take this row's values: (child column, my column).
            let pairs: Vec<(String, String)> = r.mapping.iter().map(|(mine, theirs)| (theirs.clone(), mine.clone())).collect();
            let oc = v.get("on_conflict");
            match (r.kind, v.get("data")) {
                (RelKindInfo::Array, Some(data)) if data.kind() == crate::request::input::Kind::Array => {
                    for (i, item) in data.items().unwrap_or_default().into_iter().enumerate() {
                        self.nested(r.target, item, oc, Some((&name, &pairs)), &format!("{kpath}.data[{i}]"))?;
                    }
                }
                (_, Some(item)) => {
                    self.nested(r.target, item, oc, Some((&name, &pairs)), &format!("{kpath}.data"))?;
                }
                _ => {}
            }
        }
        self.ctx.leave();
        Ok(name)
    }
}

/// `"a", "b"`: column names as Hasura lists them in messages.
fn dq_list(cols: &[&str]) -> String {
    cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

fn has_relationship_keys(t: &TableInfo, objects: &[In]) -> bool {
    objects.iter().any(|o| o.kind() == crate::request::input::Kind::Object && o.keys().iter().any(|k| t.column_by_gql(k).is_none()))
}

fn insert(
    schema: &Schema,
    session: &Session,
    ti: usize,
    objects: &[In],
    on_conflict: Option<In>,
    f: &SelField,
    single: bool,
) -> Result<Traced, GqlError> {
    let t = &schema.tables[ti];
    let mut ctx = Ctx::new(schema, session);
    let arg = if single { "object" } else { "objects" };
    let path = format!("{}.args.{arg}", f.path);
    let mut w = InsertWriter { ctx: &mut ctx, ctes: vec![], upserts: vec![] };
    let mut roots = vec![];
    if objects.is_empty() {
        // Nothing to write.
    } else if has_relationship_keys(t, objects) {
        for (i, o) in objects.iter().enumerate() {
            let p = if single { path.clone() } else { format!("{path}[{i}]") };
            roots.push(w.nested(ti, *o, on_conflict, None, &p)?);
        }
    } else {
        roots.push(w.flat(ti, objects, on_conflict, &path)?);
    }
    let ctes = std::mem::take(&mut w.ctes);
    let upserts = std::mem::take(&mut w.upserts);
    let with = if ctes.is_empty() {
        String::new()
    } else {
        format!("WITH {} ", ctes.iter().map(|(n, s, _)| format!("{n} AS ({s})")).collect::<Vec<_>>().join(", "))
    };
    // One statement is enough when the answer needs no other table and no permission applies:
    // plain columns of the rows RETURNING already holds. Otherwise write (checking every row),
    // then read back. Views take the same path as tables: their rows are checked, and the
    // select filter applies to `returning`.
    if t.perms.is_none() && columns_only(schema, ti, f, single) {
        let rows = if roots.is_empty() {
            format!("(SELECT * FROM {} WHERE false)", table_sql(t))
        } else {
            format!("({})", roots.iter().map(|r| format!("SELECT * FROM {r}")).collect::<Vec<_>>().join(" UNION ALL "))
        };
        let affected = affected_sum(&ctes);
        let o = ctx.alias("o");
        let rc = RowCtx::returning(&o, &table_sql(t));
        let json = response_json(&mut ctx, ti, f, single, &affected, &format!("{rows} AS {o}"), rc, "")?;
        return Ok(Traced::query(Stmt { sql: format!("{with}SELECT ({json})::text"), params: vec![] }, ctx.params));
    }
    let tids = rows_json(&mut ctx, &roots);
    // Every inserted row must pass its table's insert `check`; a row an upsert updated, the
    // update permission's `check` instead (Hasura's `CASE WHEN xmax = 0 …`).
    //
    // Hasura inserts a nested object's rows one after another (object relationships first, then
    // the row, then its array relationships), each seeing those before it: a child's check
    // reaches the parent row inserted for it (`{p: {owner: {_eq: X-Hasura-User-Id}}}`). Here
    // every row is written by one statement whose snapshot sees none of them, so the check of
    // each CTE's rows reads the tables written by the CTEs before it through an overlay: the
    // table's rows plus those the earlier CTEs returned (less the old versions of rows they
    // updated). This is the one statement that can fail the mutation (`ok`), so the checks
    // must be here, not in the read-back that would see the writes by itself.
    let mut checks = vec![];
    for (i, (name, _, cti)) in ctes.iter().enumerate() {
        ctx.overlay = overlay(schema, &ctes[..i], &upserts);
        let c = ctx.alias("c");
        let inserted = ctx.insert_check(*cti, &c)?;
        let cond = if upserts.contains(name) {
            match (inserted, ctx.update_check(*cti, &c)?) {
                (None, None) => None,
                (i, u) => Some(format!(
                    "CASE WHEN {c}.\"graft.updated\" THEN {} ELSE {} END",
                    u.unwrap_or_else(|| "true".into()),
                    i.unwrap_or_else(|| "true".into())
                )),
            }
        } else {
            inserted
        };
        if let Some(cond) = cond {
            checks.push(format!("(SELECT coalesce(bool_and({cond}), true) FROM {name} AS {c})"));
        }
    }
    ctx.overlay.clear();
    let ok = if checks.is_empty() { "true".to_string() } else { checks.join(" AND ") };
    let write = Stmt {
        sql: format!("{with}SELECT ({})::int8::text AS affected, ({tids})::text AS tids, ({ok})::text AS ok", affected_sum(&ctes)),
        params: ctx.params.values,
    };
    let (read, read_sources) = read_back(schema, session, ti, f, single)?;
    Ok(Traced(MutationStep::WriteRead { write, read }, vec![ctx.params.sources, read_sources]))
}

/// For each table that CTEs `written` write: its rows as the statement leaves them, as SQL of
/// the table's columns: the table's own (snapshot) rows, less the old versions of rows an upsert
/// among them updated (by primary key), plus every row those CTEs returned.
fn overlay(schema: &Schema, written: &[(String, String, usize)], upserts: &[String]) -> std::collections::HashMap<usize, String> {
    let mut by_table: IndexMap<usize, Vec<&str>> = IndexMap::new();
    for (name, _, ti) in written {
        by_table.entry(*ti).or_default().push(name);
    }
    let mut out = std::collections::HashMap::new();
    for (ti, names) in by_table {
        let t = &schema.tables[ti];
        let cols = t.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let mut base = format!("SELECT {cols} FROM {}", table_sql(t));
        let updated: Vec<&&str> = names.iter().filter(|n| upserts.iter().any(|u| u == *n)).collect();
        if !updated.is_empty() && !t.primary_key.is_empty() {
            let pk = t.primary_key.iter().map(|&ci| quote_ident(&t.columns[ci].name)).collect::<Vec<_>>().join(", ");
            let olds = updated.iter().map(|n| format!("SELECT {pk} FROM {n} WHERE \"graft.updated\"")).collect::<Vec<_>>().join(" UNION ALL ");
            base = format!("{base} WHERE ({pk}) NOT IN ({olds})");
        }
        let mut parts = vec![base];
        parts.extend(names.iter().map(|n| format!("SELECT {cols} FROM {n}")));
        out.insert(ti, format!("({})", parts.join(" UNION ALL ")));
    }
    out
}

/// The selection reads only columns (and `__typename`) of table `ti`, nothing that would need
/// other tables or the table's row type.
fn columns_only(schema: &Schema, ti: usize, f: &SelField, single: bool) -> bool {
    let t = &schema.tables[ti];
    let plain = |sel: &[SelField]| sel.iter().all(|s| s.name == "__typename" || (t.column_by_gql(&s.name).is_some() && s.selection.is_empty() && s.args.is_empty()));
    if single {
        plain(&f.selection)
    } else {
        f.selection.iter().all(|s| s.name != "returning" || plain(&s.selection))
    }
}

fn affected_sum(ctes: &[(String, String, usize)]) -> String {
    if ctes.is_empty() {
        return "0".into();
    }
    ctes.iter().map(|(n, _, _)| format!("(SELECT count(*) FROM {n})")).collect::<Vec<_>>().join(" + ")
}

/// `WHERE` of an update or delete: the `where` argument, or the primary key.
fn target_condition(ctx: &mut Ctx, ti: usize, alias: &str, args: &IndexMap<String, Arg>, target: Target, pk: Option<In>, path: &str) -> Result<String, GqlError> {
    let t = &ctx.schema.tables[ti];
    match target {
        Target::Where => {
            let w = args.get("where").map(Arg::view).unwrap_or(In::null());
            ctx.bool_exp(ti, alias, w, &format!("{path}.args.where"))
        }
        Target::PkColumns => {
            let mut conds = vec![];
            for &ci in &t.primary_key {
                let c = &t.columns[ci];
                let v = pk.and_then(|pk| pk.get(&c.gql_name)).unwrap_or(In::null());
                let p = ctx.params.scalar(v, &c.sql_type);
                conds.push(format!("{alias}.{} = {p}", quote_ident(&c.name)));
            }
            Ok(conds.join(" AND "))
        }
    }
}

fn update(
    schema: &Schema,
    session: &Session,
    ti: usize,
    args: &IndexMap<String, Arg>,
    f: &SelField,
    target: Target,
    single: bool,
) -> Result<Traced, GqlError> {
    let t = &schema.tables[ti];
    let mut ctx = Ctx::new(schema, session);
    let alias = ctx.alias("t");
    let update_perm = t.perms.as_ref().and_then(|p| p.update.clone());
    let mut args = args.clone();
    if let Some(p) = update_perm.as_ref().filter(|p| !p.set.is_empty()) {
        let set = args.get("_set").map(Arg::view).unwrap_or(In::null());
        let set = ctx.with_presets(ti, set, &p.set)?;
        args.insert("_set".into(), set);
    }
    let args = &args;
    let mut sets: Vec<(usize, String)> = vec![];
    // `_mul` and `_default` come only from the data API (`dml`), which checked their columns.
    for op in ["_set", "_inc", "_append", "_prepend", "_delete_key", "_delete_elem", "_delete_at_path", "_mul", "_default"] {
        let cols = match (op, args.get(op)) {
            ("_default", Some(names)) => {
                names.view().items().unwrap_or_default().into_iter().filter_map(|n| n.as_str().map(|k| (k, In::null()))).collect()
            }
            (_, Some(a)) => a.view().entries().unwrap_or_default(),
            (_, None) => continue,
        };
        for (k, v) in cols {
            let ci = t
                .column_by_gql(k)
                .ok_or_else(|| GqlError::validation(format!("{}.args.{op}.{k}", f.path), format!("field '{k}' not found")))?;
            if sets.iter().any(|(c, _)| *c == ci) {
                return Err(GqlError::validation(
                    format!("{}.args", f.path),
                    format!("column found in multiple operators; \"{k}\" in _set, _inc, _append, _prepend, _delete_key, _delete_elem, _delete_at_path"),
                ));
            }
            let col = format!("{alias}.{}", quote_ident(&t.columns[ci].name));
            let expr = match op {
                "_set" => bind(&mut ctx.params, t, ci, v),
                "_inc" => format!("{col} + {}", bind(&mut ctx.params, t, ci, v)),
                "_mul" => format!("{col} * {}", bind(&mut ctx.params, t, ci, v)),
                "_default" => "DEFAULT".to_string(),
                "_append" => format!("{col} || {}", ctx.params.json(v, "\"pg_catalog\".\"jsonb\"")),
                "_prepend" => format!("{} || {col}", ctx.params.json(v, "\"pg_catalog\".\"jsonb\"")),
                "_delete_key" => format!("{col} - {}", ctx.params.scalar(v, "\"pg_catalog\".\"text\"")),
                "_delete_elem" => format!("{col} - {}", ctx.params.scalar(v, "\"pg_catalog\".\"int4\"")),
                _ => format!("{col} #- {}", ctx.params.array(v, "\"pg_catalog\".\"text\"")),
            };
            sets.push((ci, expr));
        }
    }
    if sets.is_empty() {
        return Err(GqlError::validation(
            format!("{}.args", f.path),
            "at least any one of _set, _inc, _append, _prepend, _delete_key, _delete_elem, _delete_at_path is expected",
        ));
    }
    let mut cond = target_condition(&mut ctx, ti, &alias, args, target, args.get("pk_columns").map(Arg::view), &f.path)?;
    if let Some(p) = &update_perm {
        if let Some(pf) = ctx.permission_condition(ti, &alias, &p.filter)? {
            cond = format!("({cond}) AND {pf}");
        }
    }
    let set_sql = sets.iter().map(|(ci, e)| format!("{} = {e}", quote_ident(&t.columns[*ci].name))).collect::<Vec<_>>().join(", ");
    let m = ctx.alias("m");
    let upd = format!("UPDATE {} AS {alias} SET {set_sql} WHERE {cond}", table_sql(t));
    // Updated rows must pass the update permission's `check` (post-update), through views too.
    let c = ctx.alias("c");
    let check = match update_perm.as_ref().and_then(|p| p.check.clone()) {
        Some(chk) => ctx.permission_condition(ti, &c, &chk)?,
        None => None,
    };
    let ok = check.map(|cond| format!("coalesce(bool_and({cond}), true)")).unwrap_or_else(|| "true".into());
    let write = Stmt {
        sql: format!(
            "WITH {m} AS ({upd} RETURNING {alias}.*) SELECT count(*)::text AS affected, \
             coalesce(json_agg(row_to_json({c})), '[]')::text AS tids, ({ok})::text AS ok FROM {m} AS {c}"
        ),
        params: ctx.params.values,
    };
    let (read, read_sources) = read_back(schema, session, ti, f, single)?;
    Ok(Traced(MutationStep::WriteRead { write, read }, vec![ctx.params.sources, read_sources]))
}

fn delete(schema: &Schema, session: &Session, ti: usize, f: &SelField, single: bool) -> Result<Traced, GqlError> {
    let t = &schema.tables[ti];
    let mut ctx = Ctx::new(schema, session);
    let alias = ctx.alias("t");
    let (target, pk) = if single {
        // delete_T_by_pk takes the key columns as arguments directly.
        (Target::PkColumns, Some(Arg::object(f.args.clone())))
    } else {
        (Target::Where, None)
    };
    let mut cond = target_condition(&mut ctx, ti, &alias, &f.args, target, pk.as_ref().map(Arg::view), &f.path)?;
    let delete_filter = t.perms.as_ref().and_then(|p| p.delete.as_ref()).map(|d| d.filter.clone());
    if let Some(df) = delete_filter {
        if let Some(pf) = ctx.permission_condition(ti, &alias, &df)? {
            cond = format!("({cond}) AND {pf}");
        }
    }
    let m = ctx.alias("m");
    let o = ctx.alias("o");
    let visible = match ctx.select_filter(ti, &o)? {
        Some(sf) => format!(" WHERE {sf}"),
        None => String::new(),
    };
    let rc = RowCtx::returning(&o, &table_sql(t));
    let json = response_json(&mut ctx, ti, f, single, &format!("(SELECT count(*) FROM {m})"), &format!("{m} AS {o}{visible}"), rc, "")?;
    let sql = format!("WITH {m} AS (DELETE FROM {} AS {alias} WHERE {cond} RETURNING {alias}.*) SELECT ({json})::text", table_sql(t));
    Ok(Traced::query(Stmt { sql, params: vec![] }, ctx.params))
}
