//! `select` (and the row-reading parts `count` and `returning` share): `columns` with
//! wildcards and nested relationships, `where`, `order_by`, `limit`, `offset`.

use serde_json::{Map, Value};

use super::table::{non_negative, Cx, Perm};
use super::{bool_exp, Plan, Reply};
use crate::error::MetadataError;
use crate::schema::model::RelKindInfo;

/// The variables of the operation being built: `$v1`, `$v2` … with their GraphQL types.
#[derive(Default)]
pub struct Vars {
    defs: Vec<String>,
    values: Map<String, Value>,
}

impl Vars {
    /// A new variable of type `ty` holding `value`; its reference (`$v1`).
    pub fn add(&mut self, ty: &str, value: Value) -> String {
        let name = format!("v{}", self.defs.len() + 1);
        self.defs.push(format!("${name}: {ty}"));
        self.values.insert(name.clone(), value);
        format!("${name}")
    }

    /// A variable named after the request argument it carries (so validation errors point at
    /// it: see `error_from_graphql`).
    pub fn named(&mut self, name: &str, ty: &str, value: Value) -> String {
        self.defs.push(format!("${name}: {ty}"));
        self.values.insert(name.to_string(), value);
        format!("${name}")
    }

    /// The operation `keyword (defs) { r: body }`.
    pub fn operation(self, keyword: &str, body: &str) -> (String, Value) {
        let defs = if self.defs.is_empty() { String::new() } else { format!("({})", self.defs.join(", ")) };
        (format!("{keyword}{defs} {{ r: {body} }}"), Value::Object(self.values))
    }
}

pub fn plan(cx: &Cx, args: &Map<String, Value>) -> Result<Plan, MetadataError> {
    cx.require(cx.table, Perm::Select)?;
    let t = cx.info();
    if !cx.has_root(false, &t.root.select) {
        return Err(no_root(cx, "select"));
    }
    let mut vars = Vars::default();
    let columns = args.get("columns").ok_or_else(|| MetadataError::new("parse-failed", "$.args", "key \"columns\" not found"))?;
    let fields = selection(cx, cx.table, columns, "$.args.columns", &mut vars)?;
    let field_args = rows_args(cx, cx.table, args, "$.args", true, &mut vars, |arg| cx.root_arg_type(false, &t.root.select, arg))?;
    let (query, variables) = vars.operation("query", &format!("{}{field_args} {{ {fields} }}", t.root.select));
    Ok(Plan { query, variables, extra: vec![], reply: Reply::Rows })
}

/// A root field the role's schema lacks although the permission exists (its
/// `query_root_fields` hide it, or the table has no selectable column).
pub fn no_root(cx: &Cx, what: &str) -> MetadataError {
    MetadataError::new(
        "permission-denied",
        "$.args",
        format!("{what} on {} for role \"{}\" is not allowed. ", super::table::quoted_table(&cx.info().name), cx.session.role),
    )
}

/// `(where: …, order_by: …, limit: N, offset: N)` of a field reading rows of table `ti`;
/// `arg_type` gives each argument's GraphQL type. The root field's variables are named after
/// their arguments (`$where`), nested ones numbered.
pub fn rows_args(
    cx: &Cx,
    ti: usize,
    args: &Map<String, Value>,
    path: &str,
    root: bool,
    vars: &mut Vars,
    arg_type: impl Fn(&str) -> Option<String>,
) -> Result<String, MetadataError> {
    let mut out = vec![];
    let missing = |arg: &str| MetadataError::new("unexpected", path, format!("the role's schema has no \"{arg}\" argument here"));
    if let Some(w) = args.get("where").filter(|w| !w.is_null()) {
        let exp = bool_exp::translate(cx, ti, cx.table, w, &format!("{path}.where"))?;
        let ty = arg_type("where").ok_or_else(|| missing("where"))?;
        let var = if root { vars.named("where", &ty, exp) } else { vars.add(&ty, exp) };
        out.push(format!("where: {var}"));
    }
    if let Some(o) = args.get("order_by").filter(|o| !o.is_null()) {
        let items = order_by(cx, ti, o, &format!("{path}.order_by"))?;
        let ty = arg_type("order_by").ok_or_else(|| missing("order_by"))?;
        let var = if root { vars.named("order_by", &ty, Value::Array(items)) } else { vars.add(&ty, Value::Array(items)) };
        out.push(format!("order_by: {var}"));
    }
    for key in ["limit", "offset"] {
        let mut sub = Map::new();
        if let Some(v) = args.get(key) {
            sub.insert(key.to_string(), v.clone());
        }
        if let Some(n) = non_negative(&sub, key).map_err(|e| MetadataError::new(e.code, format!("{path}.{key}"), e.error))? {
            out.push(format!("{key}: {n}"));
        }
    }
    Ok(if out.is_empty() { String::new() } else { format!("({})", out.join(", ")) })
}

