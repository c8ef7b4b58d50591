//! `pg_add_computed_field`, `pg_drop_computed_field` (and un-prefixed forms).

use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::args::{from_value, Args};
use crate::metadata::consistency::ObjectId;
use crate::metadata::dependents::{self, Dependent};
use crate::metadata::model::{ComputedField, ComputedFieldDef, Metadata};
use crate::metadata::names::{dq, dq_q};
use crate::metadata::ops::{
    change_checked, reject_new_inconsistencies, source_mut, success, tracked_mut, tracked_ref, Env,
};

/// `{table, name, definition: {function, table_argument?, session_argument?}, comment, source}`.
/// A clash with a column, an unsuitable or missing function are reported as the new
/// computed field's inconsistency (`invalid-configuration`), as Hasura does.
pub fn add(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("name")?;
    let definition: ComputedFieldDef = from_value(args.req("definition")?, &args.path_of("definition"))?;
    let comment = args.opt_str("comment")?;
    let path = args.path_of("table");
    let entry = tracked_ref(md, &source, &table, &path)?;
    if entry.computed_fields.iter().any(|c| c.name == name) {
        return Err(MetadataError::new(
            "already-exists",
            "$.args",
            format!("field with name {} already exists in table {}", dq(&name), dq_q(&table)),
        ));
    }
    let id = ObjectId::ComputedField { source: source.clone(), table: table.clone(), name: name.clone() };
    change_checked(md, env, id, |md| {
        let cf = ComputedField { name, definition, comment };
        tracked_mut(md, &source, &table, &path)?.computed_fields.push(cf);
        Ok(())
    })?;
    Ok(success())
}

/// `{table, name, cascade, source}`.
pub fn drop(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let name = args.str("name")?;
    let cascade = args.bool_or("cascade", false)?;
    let entry = tracked_ref(md, &source, &table, &args.path_of("table"))?;
    if !entry.computed_fields.iter().any(|c| c.name == name) {
        return Err(MetadataError::new(
            "not-exists",
            args.path_of("name"),
            format!("computed field {} does not exist", dq(&name)),
        ));
    }
    let deps = dependents::of_field(entry, &name);
    let before = env.inconsistent_ids(md);
    let src = source_mut(md, &source)?;
    dependents::remove_or_refuse(src, &deps, cascade)?;
    Dependent::ComputedField { table, name }.remove(src);
    reject_new_inconsistencies(md, env, &before, None)?;
    Ok(success())
}
