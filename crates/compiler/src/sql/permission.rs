//! Permission expressions: Hasura's boolean expressions from permission bodies (SQL column
//! names, `$op` aliases, session variables such as `"X-Hasura-User-Id"`, `_exists`) compiled
//! into the same statement as the request. Session variable values become parameters, each
//! recorded as that session variable's.

use serde_json::Value;

use super::select::Ctx;
use crate::error::GqlError;
use crate::request::input::{Arg, In};
use crate::schema::model::{ComputedReturn, RelInfo};
use crate::schema::names::quote_ident;
use crate::QualifiedName;

impl<'s> Ctx<'s> {
    /// Conditions joining rows of relationship `r` of table `ti` (the row aliased `alias`) to
    /// its target (aliased `x`), plus the role's select filter on the target: a role reaches
    /// related rows only where it may read them, and only through join columns it may see on
    /// both rows (a hidden cell is null and joins nothing).
    pub(super) fn rel_join(&mut self, ti: usize, r: &RelInfo, x: &str, alias: &str) -> Result<Vec<String>, GqlError> {
        let mut conds = vec![];
        for (l, rc) in &r.mapping {
            let theirs = self.cell_sql(r.target, x, rc)?;
            let mine = self.cell_sql(ti, alias, l)?;
            conds.push(format!("{theirs} = {mine}"));
        }
        if let Some(f) = self.select_filter(r.target, x)? {
            conds.push(f);
        }
        Ok(conds)
    }

    /// **The** value of column `ci` of table `ti` on the row aliased `alias`, as the role may
    /// see it. For an inherited role whose parents grant the column on only some rows, it is
    /// `CASE WHEN <the granting parents' filters> THEN alias."col" END`: null on the other
    /// rows, exactly as the selection shows it. Every use of a column value (selection,
    /// `where`, `order_by`, `distinct_on`, aggregates, aggregate predicates, relationship
    /// joins) goes through here, so a hidden cell cannot be filtered on, sorted by, grouped,
    /// summed or joined through. Permission expressions themselves read the raw columns.
    pub(super) fn cell(&mut self, ti: usize, alias: &str, ci: usize) -> Result<String, GqlError> {
        let schema = self.schema;
        let t = &schema.tables[ti];
        let raw = format!("{alias}.{}", quote_ident(&t.columns[ci].name));
        if self.in_permission {
            return Ok(raw);
        }
        let Some(filter) = self.cell_filter(ti, ci) else { return Ok(raw) };
        self.redacted(ti, alias, filter, raw)
    }