/// The selection set for `columns` (a list of column names, wildcards `*`, `*.*` …, and
/// relationship objects) over rows of table `ti`.
pub fn selection(cx: &Cx, ti: usize, columns: &Value, path: &str, vars: &mut Vars) -> Result<String, MetadataError> {
    // Both recurse on the request's nesting (up to graphql.dml's JSON depth bound).
    crate::stack::check(path).map_err(|e| MetadataError::new(e.code, path, e.message))?;
    crate::interrupt::tick().map_err(|e| MetadataError::new(e.code, path, e.message))?;
    let Value::Array(items) = columns else {
        return Err(MetadataError::new("parse-failed", path, "expected Array"));
    };
    let t = &cx.schema.tables[ti];
    let mut fields: Vec<String> = vec![];
    for (i, item) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        match item {
            Value::String(s) if wildcard_depth(s).is_some() => {
                let depth = wildcard_depth(s).unwrap_or(1);
                fields.extend(wildcard(cx, ti, depth, &ipath, vars)?);
            }
            Value::String(c) => {
                if t.column_by_sql(c).is_none() && t.rel_by_name(c).is_some() {
                    return Err(MetadataError::new(
                        "parse-failed",
                        ipath,
                        format!("\"{c}\" is a relationship and should be expanded"),
                    ));
                }
                let ci = cx.column(ti, c, Perm::Select, &ipath)?;
                fields.push(cx.column_field(ti, ci, &ipath)?);
            }
            Value::Object(rel) => fields.push(relationship(cx, ti, rel, &ipath, vars)?),
            _ => {
                return Err(MetadataError::new(
                    "parse-failed",
                    ipath,
                    "A column should either be a string or an object (relationship)",
                ))
            }
        }
    }
    if fields.is_empty() {
        // GraphQL has no empty selection; a row with no keys is what Hasura answers.
        return Err(MetadataError::new("parse-failed", path, "no columns to select"));
    }
    let mut seen = std::collections::HashSet::new();
    fields.retain(|f| seen.insert(f.clone()));
    Ok(fields.join(" "))
}

/// `*` is 1, `*.*` is 2 …; `None` when `s` is not a wildcard.
fn wildcard_depth(s: &str) -> Option<usize> {
    let parts: Vec<&str> = s.split('.').collect();
    parts.iter().all(|p| *p == "*").then_some(parts.len())
}

/// All columns the role may select; with depth > 1, also every relationship it may read,
/// with the next depth's wildcard.
fn wildcard(cx: &Cx, ti: usize, depth: usize, path: &str, vars: &mut Vars) -> Result<Vec<String>, MetadataError> {
    let t = &cx.schema.tables[ti];
    let mut out = vec![];
    for (ci, c) in t.columns.iter().enumerate() {
        if c.select {
            out.push(cx.column_field(ti, ci, path)?);
        }
    }
    if depth > 1 {
        for rel in t.relationships.iter().filter(|r| r.visible) {
            let mut obj = Map::new();
            obj.insert("name".into(), Value::String(rel.name.clone()));
            let star = vec!["*"; depth - 1].join(".");
            obj.insert("columns".into(), Value::Array(vec![Value::String(star)]));
            out.push(relationship(cx, ti, &obj, path, vars)?);
        }
    }
    Ok(out)
}

