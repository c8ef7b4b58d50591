//! Tracking tables and views: `pg_track_table(s)`, `pg_untrack_table(s)`, `pg_set_table_is_enum`,
//! `pg_set_table_customization`, legacy `set_table_custom_fields`, and the validation of a table
//! `configuration` Hasura does while parsing it.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::dbcatalog::QualifiedName;
use crate::error::MetadataError;
use crate::metadata::args::{from_value, parse_failed, Args};
use crate::metadata::consistency::ObjectId;
use crate::metadata::dependents;
use crate::metadata::model::{CustomRootField, Metadata, TableConfig, TableEntry};
use crate::metadata::names::{dq_q, english_list, is_graphql_name};
use crate::metadata::ops::{
    change_checked, reject_new_inconsistencies, source_mut, source_ref, success, tracked_mut, tracked_ref, Env,
};

/// The custom root field keys Hasura knows (others are ignored, as Hasura does).
pub const ROOT_FIELD_KEYS: [&str; 11] = [
    "select",
    "select_by_pk",
    "select_aggregate",
    "select_stream",
    "insert",
    "insert_one",
    "update",
    "update_by_pk",
    "update_many",
    "delete",
    "delete_by_pk",
];

/// `pg_track_table {table, source, configuration, is_enum}`; also legacy `track_table`
/// (`{schema, name}` or `{table}`) and `add_existing_table_or_view`.
pub fn track(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.table_or_self("table")?;
    let is_enum = args.bool_or("is_enum", false)?;
    let configuration = match args.get("configuration") {
        Some(v) => parse_config(v, &args.path_of("configuration"))?,
        None => TableConfig::default(),
    };
    track_one(md, env, &source, table, is_enum, configuration)?;
    Ok(success())
}

fn track_one(
    md: &mut Metadata,
    env: &Env,
    source: &str,
    table: QualifiedName,
    is_enum: bool,
    configuration: TableConfig,
) -> Result<(), MetadataError> {
    let src = source_ref(md, source)?;
    let id = ObjectId::Table { source: source.to_string(), table: table.clone() };
    // Hasura asks its schema cache, which holds only consistent tables: a table whose entry is
    // inconsistent (dropped, or with a column that is not a GraphQL name …) may be tracked again,
    // and its entry is replaced by the new one.
    if src.table(&table).is_some() && !env.inconsistent_ids(md).contains(&id) {
        return Err(MetadataError::new(
            "already-tracked",
            "$.args",
            format!("view/table already tracked: {}", dq_q(&table)),
        ));
    }
    if src.function(&table).is_some() {
        return Err(MetadataError::new(
            "not-supported",
            "$.args",
            format!("function with name {} already exists", dq_q(&table)),
        ));
    }
    // As `change_checked`, except that the table itself must be consistent afterwards even
    // when the entry it replaces was not.
    let mut before = env.inconsistent_ids(md);
    before.remove(&id);
    let mut entry = TableEntry::new(table);
    entry.is_enum = is_enum;
    entry.configuration = configuration;
    let tables = &mut source_mut(md, source)?.tables;
    match tables.iter_mut().find(|t| t.table == entry.table) {
        Some(old) => *old = entry,
        None => tables.push(entry),
    }
    reject_new_inconsistencies(md, env, &before, Some(&id))
}

/// `pg_track_tables {tables: [{table, source, configuration, is_enum}]}` — all or nothing.
pub fn track_many(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    for (i, item) in list(args, "tables")?.iter().enumerate() {
        let item = Args::new(item, &format!("{}[{i}]", args.path_of("tables")))?;
        track(md, env, &item)?;
    }
    Ok(success())
}

/// `pg_untrack_table {table, source, cascade}`; legacy `untrack_table`.
pub fn untrack(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.table_or_self("table")?;
    let cascade = args.bool_or("cascade", false)?;
    let src = source_ref(md, &source)?;
    if src.table(&table).is_none() {
        return Err(MetadataError::new(
            "already-untracked",
            "$.args",
            format!("view/table already untracked: {}", dq_q(&table)),
        ));
    }
    let deps = dependents::of_table(src, env.db, &table);
    let before = env.inconsistent_ids(md);
    let src = source_mut(md, &source)?;
    dependents::remove_or_refuse(src, &deps, cascade)?;
    src.tables.retain(|t| t.table != table);
    reject_new_inconsistencies(md, env, &before, None)?;
    Ok(success())
}

/// `pg_untrack_tables {tables: [{table, source, cascade}]}` — all or nothing.
pub fn untrack_many(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    for (i, item) in list(args, "tables")?.iter().enumerate() {
        let item = Args::new(item, &format!("{}[{i}]", args.path_of("tables")))?;
        untrack(md, env, &item)?;
    }
    Ok(success())
}

/// `pg_set_table_is_enum {table, is_enum}`.
pub fn set_is_enum(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let is_enum = match args.req("is_enum")? {
        Value::Bool(b) => *b,
        other => return Err(crate::metadata::args::expected(&args.path_of("is_enum"), "Bool", "Boolean", other)),
    };
    let path = args.path_of("table");
    tracked_ref(md, &source, &table, &path)?;
    let id = ObjectId::Table { source: source.clone(), table: table.clone() };
    change_checked(md, env, id, |md| {
        tracked_mut(md, &source, &table, &path)?.is_enum = is_enum;
        Ok(())
    })?;
    Ok(success())
}

