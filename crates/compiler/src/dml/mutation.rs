//! `insert`, `update` and `delete`, answered as `{"affected_rows": n, "returning": […]}`
//! (`returning` only when asked for).

use serde_json::{Map, Value};

use super::select::Vars;
use super::table::{quoted_table, Cx, Perm};
use super::{bool_exp, Plan, Reply};
use crate::error::MetadataError;
use crate::request::input::Arg;
use crate::schema::model::TypeCategory;

/// ` { affected_rows returning { … } }` for `returning` (a list of column names), which
/// needs the select permission on the table and on each column.
fn mutation_selection(cx: &Cx, args: &Map<String, Value>) -> Result<String, MetadataError> {
    let Some(returning) = args.get("returning").filter(|r| !r.is_null()) else {
        return Ok("{ affected_rows }".into());
    };
    cx.require(cx.table, Perm::Select).map_err(|mut e| {
        e.error.push_str("; \"returning\" can only be used if the role has \"select\" permission on the table");
        e
    })?;
    let mut fields = vec![];
    for (i, ci) in cx.column_list("returning", returning, Perm::Select)?.into_iter().enumerate() {
        fields.push(cx.column_field(cx.table, ci, &format!("$.args.returning[{i}]"))?);
    }
    if fields.is_empty() {
        return Ok("{ affected_rows returning { __typename } }".into());
    }
    Ok(format!("{{ affected_rows returning {{ {} }} }}", fields.join(" ")))
}

/// A root mutation field the role's schema lacks although its permission exists.
fn missing_root(cx: &Cx, perm: &str, field: &str) -> Result<(), MetadataError> {
    if cx.has_root(true, field) {
        Ok(())
    } else {
        Err(super::select::no_root(cx, perm))
    }
}

/// An object of column values keyed by SQL name, keyed by GraphQL name, each column allowed
/// for `perm`.
fn columns_object(cx: &Cx, v: &Value, perm: Perm, path: &str) -> Result<Map<String, Value>, MetadataError> {
    let Value::Object(obj) = v else {
        return Err(MetadataError::new("parse-failed", path, "expected Object"));
    };
    let t = cx.info();
    let mut out = Map::new();
    for (k, val) in obj {
        let kpath = format!("{path}.{k}");
        if t.column_by_sql(k).is_none() && t.rel_by_name(k).is_some() {
            return Err(MetadataError::new(
                "unexpected-payload",
                kpath,
                format!("expecting a postgres column; but, \"{k}\" is a relationship; relationships can't be inserted"),
            ));
        }
        let ci = cx.column(cx.table, k, perm, &kpath)?;
        out.insert(t.columns[ci].gql_name.clone(), val.clone());
    }
    Ok(out)
}

pub fn insert(cx: &Cx, args: &Map<String, Value>) -> Result<Plan, MetadataError> {
    cx.require(cx.table, Perm::Insert)?;
    let t = cx.info();
    missing_root(cx, "insert", &t.root.insert)?;
    let objects = match args.get("objects") {
        Some(Value::Array(items)) => items.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        Some(_) => return Err(MetadataError::new("parse-failed", "$.args.objects", "expected Array")),
        None => return Err(MetadataError::new("parse-failed", "$.args", "key \"objects\" not found")),
    };
    if objects.is_empty() {
        return Err(MetadataError::new("unexpected-payload", "$.args.objects", "objects should not be empty"));
    }
    let mut rows = vec![];
    let mut input_columns: Vec<String> = vec![];
    for (i, o) in objects.iter().enumerate() {
        let row = columns_object(cx, o, Perm::Insert, &format!("$.args.objects[{i}]"))?;
        for k in row.keys() {
            if !input_columns.contains(k) {
                input_columns.push(k.clone());
            }
        }
        rows.push(Value::Object(row));
    }
    let mut extra = vec![];
    if let Some(oc) = args.get("on_conflict").filter(|v| !v.is_null()) {
        extra.push(("on_conflict".to_string(), on_conflict(cx, oc, &input_columns)?));
    }
    let mut vars = Vars::default();
    let ty = cx.root_arg_type(true, &t.root.insert, "objects").unwrap_or_default();
    let objects = vars.named("objects", &ty, Value::Array(rows));
    let body = format!("{}(objects: {objects}) {}", t.root.insert, mutation_selection(cx, args)?);
    let (query, variables) = vars.operation("mutation", &body);
    Ok(Plan { query, variables, extra, reply: Reply::Mutation })
}