/// `{"name": rel, "alias"?, "columns", "where"?, "order_by"?, "limit"?, "offset"?}`.
fn relationship(cx: &Cx, ti: usize, rel: &Map<String, Value>, path: &str, vars: &mut Vars) -> Result<String, MetadataError> {
    let t = &cx.schema.tables[ti];
    let name = rel.get("name").and_then(Value::as_str).ok_or_else(|| MetadataError::new("parse-failed", path, "key \"name\" not found"))?;
    let ri = t.rel_by_name(name).ok_or_else(|| {
        MetadataError::new("not-exists", format!("{path}.name"), format!("relationship \"{name}\" does not exist on {}", super::table::quoted_table(&t.name)))
    })?;
    let info = &t.relationships[ri];
    if !info.visible || cx.require(info.target, Perm::Select).is_err() {
        return Err(MetadataError::new(
            "permission-denied",
            path,
            format!(
                "role \"{}\" does not have permission to read relationship \"{name}\"; no permission on table {}",
                cx.session.role,
                super::table::quoted_table(&cx.schema.tables[info.target].name)
            ),
        ));
    }
    let alias = match rel.get("alias") {
        None | Some(Value::Null) => name.to_string(),
        Some(Value::String(a)) if crate::metadata::names::is_graphql_name(a) => a.clone(),
        Some(a) => return Err(MetadataError::new("parse-failed", format!("{path}.alias"), format!("invalid alias {a}"))),
    };
    let columns = rel.get("columns").ok_or_else(|| MetadataError::new("parse-failed", path, "key \"columns\" not found"))?;
    let inner = selection(cx, info.target, columns, &format!("{path}.columns"), vars)?;
    let field_args = match info.kind {
        RelKindInfo::Array => rows_args(cx, info.target, rel, path, false, vars, |arg| cx.field_arg_type(&t.type_name, name, arg))?,
        RelKindInfo::Object => String::new(),
    };
    let head = if alias == name { name.to_string() } else { format!("{alias}: {name}") };
    Ok(format!("{head}{field_args} {{ {inner} }}"))
}

/// `order_by`: `"+col"`, `"-col"`, `"col"`, `"rel.col"`, `{"column", "type", "nulls"}`, or
/// a list of them, as `[T_order_by!]` items.
pub fn order_by(cx: &Cx, ti: usize, v: &Value, path: &str) -> Result<Vec<Value>, MetadataError> {
    let items: Vec<(&Value, String)> = match v {
        Value::Array(items) => items.iter().enumerate().map(|(i, x)| (x, format!("{path}[{i}]"))).collect(),
        other => vec![(other, path.to_string())],
    };
    let mut out = vec![];
    for (item, ipath) in items {
        let (column, ty, nulls) = match item {
            Value::String(s) => match s.strip_prefix('+') {
                Some(c) => (c.to_string(), Some("asc"), None),
                None => match s.strip_prefix('-') {
                    Some(c) => (c.to_string(), Some("desc"), None),
                    None => (s.clone(), None, None),
                },
            },
            Value::Object(o) => {
                let column = o
                    .get("column")
                    .and_then(Value::as_str)
                    .ok_or_else(|| MetadataError::new("parse-failed", &ipath, "key \"column\" not found"))?;
                let ty = match o.get("type").and_then(Value::as_str) {
                    None => None,
                    Some("asc") => Some("asc"),
                    Some("desc") => Some("desc"),
                    Some(_) => return Err(MetadataError::new("parse-failed", format!("{ipath}.type"), "expecting asc or desc")),
                };
                let nulls = match o.get("nulls").and_then(Value::as_str) {
                    None => None,
                    Some("first") => Some("first"),
                    Some("last") => Some("last"),
                    Some(_) => return Err(MetadataError::new("parse-failed", format!("{ipath}.nulls"), "expecting first or last")),
                };
                (column.to_string(), ty, nulls)
            }
            _ => return Err(MetadataError::new("parse-failed", ipath, "expecting an object or string for order by")),
        };
        let direction = match (ty.unwrap_or("asc"), nulls) {
            (d, None) => d.to_string(),
            (d, Some(n)) => format!("{d}_nulls_{n}"),
        };
        out.push(order_path(cx, ti, &column, &direction, &ipath)?);
    }
    Ok(out)
}

/// `rel.rel2.col` through object relationships as nested `{rel: {rel2: {col: dir}}}`.
fn order_path(cx: &Cx, ti: usize, column: &str, direction: &str, path: &str) -> Result<Value, MetadataError> {
    let t = &cx.schema.tables[ti];
    if let Some((head, rest)) = column.split_once('.') {
        let ri = t.rel_by_name(head).ok_or_else(|| MetadataError::new("not-exists", path, format!("relationship \"{head}\" does not exist")))?;
        let rel = &t.relationships[ri];
        if rel.kind != RelKindInfo::Object {
            return Err(MetadataError::new("parse-failed", path, format!("\"{head}\" is an array relationship: only object relationships can be used in order_by")));
        }
        cx.require(rel.target, Perm::Select)?;
        let inner = order_path(cx, rel.target, rest, direction, path)?;
        return Ok(Value::Object(Map::from_iter([(head.to_string(), inner)])));
    }
    let ci = cx.column(ti, column, Perm::Select, path)?;
    Ok(Value::Object(Map::from_iter([(t.columns[ci].gql_name.clone(), Value::String(direction.to_string()))])))
}
