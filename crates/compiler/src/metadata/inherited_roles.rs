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
    if index(md).contains_key(name.as_str()) {
        return Err(MetadataError::new("already-exists", "$.args", format!("the inherited role {} already exists", dq(&name))));
    }
    let entry = json!({"role_name": name, "role_set": set});
    match md.other.get_mut("inherited_roles") {
        Some(Value::Array(all)) => all.push(entry),
        _ => {
            md.other.insert("inherited_roles".into(), Value::Array(vec![entry]));
        }
    }
    if let Some(e) = cycle_error(md) {
        return Err(e);
    }
    Ok(success())
}

/// Hasura's `orderRoles` refusal of a role inheriting from itself, directly or through other
/// inherited roles: `found cycle(s) in roles: ["a","b","a"], …` (code `cyclic-dependency`,
/// 400), for `add_inherited_role` and for a whole metadata document alike.
pub fn cycle_error(md: &Metadata) -> Option<MetadataError> {
    let cycles = cycles(&index(md));
    if cycles.is_empty() {
        return None;
    }
    let shown: Vec<String> = cycles.iter().map(|c| serde_json::to_string(c).unwrap_or_default()).collect();
    Some(MetadataError::new("cyclic-dependency", "$.args", format!("found cycle(s) in roles: {}", shown.join(", "))))
}

/// Each cycle of the inheritance graph as Hasura prints it: from its least role name along the
/// parent edges, the first role repeated at the end. One per strongly connected component
/// (Kosaraju, iterative: a long chain of roles must not exhaust the stack).
fn cycles(parents_of: &HashMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let mut roles: Vec<&str> = parents_of.keys().map(String::as_str).collect();
    roles.sort();
    let edges = |r: &str| -> Vec<&str> {
        parents_of.get(r).map(|ps| ps.iter().map(String::as_str).filter(|p| parents_of.contains_key(*p)).collect()).unwrap_or_default()
    };
    // Finishing order of a depth-first walk along parent edges.
    let mut finished: Vec<&str> = Vec::with_capacity(roles.len());
    let mut seen: HashSet<&str> = HashSet::new();
    for &root in &roles {
        if !seen.insert(root) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(root, edges(root))];
        while let Some((node, pending)) = stack.last_mut() {
            match pending.pop() {
                Some(next) if seen.insert(next) => {
                    let e = edges(next);
                    stack.push((next, e));
                }
                Some(_) => {}
                None => {
                    finished.push(node);
                    stack.pop();
                }
            }
        }
    }
    // Components of the reversed graph, taken in reverse finishing order.
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for &r in &roles {
        for p in edges(r) {
            children.entry(p).or_default().push(r);
        }
    }
    let mut assigned: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for &root in finished.iter().rev() {
        if !assigned.insert(root) {
            continue;
        }
        let mut component = vec![root];
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            for &c in children.get(n).map(Vec::as_slice).unwrap_or_default() {
                if assigned.insert(c) {
                    component.push(c);
                    stack.push(c);
                }
            }
        }
        let members: HashSet<&str> = component.iter().copied().collect();
        let self_loop = component.len() == 1 && edges(root).contains(&root);
        if component.len() > 1 || self_loop {
            out.push(cycle_path(&members, &edges));
        }
    }
    out.sort();
    out
}

/// A walk through one cyclic component from its least role, always to the least parent inside
/// the component not yet on the walk, back to the start.
fn cycle_path<'a>(members: &HashSet<&'a str>, edges: &dyn Fn(&'a str) -> Vec<&'a str>) -> Vec<String> {
    let start = members.iter().copied().min().unwrap_or_default();
    let mut path = vec![start];
    let mut on_path: HashSet<&str> = HashSet::from([start]);
    let mut at = start;
    loop {
        let mut next: Vec<&str> = edges(at).into_iter().filter(|p| members.contains(p)).collect();
        next.sort();
        match next.iter().find(|p| !on_path.contains(*p)) {
            Some(&p) => {
                path.push(p);
                on_path.insert(p);
                at = p;
            }
            None => break,
        }
    }
    path.push(start);
    path.into_iter().map(str::to_string).collect()
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