/// `on_conflict: {constraint | constraint_on, action: ignore | update}` as the compiler's
/// `on_conflict` argument. `update` sets every inserted column from the conflicting row
/// (`EXCLUDED`), which the role must be allowed to update; `ignore` without a target is
/// `ON CONFLICT DO NOTHING` (an empty constraint), which GraphQL cannot say.
fn on_conflict(cx: &Cx, oc: &Value, input_columns: &[String]) -> Result<Arg, MetadataError> {
    let path = "$.args.on_conflict";
    let t = cx.info();
    if let Some(p) = &t.perms {
        if p.update.is_none() {
            return Err(MetadataError::new(
                "permission-denied",
                path,
                format!("upsert is not allowed for role \"{}\"", cx.session.role),
            ));
        }
    }
    let Value::Object(o) = oc else { return Err(MetadataError::new("parse-failed", path, "expected Object")) };
    let update = match o.get("action").and_then(Value::as_str) {
        Some("update") => true,
        Some("ignore") | None => false,
        Some(_) => return Err(MetadataError::new("parse-failed", format!("{path}.action"), "Expecting 'ignore' or 'update'")),
    };
    let constraint_on = o.get("constraint_on").filter(|v| !v.is_null());
    let constraint = o.get("constraint").filter(|v| !v.is_null());
    let gql_constraint = match (constraint, constraint_on) {
        (Some(_), Some(_)) => {
            return Err(MetadataError::new("unexpected-payload", path, "'constraint' and 'constraint_on' cannot be set at a time"))
        }
        (Some(c), None) => {
            let c = c.as_str().ok_or_else(|| MetadataError::new("parse-failed", format!("{path}.constraint"), "expected String"))?;
            let info = t.constraints.iter().find(|x| x.name == c).ok_or_else(|| {
                MetadataError::new(
                    "unexpected",
                    format!("{path}.constraint"),
                    format!("constraint \"{c}\" for table {} does not exist", quoted_table(&t.name)),
                )
            })?;
            info.gql_name.clone()
        }
        (None, Some(cols)) => {
            if !cx.is_admin() {
                return Err(MetadataError::new(
                    "not-supported",
                    path,
                    "\"constraint_on\" not supported for non admin insert. use \"constraint\" instead",
                ));
            }
            let cols: Vec<&str> = match cols {
                Value::String(c) => vec![c.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => return Err(MetadataError::new("parse-failed", format!("{path}.constraint_on"), "Expecting String or Array")),
            };
            let mut wanted = vec![];
            for c in cols {
                wanted.push(cx.column(cx.table, c, Perm::Select, &format!("{path}.constraint_on"))?);
            }
            wanted.sort_unstable();
            let info = t
                .constraints
                .iter()
                .find(|x| {
                    let mut have = x.columns.clone();
                    have.sort_unstable();
                    have == wanted
                })
                .ok_or_else(|| {
                    MetadataError::new(
                        "constraint-error",
                        format!("{path}.constraint_on"),
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                    )
                })?;
            info.gql_name.clone()
        }
        (None, None) if update => {
            return Err(MetadataError::new(
                "unexpected-payload",
                path,
                "Expecting 'constraint' or 'constraint_on' when the 'action' is 'update'",
            ))
        }
        (None, None) => String::new(),
    };
    let mut update_columns = vec![];
    if update {
        // The constraint's own columns are equal on a conflict: setting them is a no-op,
        // which a role needs no right for; every other inserted column it must be allowed
        // to update.
        let keys: Vec<usize> = t.constraints.iter().find(|c| c.gql_name == gql_constraint).map(|c| c.columns.clone()).unwrap_or_default();
        for gql in input_columns {
            let ci = t.column_by_gql(gql).unwrap_or_default();
            if keys.contains(&ci) && !t.columns[ci].update {
                continue;
            }
            cx.column(cx.table, &t.columns[ci].name, Perm::Update, path)?;
            update_columns.push(Arg::constant(Value::String(gql.clone())));
        }
    }
    Ok(Arg::object([
        ("constraint".to_string(), Arg::constant(Value::String(gql_constraint))),
        ("update_columns".to_string(), Arg::list(update_columns)),
    ]))
}

/// The required `where`, translated.
fn required_where(cx: &Cx, args: &Map<String, Value>) -> Result<Value, MetadataError> {
    let w = args.get("where").ok_or_else(|| MetadataError::new("parse-failed", "$.args", "key \"where\" not found"))?;
    bool_exp::translate(cx, cx.table, cx.table, w, "$.args.where")
}

pub fn update(cx: &Cx, args: &Map<String, Value>) -> Result<Plan, MetadataError> {
    cx.require(cx.table, Perm::Update)?;
    let t = cx.info();
    missing_root(cx, "update", &t.root.update)?;
    let exp = required_where(cx, args)?;
    let mut vars = Vars::default();
    let root = &t.root.update;
    let mut field_args = vec![format!("where: {}", vars.named("where", &cx.root_arg_type(true, root, "where").unwrap_or_default(), exp))];
    let set = args.get("$set").or_else(|| args.get("values")).filter(|v| !v.is_null());
    let set_key = if args.contains_key("$set") { "$set" } else { "values" };
    let mut used: Vec<String> = vec![];
    let mut any = false;
    for (key, value, gql) in [(set_key, set, "_set"), ("$inc", args.get("$inc").filter(|v| !v.is_null()), "_inc")] {
        let Some(value) = value else { continue };
        let obj = columns_object(cx, value, Perm::Update, &format!("$.args.{key}"))?;
        if obj.is_empty() {
            continue;
        }
        if gql == "_inc" {
            numeric_only(cx, &obj, key)?;
        }
        used.extend(obj.keys().cloned());
        let ty = cx.root_arg_type(true, root, gql).ok_or_else(|| {
            MetadataError::new("unexpected-payload", format!("$.args.{key}"), format!("{key} needs a numeric column the role may update"))
        })?;
        field_args.push(format!("{gql}: {}", vars.named(gql, &ty, Value::Object(obj))));
        any = true;
    }
    let mut extra = vec![];
    if let Some(mul) = args.get("$mul").filter(|v| !v.is_null()) {
        let obj = columns_object(cx, mul, Perm::Update, "$.args.$mul")?;
        numeric_only(cx, &obj, "$mul")?;
        for (k, v) in &obj {
            if !(v.is_number() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok())) {
                return Err(MetadataError::new("parse-failed", format!("$.args.$mul.{k}"), "expected a number"));
            }
        }
        used.extend(obj.keys().cloned());
        if !obj.is_empty() {
            extra.push(("_mul".to_string(), Arg::object(obj.into_iter().map(|(k, v)| (k, Arg::constant(v))))));
            any = true;
        }
    }
    if let Some(defaults) = args.get("$default").filter(|v| !v.is_null()) {
        let names: Vec<String> =
            cx.column_list("$default", defaults, Perm::Update)?.into_iter().map(|ci| t.columns[ci].gql_name.clone()).collect();
        used.extend(names.iter().cloned());
        if !names.is_empty() {
            extra.push(("_default".to_string(), Arg::list(names.into_iter().map(|n| Arg::constant(Value::String(n))).collect())));
            any = true;
        }
    }
    if !any {
        return Err(MetadataError::new("unexpected-payload", "$.args", "atleast one of $set, $inc, $mul has to be present"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = used.iter().find(|c| !seen.insert(*c)) {
        return Err(MetadataError::new(
            "unexpected-payload",
            "$.args",
            format!("column \"{dup}\" is set by more than one of $set, $inc, $mul and $default"),
        ));
    }
    let body = format!("{root}({}) {}", field_args.join(", "), mutation_selection(cx, args)?);
    let (query, variables) = vars.operation("mutation", &body);
    Ok(Plan { query, variables, extra, reply: Reply::Mutation })
}

/// `$inc` and `$mul` apply to numeric columns only.
fn numeric_only(cx: &Cx, obj: &Map<String, Value>, key: &str) -> Result<(), MetadataError> {
    let t = cx.info();
    for k in obj.keys() {
        let ci = t.column_by_gql(k).unwrap_or_default();
        if t.columns[ci].category != TypeCategory::Numeric || t.columns[ci].is_array {
            return Err(MetadataError::new(
                "unexpected-payload",
                format!("$.args.{key}.{}", t.columns[ci].name),
                format!("{key} needs a numeric column, but \"{}\" is not one", t.columns[ci].name),
            ));
        }
    }
    Ok(())
}

pub fn delete(cx: &Cx, args: &Map<String, Value>) -> Result<Plan, MetadataError> {
    cx.require(cx.table, Perm::Delete)?;
    let t = cx.info();
    missing_root(cx, "delete", &t.root.delete)?;
    let exp = required_where(cx, args)?;
    let mut vars = Vars::default();
    let ty = cx.root_arg_type(true, &t.root.delete, "where").unwrap_or_default();
    let body = format!("{}(where: {}) {}", t.root.delete, vars.named("where", &ty, exp), mutation_selection(cx, args)?);
    let (query, variables) = vars.operation("mutation", &body);
    Ok(Plan { query, variables, extra: vec![], reply: Reply::Mutation })
}
