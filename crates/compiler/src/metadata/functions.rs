//! Tracking SQL functions: `pg_track_function`, `pg_untrack_function`,
//! `pg_set_function_customization`, `pg_create_function_permission`,
//! `pg_drop_function_permission` (and un-prefixed forms).

use serde_json::{json, Value};

use crate::dbcatalog::QualifiedName;
use crate::error::MetadataError;
use crate::metadata::args::{from_value, parse_failed, Args};
use crate::metadata::consistency::ObjectId;
use crate::metadata::model::{FunctionConfig, FunctionEntry, Metadata};
use crate::metadata::names::{dq, dq_q};
use crate::metadata::ops::{change_checked, source_mut, source_ref, success, Env};
use crate::metadata::tables::graphql_name;

/// `{function, configuration, comment, source}`; legacy `track_function {schema, name}`.
/// A VOLATILE function is exposed as a mutation unless `exposed_as` says otherwise.
pub fn track(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let function = args.table_or_self("function")?;
    let configuration = parse_config(args)?;
    let comment = args.opt_str("comment")?;
    let src = source_ref(md, &source)?;
    if src.function(&function).is_some() {
        return Err(MetadataError::new(
            "already-tracked",
            "$.args",
            format!("function already tracked: {}", dq_q(&function)),
        ));
    }
    if src.table(&function).is_some() {
        return Err(MetadataError::new(
            "not-supported",
            "$.args",
            format!("table with name {} already exists", dq_q(&function)),
        ));
    }
    let id = ObjectId::Function { source: source.clone(), function: function.clone() };
    change_checked(md, env, id, |md| {
        let entry = FunctionEntry { function, configuration, permissions: vec![], comment };
        source_mut(md, &source)?.functions.push(entry);
        Ok(())
    })?;
    Ok(success())
}

/// `{function, source}`; legacy `{schema, name}`.
pub fn untrack(md: &mut Metadata, _env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let function = args.table_or_self("function")?;
    tracked(md, &source, &function, &args.path_of("function"))?;
    source_mut(md, &source)?.functions.retain(|f| f.function != function);
    Ok(success())
}

/// `{function, configuration, source}`: replaces the configuration.
pub fn set_customization(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let function = args.qualified("function")?;
    let configuration = parse_config(args)?;
    tracked(md, &source, &function, &args.path_of("function"))?;
    let id = ObjectId::Function { source: source.clone(), function: function.clone() };
    change_checked(md, env, id, |md| {
        if let Some(f) = source_mut(md, &source)?.function_mut(&function) {
            f.configuration = configuration;
        }
        Ok(())
    })?;
    Ok(success())
}

/// `{function, role, source}`.
pub fn create_permission(md: &mut Metadata, _env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let function = args.qualified("function")?;
    let role = args.str("role")?;
    let entry = tracked(md, &source, &function, &args.path_of("function"))?;
    if has_role(&entry.permissions, &role) {
        return Err(MetadataError::new(
            "already-exists",
            "$.args",
            format!("permission of role {} already exists for function {}", dq(&role), dq_q(&function)),
        ));
    }
    if let Some(f) = source_mut(md, &source)?.function_mut(&function) {
        f.permissions.push(json!({"role": role}));
    }
    Ok(success())
}

/// `{function, role, source}`.
pub fn drop_permission(md: &mut Metadata, _env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let function = args.qualified("function")?;
    let role = args.str("role")?;
    let entry = tracked(md, &source, &function, &args.path_of("function"))?;
    if !has_role(&entry.permissions, &role) {
        return Err(MetadataError::new(
            "not-exists",
            "$.args",
            format!("permission of role {} does not exist for function {}", dq(&role), dq_q(&function)),
        ));
    }
    if let Some(f) = source_mut(md, &source)?.function_mut(&function) {
        f.permissions.retain(|p| p.get("role").and_then(|r| r.as_str()) != Some(role.as_str()));
    }
    Ok(success())
}

fn has_role(perms: &[Value], role: &str) -> bool {
    perms.iter().any(|p| p.get("role").and_then(|r| r.as_str()) == Some(role))
}

fn tracked<'m>(
    md: &'m Metadata,
    source: &str,
    f: &QualifiedName,
    path: &str,
) -> Result<&'m FunctionEntry, MetadataError> {
    source_ref(md, source)?
        .function(f)
        .ok_or_else(|| MetadataError::new("not-exists", path, format!("function {} not found in the cache", dq_q(f))))
}

/// `configuration`: `{custom_name, custom_root_fields: {function, function_aggregate},
/// session_argument, exposed_as: "query" | "mutation"}`.
fn parse_config(args: &Args) -> Result<FunctionConfig, MetadataError> {
    let Some(v) = args.get("configuration") else { return Ok(FunctionConfig::default()) };
    let path = args.path_of("configuration");
    let config: FunctionConfig = from_value(v, &path)?;
    validate_config(&config, &path)?;
    Ok(config)
}

pub fn validate_config(config: &FunctionConfig, path: &str) -> Result<(), MetadataError> {
    if let Some(name) = &config.custom_name {
        graphql_name(name, &format!("{path}.custom_name"))?;
    }
    for (key, name) in &config.custom_root_fields {
        if key != "function" && key != "function_aggregate" {
            return Err(parse_failed(
                format!("{path}.custom_root_fields"),
                format!(
                    "unexpected key {} in custom_root_fields, expected one of function, function_aggregate",
                    dq(key)
                ),
            ));
        }
        graphql_name(name, &format!("{path}.custom_root_fields.{key}"))?;
    }
    match config.exposed_as.as_deref() {
        None | Some("query") | Some("mutation") => Ok(()),
        Some(other) => Err(parse_failed(
            format!("{path}.exposed_as"),
            format!("unexpected value {} for exposed_as, expected \"query\" or \"mutation\"", dq(other)),
        )),
    }
}
