//! The shape of a permission body, as Hasura's parsers read it (`Hasura.RQL.Types.Permission`:
//! `InsPerm`, `SelPerm`, `UpdPerm`, `DelPerm`): which keys are required, what each must hold,
//! and the order in which they are read (the first problem in that order is the one reported).
//! Optional keys that are absent or `null` take their defaults; a required key must be present
//! (`key "filter" not found`) and must not be `null`.

use serde_json::Value;

use crate::metadata::args::kind_name;
use crate::metadata::model::PermKind;

/// What a key must hold.
#[derive(Clone, Copy)]
enum Shape {
    BoolExp,
    ColumnValues,
    /// `"*"` or a list of column names.
    ColSpec,
    Bool,
    Limit,
    /// A list of names (computed fields).
    Names,
    /// A list of root field kinds: Hasura's enum type and its tags.
    RootFields(&'static str, &'static [&'static str]),
    /// Checked elsewhere (`validate_input`: see `unsupported`).
    Any,
}

struct Key {
    name: &'static str,
    required: bool,
    shape: Shape,
}

const fn key(name: &'static str, required: bool, shape: Shape) -> Key {
    Key { name, required, shape }
}

const QUERY_ROOT_FIELDS: Shape = Shape::RootFields(
    "Hasura.RQL.Types.Permission.QueryRootFieldType",
    &["select", "select_by_pk", "select_aggregate"],
);
const SUBSCRIPTION_ROOT_FIELDS: Shape = Shape::RootFields(
    "Hasura.RQL.Types.Permission.SubscriptionRootFieldType",
    &["select", "select_by_pk", "select_aggregate", "select_stream"],
);

/// The keys of each kind in the order Hasura's `FromJSON` instances read them.
fn keys(kind: PermKind) -> &'static [Key] {
    use Shape::*;
    const INSERT: &[Key] = &[
        key("check", true, BoolExp),
        key("set", false, ColumnValues),
        key("columns", false, ColSpec),
        key("backend_only", false, Bool),
        key("validate_input", false, Any),
    ];
    const SELECT: &[Key] = &[
        key("query_root_fields", false, QUERY_ROOT_FIELDS),
        key("subscription_root_fields", false, SUBSCRIPTION_ROOT_FIELDS),
        key("columns", true, ColSpec),
        key("filter", true, BoolExp),
        key("limit", false, Limit),
        key("allow_aggregations", false, Bool),
        key("computed_fields", false, Names),
    ];
    const UPDATE: &[Key] = &[
        key("columns", true, ColSpec),
        key("set", false, ColumnValues),
        key("filter", true, BoolExp),
        key("check", false, BoolExp),
        key("backend_only", false, Bool),
        key("validate_input", false, Any),
    ];
    const DELETE: &[Key] =
        &[key("filter", true, BoolExp), key("backend_only", false, Bool), key("validate_input", false, Any)];
    match kind {
        PermKind::Insert => INSERT,
        PermKind::Select => SELECT,
        PermKind::Update => UPDATE,
        PermKind::Delete => DELETE,
    }
}

/// What is wrong with the shape of a permission body, before any lookup: the JSON path below
/// `permission` and aeson's message. Hasura's parser refuses such bodies (`parse-failed`); one
/// that is already stored is inconsistent. Keys Hasura does not read are ignored, as it does.
pub fn permission_shape_problem(kind: PermKind, body: &Value) -> Option<(String, String)> {
    let Value::Object(obj) = body else {
        return Some((String::new(), format!("parsing PermDef failed, expected Object, but encountered {}", kind_name(body))));
    };
    for k in keys(kind) {
        let v = match obj.get(k.name) {
            None if k.required => return Some((String::new(), format!("key {:?} not found", k.name))),
            None => continue,
            Some(Value::Null) if !k.required => continue,
            Some(v) => v,
        };
        if let Some((at, msg)) = shape_problem(k.shape, v) {
            return Some((format!(".{}{at}", k.name), msg));
        }
    }
    None
}

fn encountered(what: &str, expected: &str, got: &Value) -> Option<(String, String)> {
    Some((String::new(), format!("parsing {what} failed, expected {expected}, but encountered {}", kind_name(got))))
}

/// The problem with one value, at a path below its key.
fn shape_problem(shape: Shape, v: &Value) -> Option<(String, String)> {
    match shape {
        Shape::Any => None,
        Shape::BoolExp if v.is_object() => None,
        Shape::BoolExp => encountered("boolean expression", "Object", v),
        Shape::ColumnValues if v.is_object() => None,
        Shape::ColumnValues => encountered("ColumnValues", "Object", v),
        Shape::Bool if v.is_boolean() => None,
        Shape::Bool => encountered("Bool", "Boolean", v),
        Shape::ColSpec => match v {
            Value::String(s) if s == "*" => None,
            Value::String(_) => Some((String::new(), format!("expected \"*\" or a list of columns, but encountered {v}"))),
            Value::Array(a) if a.iter().all(Value::is_string) => None,
            _ => encountered("PermColSpec", "Array", v),
        },
        Shape::Limit if v.as_u64().is_some() => None,
        Shape::Limit if v.as_i64().is_some_and(|l| l < 0) => {
            Some((String::new(), format!("unexpected negative value for limit: {v}")))
        }
        Shape::Limit => encountered("Int", "Number", v),
        Shape::Names if v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => None,
        Shape::Names => encountered("[Text]", "Array", v),
        Shape::RootFields(ty, tags) => {
            let Value::Array(items) = v else { return encountered("[]", "Array", v) };
            items.iter().enumerate().find_map(|(i, item)| {
                let problem = match item {
                    Value::String(s) if tags.contains(&s.as_str()) => return None,
                    Value::String(s) => {
                        let tags: Vec<String> = tags.iter().map(|t| format!("{t:?}")).collect();
                        format!("parsing {ty} failed, expected one of the tags [{}], but found tag {s:?}", tags.join(","))
                    }
                    other => format!("parsing {ty} failed, expected String, but encountered {}", kind_name(other)),
                };
                Some((format!("[{i}]"), problem))
            })
        }
    }
}
