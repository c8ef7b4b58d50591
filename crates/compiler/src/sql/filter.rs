//! `T_bool_exp` → SQL condition over a table alias. Relationships become `EXISTS`, aggregate
//! predicates become correlated `count(*)` subqueries, values become parameters.

use super::select::Ctx;
use crate::request::input::{In, Kind};
use serde_json::Value;
use crate::error::GqlError;
use crate::schema::model::{ComputedReturn, RelKindInfo, TypeCategory};

impl<'s> Ctx<'s> {
    /// Condition for `exp` (a coerced `T_bool_exp` object) on rows of table `ti` aliased `alias`.
    pub fn bool_exp(&mut self, ti: usize, alias: &str, exp: In, path: &str) -> Result<String, GqlError> {
        self.enter()?;
        let out = self.bool_exp_inner(ti, alias, exp, path);
        self.leave();
        out
    }

    fn bool_exp_inner(&mut self, ti: usize, alias: &str, exp: In, path: &str) -> Result<String, GqlError> {
        let Some(obj) = exp.entries() else {
            return Ok("true".into());
        };
        let mut conds = vec![];
        for (key, v) in obj {
            let kpath = format!("{path}.{key}");
            let cond = match key {
                "_and" | "_or" => {
                    let items = v.items().unwrap_or_default();
                    let parts = items
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| self.bool_exp(ti, alias, e, &format!("{kpath}[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?;
                    match (key, parts.is_empty()) {
                        ("_and", true) => "true".to_string(),
                        ("_or", true) => "false".to_string(),
                        ("_and", false) => format!("({})", parts.join(" AND ")),
                        _ => format!("({})", parts.join(" OR ")),
                    }
                }
                "_not" => {
                    if v.is_null() {
                        "true".to_string()
                    } else {
                        format!("(NOT {})", self.bool_exp(ti, alias, v, &kpath)?)
                    }
                }
                "_exists" => self.exists_cond(v, &kpath)?,
                _ => self.field_cond(ti, alias, key, v, &kpath)?,
            };
            conds.push(cond);
        }
        Ok(match conds.len() {
            0 => "true".into(),
            1 => conds.pop().unwrap(),
            _ => format!("({})", conds.join(" AND ")),
        })
    }

    fn field_cond(&mut self, ti: usize, alias: &str, key: &str, v: In, path: &str) -> Result<String, GqlError> {
        let schema = self.schema;
        let t = &schema.tables[ti];
        if v.is_null() {
            return Err(GqlError::validation(path, format!("unexpected null value for field '{key}'")));
        }
        if let Some(ci) = t.column_by_gql(key) {
            let c = &t.columns[ci];
            let expr = self.cell(ti, alias, ci)?;
            // Column-to-column operators (`_ceq` …) exist in permission expressions only.
            let entries = v.entries().unwrap_or_default();
            let (col_ops, ops): (Ops, Ops) =
                entries.into_iter().partition(|(k, _)| self.in_permission && COLUMN_OPS.iter().any(|(n, _)| n == k));
            let mut conds = vec![];
            for (op, other) in col_ops {
                let sym = COLUMN_OPS.iter().find(|(n, _)| *n == op).map(|(_, s)| *s).unwrap_or("=");
                let other = self.compared_column(ti, alias, op, other, path)?;
                conds.push(format!("({expr} {sym} {other})"));
            }
            if !ops.is_empty() || conds.is_empty() {
                conds.push(self.comparison(&expr, &c.sql_type, c.category, c.is_array, &ops, path)?);
            }
            return Ok(if conds.len() == 1 { conds.pop().unwrap() } else { format!("({})", conds.join(" AND ")) });
        }
        if let Some(ri) = t.rel_by_name(key) {
            let r = &t.relationships[ri];
            self.filter_hops += 1;
            if self.filter_hops > super::select::MAX_FILTER_HOPS {
                return Err(GqlError::validation(
                    path,
                    format!("a boolean expression may go through at most {} nested relationships", super::select::MAX_FILTER_HOPS),
                ));
            }
            let x = self.alias("x");
            let mut conds = self.rel_join(ti, r, &x, alias)?;
            conds.push(self.bool_exp(r.target, &x, v, path)?);
            self.filter_hops -= 1;
            return Ok(format!("EXISTS (SELECT 1 FROM {} AS {x} WHERE {})", self.rows_source(r.target), conds.join(" AND ")));
        }
        if let Some(rel_name) = key.strip_suffix("_aggregate") {
            if let Some(ri) = t.rel_by_name(rel_name).filter(|&ri| t.relationships[ri].kind == RelKindInfo::Array) {
                return self.aggregate_predicate(ti, ri, alias, v, path);
            }
        }
        if let Some(fi) = t.computed_by_name(key) {
            let cf = &t.computed_fields[fi];
            // A row of an overlay (a write statement's checks) is a record: the function takes
            // the table's row type.
            let row = if self.overlay.contains_key(&ti) { format!("({alias}::{})", super::select::table_sql(t)) } else { alias.to_string() };
            let call = self.computed_call(ti, fi, &row, None, path)?;
            return match &cf.returns {
                ComputedReturn::Scalar { sql_type, category, .. } => {
                    let (sql_type, category) = (sql_type.clone(), *category);
                    let call = self.computed_cell(ti, fi, alias, call)?;
                    self.comparison(&call, &sql_type, category, false, &v.entries().unwrap_or_default(), path)
                }
                ComputedReturn::SetOf { table } => {
                    // Rows the function returns, as selecting the field would show them: the
                    // role's select filter of the returned table applies.
                    let x = self.alias("x");
                    let mut conds = vec![self.bool_exp(*table, &x, v, path)?];
                    if let Some(f) = self.select_filter(*table, &x)? {
                        conds.push(f);
                    }
                    Ok(format!("EXISTS (SELECT 1 FROM {call} AS {x} WHERE {})", conds.join(" AND ")))
                }
            };
        }
        Err(GqlError::validation(path, format!("field '{key}' not found in type: '{}_bool_exp'", t.type_name)))
    }

    /// The column a column comparison operator (`_ceq` …) compares with: `"col"`, a column of
    /// the current table (`ti` as `alias`), or `["$", "col"]`, a column of the root table (the
    /// table whose permission this is). Permissions are checked when metadata is stored, so a
    /// bad operand here is an internal error.
    fn compared_column(&mut self, ti: usize, alias: &str, op: &str, other: In, path: &str) -> Result<String, GqlError> {
        let schema = self.schema;
        let bad = |other: In| {
            GqlError::new("unexpected", path, format!("{op} needs a column or [\"$\", column], got {}", other.read_all()))
        };
        if let Some(name) = other.as_str() {
            let ci = schema.tables[ti].column_by_sql(name).ok_or_else(|| bad(other))?;
            return self.cell(ti, alias, ci);
        }
        let items = other.items().unwrap_or_default();
        let (Some(root), [dollar, name]) = (self.bool_root.clone(), items.as_slice()) else { return Err(bad(other)) };
        if dollar.as_str() != Some("$") {
            return Err(bad(other));
        }
        let (rti, ralias) = root;
        let ci = name.as_str().and_then(|n| schema.tables[rti].column_by_sql(n)).ok_or_else(|| bad(other))?;
        self.cell(rti, &ralias, ci)
    }

    /// `rel_aggregate: {count: {arguments, distinct, filter, predicate}}`.
    fn aggregate_predicate(&mut self, ti: usize, ri: usize, alias: &str, v: In, path: &str) -> Result<String, GqlError> {
        let schema = self.schema;
        let r = &schema.tables[ti].relationships[ri];
        let target = &schema.tables[r.target];
        let mut conds = vec![];
        for (agg, body) in v.entries().into_iter().flatten() {
            let bpath = format!("{path}.{agg}");
            if agg != "count" {
                return Err(GqlError::validation(bpath, format!("aggregate predicate '{agg}' is not supported")));
            }
            let x = self.alias("x");
            let mut where_ = self.rel_join(ti, r, &x, alias)?;
            if let Some(filter) = body.get("filter").filter(|f| !f.is_null()) {
                where_.push(self.bool_exp(r.target, &x, filter, &format!("{bpath}.filter"))?);
            }
            let mut cols = vec![];
            let named = body.get("arguments").and_then(|a| a.items()).into_iter().flatten();
            for ci in named.filter_map(|c| c.as_str()).filter_map(|c| target.column_by_gql(c)) {
                cols.push(self.cell(r.target, &x, ci)?);
            }
            let distinct = body.get("distinct").and_then(|d| d.as_bool()).unwrap_or(false);
            let count = count_expr(&cols, distinct);
            let sub = format!("(SELECT {count} FROM {} AS {x} WHERE {})", self.rows_source(r.target), where_.join(" AND "));
            let pred = body.get("predicate").and_then(|p| p.entries()).unwrap_or_default();
            conds.push(self.comparison(&sub, "\"pg_catalog\".\"int8\"", TypeCategory::Numeric, false, &pred, &format!("{bpath}.predicate"))?);
        }
        Ok(if conds.is_empty() { "true".into() } else { format!("({})", conds.join(" AND ")) })
    }

    /// A `<Scalar>_comparison_exp` (its operators) applied to `expr`.
    pub fn comparison(
        &mut self,
        expr: &str,
        sql_type: &str,
        category: TypeCategory,
        is_array: bool,
        ops: &[(&str, In)],
        path: &str,
    ) -> Result<String, GqlError> {
        let elem_type = sql_type.strip_suffix("[]").unwrap_or(sql_type);
        let mut conds = vec![];
        for &(op, v) in ops {
            let opath = format!("{path}.{op}");
            if v.is_null() && op != "_is_null" {
                return Err(GqlError::validation(opath, "unexpected null value for type operand".replace("operand", op)));
            }
            let value_param = |ctx: &mut Self, v: In| -> String {
                if is_array {
                    ctx.params.array(v, elem_type)
                } else if matches!(category, TypeCategory::Json | TypeCategory::Jsonb) {
                    ctx.params.json(v, sql_type)
                } else {
                    ctx.params.scalar(v, sql_type)
                }
            };
            let binop = |sym: &str, ctx: &mut Self, v: In| format!("({expr} {sym} {})", value_param(ctx, v));
            let cond = match op {
                "_eq" => binop("=", self, v),
                "_neq" => binop("<>", self, v),
                "_gt" => binop(">", self, v),
                "_lt" => binop("<", self, v),
                "_gte" => binop(">=", self, v),
                "_lte" => binop("<=", self, v),
                "_in" | "_nin" => {
                    let p = if v.kind() == Kind::String {
                        // An array session variable: a Postgres array literal such as `{1,2,3}`.
                        self.params.needs_guard = true;
                        self.params.scalar(v, &format!("{sql_type}[]"))
                    } else if is_array {
                        // Each item is itself an array: compare as arrays of arrays.
                        self.params.needs_guard = true;
                        let lit = super::params::array_literal(v.read_all().as_array().map(|a| a.as_slice()).unwrap_or(&[]));
                        self.params.text(lit, &format!("{elem_type}[]"), v)
                    } else if matches!(category, TypeCategory::Json | TypeCategory::Jsonb) {
                        // Each item as JSON text: computed from the values.
                        let items = v.read_all().as_array().cloned().unwrap_or_default();
                        let texts: Vec<Value> = items.iter().map(|i| Value::String(i.to_string())).collect();
                        self.params.array_of(&texts, sql_type, v)
                    } else {
                        self.params.array(v, sql_type)
                    };
                    if op == "_in" {
                        format!("({expr} = ANY({p}))")
                    } else {
                        format!("(NOT ({expr} = ANY({p})))")
                    }
                }
                "_is_null" => match v.as_bool() {
                    Some(true) => format!("({expr} IS NULL)"),
                    Some(false) => format!("({expr} IS NOT NULL)"),
                    None => "true".into(),
                },
                "_like" | "_nlike" | "_ilike" | "_nilike" | "_similar" | "_nsimilar" | "_regex" | "_iregex" | "_nregex"
                | "_niregex" => {
                    let sym = match op {
                        "_like" => "LIKE",
                        "_nlike" => "NOT LIKE",
                        "_ilike" => "ILIKE",
                        "_nilike" => "NOT ILIKE",
                        "_similar" => "SIMILAR TO",
                        "_nsimilar" => "NOT SIMILAR TO",
                        "_regex" => "~",
                        "_iregex" => "~*",
                        "_nregex" => "!~",
                        _ => "!~*",
                    };
                    // Patterns can be invalid (bad regex, trailing escape): Postgres decides.
                    self.params.needs_guard = true;
                    let p = self.params.scalar(v, "\"pg_catalog\".\"text\"");
                    format!("({expr} {sym} {p})")
                }
                "_contains" => binop("@>", self, v),
                "_contained_in" => binop("<@", self, v),
                "_has_key" => {
                    let p = self.params.scalar(v, "\"pg_catalog\".\"text\"");
                    format!("({expr} ? {p})")
                }
                "_has_keys_any" | "_has_keys_all" => {
                    let p = if v.kind() == Kind::String {
                        // An array session variable: a Postgres array literal such as `{a,b}`
                        // (bound as the session variable's text: a `Session(name)` source).
                        self.params.needs_guard = true;
                        self.params.scalar(v, "\"pg_catalog\".\"text\"[]")
                    } else {
                        self.params.array(v, "\"pg_catalog\".\"text\"")
                    };
                    let sym = if op == "_has_keys_any" { "?|" } else { "?&" };
                    format!("({expr} {sym} {p})")
                }
                "_cast" => {
                    let mut parts = vec![];
                    for (target, sub) in v.entries().into_iter().flatten() {
                        // Hasura's casts: jsonb to String (text), geometry and geography to
                        // each other (in PostGIS's schema).
                        let (cast, to_type, to_category) = match (category, target) {
                            (TypeCategory::Jsonb, "String") => {
                                (format!("({expr})::text"), "\"pg_catalog\".\"text\"".to_string(), TypeCategory::String)
                            }
                            (TypeCategory::Geometry, "geography") | (TypeCategory::Geography, "geometry") => {
                                let to = super::extension_ops::sibling(sql_type, target);
                                let cat = if target == "geometry" { TypeCategory::Geometry } else { TypeCategory::Geography };
                                (format!("({expr})::{to}"), to, cat)
                            }
                            _ => {
                                return Err(GqlError::validation(format!("{opath}.{target}"), format!("cannot cast to '{target}'")));
                            }
                        };
                        let sub = sub.entries().unwrap_or_default();
                        parts.push(self.comparison(&cast, &to_type, to_category, false, &sub, &format!("{opath}.{target}"))?);
                    }
                    if parts.is_empty() {
                        "true".into()
                    } else {
                        parts.join(" AND ")
                    }
                }
                other => match self.extension_op(expr, sql_type, category, other, v)? {
                    Some(cond) => cond,
                    None => return Err(GqlError::validation(opath, format!("operator '{other}' is not supported"))),
                },
            };
            conds.push(cond);
        }
        Ok(match conds.len() {
            0 => "true".into(),
            1 => conds.pop().unwrap(),
            _ => format!("({})", conds.join(" AND ")),
        })
    }
}

/// A comparison's operators and their operands.
type Ops<'a> = Vec<(&'a str, In<'a>)>;

/// Hasura's column comparison operators and their SQL.
const COLUMN_OPS: [(&str, &str); 6] = [("_ceq", "="), ("_cneq", "<>"), ("_cgt", ">"), ("_clt", "<"), ("_cgte", ">="), ("_clte", "<=")];

/// `count(*)`, `count(col)`, `count(DISTINCT col)`, or over several columns as Hasura counts
/// them: `count((a, b))`, a row value, which is never null (so every row counts, and
/// `distinct` counts distinct tuples, nulls included).
pub fn count_expr(cols: &[String], distinct: bool) -> String {
    let d = if distinct { "DISTINCT " } else { "" };
    match cols.len() {
        0 => "count(*)".into(),
        1 => format!("count({d}{})", cols[0]),
        _ => format!("count({d}({}))", cols.join(", ")),
    }
}
