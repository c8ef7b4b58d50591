//! Table permissions: `pg_create_{insert,select,update,delete}_permission`,
//! `pg_drop_*_permission`, `pg_set_permission_comment` (and un-prefixed forms). The permission
//! body is stored as given once it parses and passes the consistency checks
//! (`consistency::permission_problem`): unknown columns, fields or operators are refused.

use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::args::{expected, parse_failed, Args};
use crate::metadata::consistency::{permission_shape_problem, ObjectId};
use crate::metadata::model::{Metadata, PermKind, Permission};
use crate::metadata::names::{dq, dq_q};
use crate::metadata::ops::{change_checked, success, tracked_mut, tracked_ref, Env};

/// `{table, role, permission, comment, source}`. A permission for `admin` is reported as the new
/// permission's inconsistency ("cannot define permission for admin role").
pub fn create(md: &mut Metadata, env: &Env, args: &Args, kind: PermKind) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let role = args.str("role")?;
    let permission = args.req("permission")?.clone();
    if !permission.is_object() {
        return Err(expected(&args.path_of("permission"), "PermDef", "Object", &permission));
    }
    // Hasura's parser refuses a malformed body (a filter that is not an object, a negative
    // limit …); what it names is then checked against the table with the rest of the metadata
    // (`consistency`), so an unknown column fails the request as `invalid-configuration`.
    if let Some((at, msg)) = permission_shape_problem(kind, &permission) {
        return Err(parse_failed(format!("{}{at}", args.path_of("permission")), msg));
    }
    let comment = args.opt_str("comment")?;
    let path = args.path_of("table");
    let entry = tracked_ref(md, &source, &table, &path)?;
    if entry.permissions(kind).iter().any(|p| p.role == role) {
        return Err(MetadataError::new(
            "already-exists",
            "$.args",
            format!("{} permission already defined on table {} with role {}", kind.code(), dq_q(&table), dq(&role)),
        ));
    }
    let id = ObjectId::Permission { source: source.clone(), table: table.clone(), role: role.clone(), kind };
    change_checked(md, env, id, |md| {
        tracked_mut(md, &source, &table, &path)?.permissions_mut(kind).push(Permission { role, permission, comment });
        Ok(())
    })?;
    Ok(success())
}

/// `{table, role, source}`.
pub fn drop(md: &mut Metadata, _env: &Env, args: &Args, kind: PermKind) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let role = args.str("role")?;
    let entry = tracked_mut(md, &source, &table, &args.path_of("table"))?;
    let perms = entry.permissions_mut(kind);
    if !perms.iter().any(|p| p.role == role) {
        return Err(missing(kind, &entry.table, &role));
    }
    perms.retain(|p| p.role != role);
    Ok(success())
}

/// `{table, role, type, comment, source}`.
pub fn set_comment(md: &mut Metadata, _env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let role = args.str("role")?;
    let ty = args.str("type")?;
    let kind = PermKind::from_code(&ty).ok_or_else(|| {
        parse_failed(args.path_of("type"), format!("expected one of insert, select, update, delete, got {}", dq(&ty)))
    })?;
    let comment = args.opt_str("comment")?;
    let entry = tracked_mut(md, &source, &table, &args.path_of("table"))?;
    let table = entry.table.clone();
    match entry.permissions_mut(kind).iter_mut().find(|p| p.role == role) {
        Some(p) => p.comment = comment,
        None => return Err(missing(kind, &table, &role)),
    }
    Ok(success())
}

fn missing(kind: PermKind, table: &crate::dbcatalog::QualifiedName, role: &str) -> MetadataError {
    MetadataError::new(
        "permission-denied",
        "$.args",
        format!("{} permission on {} for role {} does not exist", kind.code(), dq_q(table), dq(role)),
    )
}
