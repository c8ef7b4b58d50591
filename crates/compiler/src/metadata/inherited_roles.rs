//! `add_inherited_role` / `drop_inherited_role`: roles whose permissions are the union of other
//! roles' (stored in the top-level `inherited_roles` section).

use serde_json::{json, Value};

use crate::error::MetadataError;
use crate::metadata::args::{parse_failed, Args};
use crate::metadata::model::Metadata;
use crate::metadata::names::dq;
use crate::metadata::ops::success;

fn roles(md: &Metadata) -> Vec<Value> {
    md.other.get("inherited_roles").and_then(|v| v.as_array()).cloned().unwrap_or_default()
}

fn role_set(entry: &Value) -> Vec<String> {
    entry
        .get("role_set")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The parents of inherited role `role` (empty for ordinary roles).
pub fn parents(md: &Metadata, role: &str) -> Vec<String> {
    roles(md).iter().find(|r| r.get("role_name").and_then(|n| n.as_str()) == Some(role)).map(role_set).unwrap_or_default()
}

/// `{role_name, role_set}`.
pub fn add(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("role_name")?;
    let set: Vec<String> = match args.get("role_set") {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => return Err(parse_failed(args.path_of("role_set"), "expected an array of role names")),
    };
    if set.is_empty() {
        return Err(MetadataError::new("invalid-params", "$.args.role_set", "role_set cannot be empty"));
    }
    if name == "admin" || set.iter().any(|r| r == "admin") {
        return Err(MetadataError::new("constraint-violation", "$.args", "admin role cannot be part of an inherited role"));
    }
    let mut all = roles(md);
    if all.iter().any(|r| r.get("role_name").and_then(|n| n.as_str()) == Some(name.as_str())) {
        return Err(MetadataError::new("already-exists", "$.args", format!("the inherited role {} already exists", dq(&name))));
    }
    // Reject cycles: no parent may (transitively) inherit from the new role.
    let mut stack = set.clone();
    let mut seen = vec![];
    while let Some(r) = stack.pop() {
        if r == name {
            return Err(MetadataError::new(
                "cyclic-dependency",
                "$.args",
                format!("found cycle(s) in roles: inherited role {} is part of its own role_set", dq(&name)),
            ));
        }
        if !seen.contains(&r) {
            stack.extend(parents(md, &r));
            seen.push(r);
        }
    }
    all.push(json!({"role_name": name, "role_set": set}));
    md.other.insert("inherited_roles".into(), Value::Array(all));
    Ok(success())
}

/// `{role_name}`.
pub fn drop(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("role_name")?;
    let mut all = roles(md);
    let before = all.len();
    all.retain(|r| r.get("role_name").and_then(|n| n.as_str()) != Some(name.as_str()));
    if all.len() == before {
        return Err(MetadataError::new("not-exists", "$.args", format!("inherited role {} does not exist", dq(&name))));
    }
    if all.is_empty() {
        md.other.shift_remove("inherited_roles");
    } else {
        md.other.insert("inherited_roles".into(), Value::Array(all));
    }
    Ok(success())
}