    /// `value` (of the row of table `ti` aliased `alias`) shown only where `filter` holds:
    /// `CASE WHEN <filter> THEN value END`. The one redaction expression, for columns
    /// ([`Self::cell`]) and scalar computed fields ([`Self::computed_cell`]) alike.
    fn redacted(&mut self, ti: usize, alias: &str, filter: &Value, value: String) -> Result<String, GqlError> {
        // The same cell of the same row is the same text (and the same parameters) wherever
        // it is used, so `distinct_on` still matches the `order_by` prefix.
        let key = (ti, alias.to_string(), filter.to_string());
        let cond = match self.cell_conds.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = self.permission_condition(ti, alias, filter)?;
                self.cell_conds.insert(key, c.clone());
                c
            }
        };
        Ok(match cond {
            Some(c) => format!("CASE WHEN {c} THEN {value} END"),
            None => value,
        })
    }

    /// A scalar computed field's value `call` on the row aliased `alias`, as the role may see
    /// it: redacted like a column for an inherited role that has it from only some parents.
    pub(super) fn computed_cell(&mut self, ti: usize, fi: usize, alias: &str, call: String) -> Result<String, GqlError> {
        if self.in_permission {
            return Ok(call);
        }
        let schema = self.schema;
        let t = &schema.tables[ti];
        let name = &t.computed_fields[fi].name;
        let filter = t.perms.as_ref().and_then(|p| p.select.as_ref()).and_then(|s| s.computed_filters.iter().find(|(n, _)| n == name));
        match filter {
            Some((_, f)) => self.redacted(ti, alias, f, call),
            None => Ok(call),
        }
    }

    /// The filter under which the role sees column `ci` of table `ti`, when it is narrower
    /// than the row filter (inherited roles).
    pub(super) fn cell_filter(&self, ti: usize, ci: usize) -> Option<&'s Value> {
        let schema = self.schema;
        schema.tables[ti].perms.as_ref()?.select.as_ref()?.column_filters.get(ci)?.as_ref()
    }

    /// [`Self::cell`] by SQL column name (relationship mappings name columns).
    fn cell_sql(&mut self, ti: usize, alias: &str, col: &str) -> Result<String, GqlError> {
        match self.schema.tables[ti].column_by_sql(col) {
            Some(ci) => self.cell(ti, alias, ci),
            None => Ok(format!("{alias}.{}", quote_ident(col))),
        }
    }

    /// The role's select filter on rows of `ti` aliased `alias`; `None` when unrestricted
    /// (admin, or an empty filter).
    pub fn select_filter(&mut self, ti: usize, alias: &str) -> Result<Option<String>, GqlError> {
        if self.in_permission {
            return Ok(None);
        }
        let Some(perms) = &self.schema.tables[ti].perms else { return Ok(None) };
        let filter = perms.select.as_ref().map(|s| s.filter.clone());
        match filter {
            // No select permission: the role reaches no row of this table (e.g. through a
            // relationship used only inside a mutation check).
            None => Ok(Some("false".into())),
            Some(f) => self.permission_condition(ti, alias, &f),
        }
    }

    /// Compile a permission boolean expression over `alias`; `None` when it is empty.
    pub fn permission_condition(&mut self, ti: usize, alias: &str, exp: &Value) -> Result<Option<String>, GqlError> {
        if exp.as_object().map(|o| o.is_empty()).unwrap_or(true) {
            return Ok(None);
        }
        let normalized = self.normalize(ti, exp)?;
        let saved = self.in_permission;
        self.in_permission = true;
        // Hasura resets the root to each permission's own table, also for a target table's
        // permission applied inside another expression.
        let saved_root = self.bool_root.replace((ti, alias.to_string()));
        let out = self.bool_exp(ti, alias, normalized.view(), "$");
        self.in_permission = saved;
        self.bool_root = saved_root;
        out.map(Some)
    }

    /// `_exists: {_table, _where}`: rows of another table, unrelated to this one.
    pub(super) fn exists_cond(&mut self, v: In, path: &str) -> Result<String, GqlError> {
        let table: QualifiedName = v
            .get("_table")
            .map(|t| t.read_all().clone())
            .and_then(|t| crate::metadata::model::deserialize_qualified(t).ok())
            .ok_or_else(|| GqlError::validation(path, "_exists needs a _table"))?;
        let ti = self
            .schema
            .tables
            .iter()
            .position(|t| t.name == table)
            .ok_or_else(|| GqlError::validation(path, format!("table \"{table}\" is not tracked")))?;
        let x = self.alias("x");
        let w = v.get("_where").unwrap_or(In::null());
        let cond = self.bool_exp(ti, &x, w, path)?;
        Ok(format!("EXISTS (SELECT 1 FROM {} AS {x} WHERE {cond})", self.rows_source(ti)))
    }

    /// Rewrite a permission expression of table `ti` into the request's boolean-expression
    /// form: `$op` → `_op`, SQL column names → GraphQL names, session variables → values.
    fn normalize(&self, ti: usize, exp: &Value) -> Result<Arg, GqlError> {
        let t = &self.schema.tables[ti];
        let Value::Object(obj) = exp else { return Ok(Arg::constant(exp.clone())) };
        let mut out: Vec<(String, Arg)> = vec![];
        for (k, v) in obj {
            let key = k.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| k.clone());
            let nv = match key.as_str() {
                "_and" | "_or" => Arg::list(
                    v.as_array().into_iter().flatten().map(|e| self.normalize(ti, e)).collect::<Result<_, _>>()?,
                ),
                "_not" => self.normalize(ti, v)?,
                "_exists" => {
                    let table = v.get("_table").cloned().unwrap_or(Value::Null);
                    let target = crate::metadata::model::deserialize_qualified(table.clone())
                        .ok()
                        .and_then(|q| self.schema.tables.iter().position(|t| t.name == q));
                    let w = match (target, v.get("_where")) {
                        (Some(tt), Some(w)) => self.normalize(tt, w)?,
                        (_, w) => Arg::constant(w.cloned().unwrap_or(Value::Null)),
                    };
                    Arg::object([("_table".to_string(), Arg::constant(table)), ("_where".to_string(), w)])
                }
                _ => {
                    if let Some(ci) = t.column_by_sql(&key) {
                        let ops = self.operators(v)?;
                        out.push((t.columns[ci].gql_name.clone(), ops));
                        continue;
                    }
                    if let Some(ri) = t.rel_by_name(&key) {
                        self.normalize(t.relationships[ri].target, v)?
                    } else if let Some(fi) = t.computed_by_name(&key) {
                        match t.computed_fields[fi].returns {
                            // A set-returning computed field: a boolean expression over the
                            // rows it returns.
                            ComputedReturn::SetOf { table } => self.normalize(table, v)?,
                            ComputedReturn::Scalar { .. } => self.operators(v)?,
                        }
                    } else {
                        return Err(GqlError::new(
                            "unexpected",
                            "$",
                            format!("permission filter of \"{}\" refers to unknown field \"{key}\"", t.name),
                        ));
                    }
                }
            };
            out.push((key, nv));
        }
        Ok(Arg::object(out))
    }

    /// An operator object with session variables replaced by their values. A bare value means
    /// `_eq`.
    fn operators(&self, v: &Value) -> Result<Arg, GqlError> {
        let Value::Object(ops) = v else {
            return Ok(Arg::object([("_eq".to_string(), self.session_value(v)?)]));
        };
        let mut out = vec![];
        for (op, val) in ops {
            let op = op.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| op.clone());
            let op = match op.as_str() {
                "_ne" => "_neq".to_string(),
                _ => op,
            };
            out.push((op, self.session_value(val)?));
        }
        Ok(Arg::object(out))
    }

    /// A permission value with session variables replaced by their values (recorded as theirs).
    pub(super) fn session_value(&self, v: &Value) -> Result<Arg, GqlError> {
        match v {
            Value::String(s) if s.to_ascii_lowercase().starts_with("x-hasura-") => match self.session.get(s) {
                Some(val) => Ok(Arg::session(s, Value::String(val.to_string()))),
                None => Err(GqlError::new(
                    "not-found",
                    "$",
                    format!("missing session variable: \"{}\"", s.to_ascii_lowercase()),
                )),
            },
            Value::Array(items) => Ok(Arg::list(items.iter().map(|i| self.session_value(i)).collect::<Result<_, _>>()?)),
            other => Ok(Arg::constant(other.clone())),
        }
    }
}


