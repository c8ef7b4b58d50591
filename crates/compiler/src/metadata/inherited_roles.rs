//! `add_inherited_role` / `drop_inherited_role`: roles whose permissions are the union of other
//! roles' (stored in the top-level `inherited_roles` section).

use std::collections::{HashMap, HashSet};

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

fn role_name(entry: &Value) -> Option<&str> {
    entry.get("role_name").and_then(|n| n.as_str())
}

/// The parents of inherited role `role` (empty for ordinary roles). Reads the section in
/// place; code asking for many roles uses [`index`].
pub fn parents(md: &Metadata, role: &str) -> Vec<String> {
    md.other
        .get("inherited_roles")
        .and_then(|v| v.as_array())
        .and_then(|all| all.iter().find(|r| role_name(r) == Some(role)))
        .map(role_set)
        .unwrap_or_default()
}

/// Every inherited role's parents, by role name: one pass over the section.
pub fn index(md: &Metadata) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for r in md.other.get("inherited_roles").and_then(|v| v.as_array()).map(Vec::as_slice).unwrap_or_default() {
        if let Some(name) = role_name(r) {
            out.entry(name.to_string()).or_insert_with(|| role_set(r));
        }
    }
    out
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
    let parents_of = index(md);
    if parents_of.contains_key(name.as_str()) {
        return Err(MetadataError::new("already-exists", "$.args", format!("the inherited role {} already exists", dq(&name))));
    }
    // Reject cycles: no parent may (transitively) inherit from the new role. Each role is
    // visited once, through the index: linear in the section, where looking each parent up
    // by a scan made a chain of n roles cost O(n²) per add and O(n³) per bulk.
    let mut stack = set.clone();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(r) = stack.pop() {
        crate::interrupt::tick_metadata()?;
        if r == name {
            return Err(MetadataError::new(
                "cyclic-dependency",
                "$.args",
                format!("found cycle(s) in roles: inherited role {} is part of its own role_set", dq(&name)),
            ));
        }
        if !seen.contains(&r) {
            if let Some(p) = parents_of.get(&r) {
                stack.extend(p.iter().cloned());
            }
            seen.insert(r);
        }
    }
    let entry = json!({"role_name": name, "role_set": set});
    match md.other.get_mut("inherited_roles") {
        Some(Value::Array(all)) => all.push(entry),
        _ => {
            md.other.insert("inherited_roles".into(), Value::Array(vec![entry]));
        }
    }
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
