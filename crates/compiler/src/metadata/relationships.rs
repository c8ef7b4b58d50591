//! `pg_create_object_relationship`, `pg_create_array_relationship`, `pg_drop_relationship`,
//! `pg_rename_relationship`, `pg_set_relationship_comment` (and their un-prefixed forms).

use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::args::Args;
use crate::metadata::consistency::ObjectId;
use crate::metadata::dependents;
use crate::metadata::model::{Metadata, RelKind, Relationship, TableEntry};
use crate::metadata::rel_using::parse_using;
use crate::metadata::names::{dq, dq_q};
use crate::metadata::ops::{
    change_checked, reject_new_inconsistencies, source_mut, success, tracked_mut, tracked_ref, Env,
};

/// `{table, name, using, comment, source}`.
pub fn create(md: &mut Metadata, env: &Env, args: &Args, kind: RelKind) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("name")?;
    let using = parse_using(args.req("using")?, &args.path_of("using"), kind)?;
    let comment = args.opt_str("comment")?;
    let path = args.path_of("table");
    let entry = tracked_ref(md, &source, &table, &path)?;
    if field_exists(entry, env, &name) {
        return Err(MetadataError::new(
            "already-exists",
            "$.args",
            format!("field with name {} already exists in table {}", dq(&name), dq_q(&table)),
        ));
    }
    let id = ObjectId::Relationship { source: source.clone(), table: table.clone(), name: name.clone(), kind };
    change_checked(md, env, id, |md| {
        let rel = Relationship { name, using, comment };
        tracked_mut(md, &source, &table, &path)?.relationships_mut(kind).push(rel);
        Ok(())
    })?;
    Ok(success())
}

/// Whether `name` is taken on this table: a column, relationship, computed field or remote
/// relationship (Hasura's field info map).
fn field_exists(entry: &TableEntry, env: &Env, name: &str) -> bool {
    let column = env.db.table(&entry.table.schema, &entry.table.name).is_some_and(|t| t.column(name).is_some());
    let remote = entry.remote_relationships.iter().any(|r| r.get("name").and_then(|n| n.as_str()) == Some(name));
    column || remote || entry.field_names().any(|n| n == name)
}

/// `{table, relationship, cascade, source}`.
pub fn drop(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("relationship")?;
    let cascade = args.bool_or("cascade", false)?;
    let entry = tracked_ref(md, &source, &table, &args.path_of("table"))?;
    ask_relationship(entry, env, &name, &args.path_of("relationship"))?;
    let deps = dependents::of_field(entry, &name);
    let before = env.inconsistent_ids(md);
    let src = source_mut(md, &source)?;
    dependents::remove_or_refuse(src, &deps, cascade)?;
    dependents::Dependent::Relationship { table, name }.remove(src);
    reject_new_inconsistencies(md, env, &before, None)?;
    Ok(success())
}

/// `{table, name, new_name, source}`; permissions using the old name are rewritten.
pub fn rename(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("name")?;
    let new_name = args.str("new_name")?;
    let path = args.path_of("table");
    let entry = tracked_ref(md, &source, &table, &path)?;
    let kind = ask_relationship(entry, env, &name, &args.path_of("name"))?;
    if field_exists(entry, env, &new_name) {
        return Err(MetadataError::new(
            "already-exists",
            "$.args",
            format!(
                "cannot rename relationship {} to {} in table {} as a column/relationship with the name already exists",
                dq(&name),
                dq(&new_name),
                dq_q(&table)
            ),
        ));
    }
    let id = ObjectId::Relationship { source: source.clone(), table: table.clone(), name: new_name.clone(), kind };
    change_checked(md, env, id, |md| {
        let entry = tracked_mut(md, &source, &table, &path)?;
        if let Some(rel) = entry.relationship_mut(&name) {
            rel.name = new_name.clone();
        }
        for kind in crate::metadata::model::PermKind::ALL {
            for p in entry.permissions_mut(kind) {
                dependents::rename_in_permission(&mut p.permission, &name, &new_name);
            }
        }
        Ok(())
    })?;
    Ok(success())
}

/// `{table, relationship, comment, source}`.
pub fn set_comment(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = if args.has("relationship") { args.str("relationship")? } else { args.str("name")? };
    let comment = args.opt_str("comment")?;
    let path = args.path_of("table");
    ask_relationship(tracked_ref(md, &source, &table, &path)?, env, &name, &args.path_of("relationship"))?;
    if let Some(rel) = tracked_mut(md, &source, &table, &path)?.relationship_mut(&name) {
        rel.comment = comment;
    }
    Ok(success())
}

/// Hasura's `askRelType`: the relationship's kind, or why `name` isn't one.
fn ask_relationship(entry: &TableEntry, env: &Env, name: &str, path: &str) -> Result<RelKind, MetadataError> {
    if let Some((kind, _)) = entry.relationship(name) {
        return Ok(kind);
    }
    let is_column = env.db.table(&entry.table.schema, &entry.table.name).is_some_and(|t| t.column(name).is_some());
    if is_column {
        Err(MetadataError::new(
            "unexpected-payload",
            path,
            format!("expecting a relationship; but, {} is a postgres column", dq(name)),
        ))
    } else {
        Err(MetadataError::new("not-exists", path, format!("{} does not exist", dq(name))))
    }
}