impl<'s> Ctx<'s> {
    /// `obj` (an insert object or `_set` of table `ti`) with the role's column presets applied:
    /// preset columns take the preset's value (static, or a session variable's).
    pub(super) fn with_presets(&self, ti: usize, obj: In, presets: &[(String, Value)]) -> Result<Arg, GqlError> {
        let t = &self.schema.tables[ti];
        let mut out: indexmap::IndexMap<String, Arg> =
            obj.entries().unwrap_or_default().into_iter().map(|(k, v)| (k.to_string(), v.to_arg())).collect();
        for (col, v) in presets {
            if let Some(ci) = t.column_by_sql(col) {
                out.insert(t.columns[ci].gql_name.clone(), self.session_value(v)?);
            }
        }
        Ok(Arg::object(out))
    }

    pub(super) fn insert_presets(&self, ti: usize) -> Vec<(String, Value)> {
        self.schema.tables[ti].perms.as_ref().and_then(|p| p.insert.as_ref()).map(|p| p.set.clone()).unwrap_or_default()
    }

    /// The update permission's `check` over (updated) rows aliased `alias`, `None` when
    /// unrestricted.
    pub(super) fn update_check(&mut self, ti: usize, alias: &str) -> Result<Option<String>, GqlError> {
        let check = self.schema.tables[ti].perms.as_ref().and_then(|p| p.update.as_ref()).and_then(|p| p.check.clone());
        match check {
            Some(c) => self.permission_condition(ti, alias, &c),
            None => Ok(None),
        }
    }

    /// The insert permission's `check` over rows aliased `alias`, `None` when unrestricted.
    pub(super) fn insert_check(&mut self, ti: usize, alias: &str) -> Result<Option<String>, GqlError> {
        let check = self.schema.tables[ti].perms.as_ref().and_then(|p| p.insert.as_ref()).map(|p| p.check.clone());
        match check {
            Some(c) => self.permission_condition(ti, alias, &c),
            None => Ok(None),
        }
    }
}
