//! Sources: `pg_add_source`, `pg_update_source`, `pg_drop_source`, `rename_source`, and the
//! one-source rule of `replace_metadata`.
//!
//! Graft serves one source: the database it is installed in. That source may have any name and
//! any `configuration`: both are kept and exported as given, but the connection information is
//! not used (the extension is already in its database), so a `database_url` pointing elsewhere
//! still means this database. A second source is refused with `not-supported`, whether added
//! or declared in a document.
//!
//! Messages are Hasura's (`RQL/DDL/Schema/Source.hs`): `source with name "x" already exists`,
//! `Could not find source with name "x"` (rename), `Source with name "y" already exists`
//! (rename), `source with name "x" does not exist`.

// Every metadata request returns `MetadataError`, as the other request modules do.
#![allow(clippy::result_large_err)]

use serde_json::Value;

use crate::error::MetadataError;
use crate::metadata::args::Args;
use crate::metadata::model::{Metadata, Source};
use crate::metadata::names::dq;
use crate::metadata::ops::success;

fn position(md: &Metadata, name: &str) -> Option<usize> {
    md.sources.iter().position(|s| s.name == name)
}

fn second_source(md: &Metadata, name: &str, path: &str) -> MetadataError {
    let current = md.sources.first().map_or_else(String::new, |s| format!(" (here named {})", dq(&s.name)));
    MetadataError::new(
        "not-supported",
        path,
        format!("Graft serves one source, the database it is installed in{current}: source {} cannot be added", dq(name)),
    )
}

/// `pg_add_source {name, configuration, replace_configuration, customization}`.
pub fn add(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    let configuration = args.req("configuration")?.clone();
    let replace = args.bool_or("replace_configuration", false)?;
    let customization = args.get("customization").cloned();
    match position(md, &name) {
        Some(i) if replace => {
            md.sources[i].configuration = configuration;
            md.sources[i].customization = customization;
        }
        Some(_) => return Err(MetadataError::new("already-exists", &args.path, format!("source with name {} already exists", dq(&name)))),
        None if !md.sources.is_empty() => return Err(second_source(md, &name, &args.path)),
        None => md.sources.push(Source { name, kind: "postgres".into(), tables: vec![], functions: vec![], configuration, customization }),
    }
    Ok(success())
}

/// `pg_update_source {name, configuration?, customization?}`.
pub fn update(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    let i = position(md, &name)
        .ok_or_else(|| MetadataError::new("not-exists", &args.path, format!("source with name {} does not exist", dq(&name))))?;
    if let Some(c) = args.get("configuration") {
        md.sources[i].configuration = c.clone();
    }
    if let Some(c) = args.get("customization") {
        md.sources[i].customization = Some(c.clone());
    }
    Ok(success())
}

/// `pg_drop_source {name, cascade}`: the source and everything tracked in it go (Graft has no
/// other source whose metadata could depend on it, so `cascade` changes nothing).
pub fn drop(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    args.bool_or("cascade", false)?;
    let i = position(md, &name)
        .ok_or_else(|| MetadataError::new("not-exists", &args.path, format!("source with name {} does not exist", dq(&name))))?;
    md.sources.remove(i);
    Ok(success())
}

/// `rename_source {name, new_name}`.
pub fn rename(md: &mut Metadata, args: &Args) -> Result<Value, MetadataError> {
    let name = args.str("name")?;
    let new_name = args.str("new_name")?;
    let i = position(md, &name)
        .ok_or_else(|| MetadataError::new("not-exists", &args.path, format!("Could not find source with name {}", dq(&name))))?;
    if position(md, &new_name).is_some() {
        return Err(MetadataError::new("already-exists", &args.path, format!("Source with name {} already exists", dq(&new_name))));
    }
    md.sources[i].name = new_name;
    Ok(success())
}

/// A document may declare no source or one, under any name; a second is refused, at its path.
pub fn one_source(md: &Metadata, path: &str) -> Result<(), MetadataError> {
    match md.sources.get(1) {
        None => Ok(()),
        Some(second) => {
            let mut first_only = md.clone();
            first_only.sources.truncate(1);
            Err(second_source(&first_only, &second.name, &format!("{path}.sources[1]")))
        }
    }
}