/// `pg_set_table_customization {table, configuration}`: replaces the whole configuration.
pub fn set_customization(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let configuration = match args.get("configuration") {
        Some(v) => parse_config(v, &args.path_of("configuration"))?,
        None => TableConfig::default(),
    };
    replace_config(md, env, &source, &table, &args.path_of("table"), |_| configuration)
}

/// Legacy `set_table_custom_fields {table, custom_root_fields, custom_column_names}`: replaces
/// the root field and column names, keeping the custom table name, comment and column comments.
pub fn set_custom_fields(md: &mut Metadata, env: &Env, args: &Args) -> Result<Value, MetadataError> {
    let source = args.source()?;
    let table = args.qualified("table")?;
    let raw = json!({
        "custom_root_fields": args.get("custom_root_fields").cloned().unwrap_or(json!({})),
        "custom_column_names": args.get("custom_column_names").cloned().unwrap_or(json!({})),
    });
    let fields = parse_config(&raw, &args.path)?;
    replace_config(md, env, &source, &table, &args.path_of("table"), |old| {
        let mut column_config = old.column_config.clone();
        for cc in column_config.values_mut() {
            cc.custom_name = None;
        }
        for (col, cc) in fields.column_config {
            column_config.entry(col).or_default().custom_name = cc.custom_name;
        }
        column_config.retain(|_, cc| cc.custom_name.is_some() || cc.comment.is_some());
        TableConfig { column_config, custom_root_fields: fields.custom_root_fields, ..old.clone() }
    })
}

fn replace_config(
    md: &mut Metadata,
    env: &Env,
    source: &str,
    table: &QualifiedName,
    path: &str,
    new_config: impl FnOnce(&TableConfig) -> TableConfig,
) -> Result<Value, MetadataError> {
    let old = tracked_ref(md, source, table, path)?.configuration.clone();
    let configuration = new_config(&old);
    let id = ObjectId::Table { source: source.to_string(), table: table.clone() };
    change_checked(md, env, id, |md| {
        tracked_mut(md, source, table, path)?.configuration = configuration;
        Ok(())
    })?;
    Ok(success())
}

fn list<'a>(args: &Args<'a>, key: &str) -> Result<&'a Vec<Value>, MetadataError> {
    match args.req(key)? {
        Value::Array(items) => Ok(items),
        other => Err(crate::metadata::args::expected(&args.path_of(key), "[TrackTable]", "Array", other)),
    }
}

/// Parse and validate a table `configuration` as Hasura's parser does.
pub fn parse_config(v: &Value, path: &str) -> Result<TableConfig, MetadataError> {
    let mut config: TableConfig = from_value(v, path)?;
    validate_config(&mut config, path)?;
    Ok(config)
}

/// GraphQL-name checks and duplicate root field names (`the following custom root field names
/// are duplicated: …`); drops unknown root field keys and normalizes `{name}` to `"name"`.
pub fn validate_config(config: &mut TableConfig, path: &str) -> Result<(), MetadataError> {
    if let Some(name) = &config.custom_name {
        graphql_name(name, &format!("{path}.custom_name"))?;
    }
    let roots_path = format!("{path}.custom_root_fields");
    let mut roots: IndexMap<String, CustomRootField> = IndexMap::new();
    for (key, field) in std::mem::take(&mut config.custom_root_fields) {
        if !ROOT_FIELD_KEYS.contains(&key.as_str()) {
            continue;
        }
        let field = match field {
            CustomRootField::Full { name: Some(n), comment: None } => CustomRootField::Name(n),
            CustomRootField::Full { name: None, comment: None } => continue,
            other => other,
        };
        if let Some(name) = field.name() {
            graphql_name(name, &format!("{roots_path}.{key}"))?;
        }
        roots.insert(key, field);
    }
    let mut seen = HashSet::new();
    let mut duplicated: Vec<String> = Vec::new();
    for name in roots.values().filter_map(|f| f.name()) {
        if !seen.insert(name) && !duplicated.iter().any(|d| d == name) {
            duplicated.push(name.to_string());
        }
    }
    if !duplicated.is_empty() {
        return Err(parse_failed(
            roots_path,
            format!("the following custom root field names are duplicated: {}", english_list("and", &duplicated)),
        ));
    }
    config.custom_root_fields = roots;
    for (col, cc) in &config.column_config {
        if let Some(name) = &cc.custom_name {
            graphql_name(name, &format!("{path}.column_config.{col}.custom_name"))?;
        }
    }
    Ok(())
}

/// A GraphQL name, or the parse error Hasura's name parser gives.
pub fn graphql_name(name: &str, path: &str) -> Result<(), MetadataError> {
    if is_graphql_name(name) {
        Ok(())
    } else {
        Err(parse_failed(path, format!("{name} is not valid GraphQL name")))
    }
}
