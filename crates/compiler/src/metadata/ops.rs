//! The `/v1/metadata` API as pure functions over [`Metadata`] and the [`DbCatalog`].
//!
//! Every request runs on a copy of the metadata that replaces the original only on success.
//! Like Hasura, a request is checked twice: first its own preconditions (the table is tracked,
//! the name is free …), then the whole metadata is re-checked against the database and any
//! object the request made inconsistent fails it (`invalid-configuration`, with the object's
//! reasons), as does any other new inconsistency (`cannot continue due to new inconsistent
//! metadata`).

use std::cell::Cell;
use std::collections::HashSet;

use serde_json::{json, Value};

use crate::dbcatalog::{DbCatalog, QualifiedName};
use crate::error::MetadataError;
use crate::metadata::args::{expected, parse_failed, Args};
use crate::metadata::consistency::{check_indexed, DbIndex, Found, ObjectId};
use crate::metadata::model::{Metadata, PermKind, RelKind, Source, TableEntry};
use crate::metadata::names::{dq, dq_q};
use crate::metadata::{
    computed_fields, cron_triggers, document, event_triggers, functions, permissions, relationships, sources, tables, track_all, unsupported,
};

/// The result of one metadata request.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The JSON body Hasura answers with (`{"message":"success"}`, the exported metadata, …).
    pub response: Value,
    /// Whether `md` changed and must be stored (and the resource version bumped).
    pub changed: bool,
}

/// Apply one `/v1/metadata` (or legacy `/v1/query`) request to `md`. On error `md` is left as
/// it was. `resource_version` is the stored version, echoed by `export_metadata` v2.
pub fn apply(
    md: &mut Metadata,
    db: &DbCatalog,
    request: &Value,
    resource_version: i64,
) -> Result<Outcome, MetadataError> {
    let req = Request::parse(request, "$")?;
    if let Some(rv) = req.resource_version {
        if rv != resource_version {
            return Err(MetadataError::new(
                "conflict",
                "$",
                format!("metadata resource version referenced ({rv}) did not match current version"),
            ));
        }
    }
    let env = Env { db, index: DbIndex::new(db), resource_version, known_consistent: Cell::new(false) };
    let mut work = md.clone();
    let response = run(&mut work, &env, &req, 0)?;
    let changed = !req.is_read_only() && serde_json::to_value(&work).ok() != serde_json::to_value(&*md).ok();
    // `replace_metadata` checks its document itself, before its inconsistencies.
    if changed && req.ty != "replace_metadata" {
        let inconsistent = env.inconsistent_ids(&work);
        if let Some(e) = crate::metadata::consistency::schema_error(&work, &env.index, &inconsistent) {
            return Err(e);
        }
    }
    if changed {
        *md = work;
    }
    Ok(Outcome { response, changed })
}

/// The `bulk` request that tracks every table and view of `schema` not yet tracked and creates
/// the relationships its foreign keys imply, both directions, with Graft's default names.
pub fn track_all_request(md: &Metadata, db: &DbCatalog, schema: &str) -> Value {
    track_all::request(md, db, schema)
}

/// Whether `md` has an enum table (`is_enum`, in the database, with a one-column primary key)
/// whose rows `db` does not carry. The extension loads the rows of the stored metadata's enum
/// tables; a request that makes a table an enum table (`pg_set_table_is_enum`, `pg_track_table`
/// with `is_enum`, `replace_metadata`) must be re-checked with that table's rows, or an enum
/// table without rows or with values that are not GraphQL names would pass as consistent.
pub fn enum_values_missing(md: &Metadata, db: &DbCatalog) -> bool {
    md.sources.iter().flat_map(|s| s.tables.iter()).filter(|t| t.is_enum).any(|t| {
        db.table(&t.table.schema, &t.table.name).is_some_and(|dbt| {
            dbt.primary_key.as_ref().is_some_and(|pk| pk.columns.len() == 1)
                && !db.enum_values.contains_key(&format!("{}.{}", t.table.schema, t.table.name))
        })
    })
}

/// What a handler may consult besides the metadata.
pub(crate) struct Env<'a> {
    pub db: &'a DbCatalog,
    pub index: DbIndex<'a>,
    pub resource_version: i64,
    /// The working copy is known to have no inconsistent objects, so the state before the next
    /// change needs no re-check (a bulk of N consistent changes costs N checks, not 2N).
    known_consistent: Cell<bool>,
}

impl Env<'_> {
    pub fn check(&self, md: &Metadata) -> Vec<Found> {
        check_indexed(md, &self.index)
    }

    /// Ids of the objects of `md` that are inconsistent now.
    pub fn inconsistent_ids(&self, md: &Metadata) -> HashSet<ObjectId> {
        if self.known_consistent.get() {
            HashSet::new()
        } else {
            self.check(md).into_iter().map(|f| f.id).collect()
        }
    }

    fn forget_consistency(&self) {
        self.known_consistent.set(false);
    }
}

/// Requests whose every change goes through [`change_checked`] or
/// [`reject_new_inconsistencies`], which keep [`Env::known_consistent`] up to date.
fn keeps_consistency_known(ty: &str) -> bool {
    matches!(
        ty.strip_prefix("pg_").unwrap_or(ty),
        "track_table"
            | "add_existing_table_or_view"
            | "track_tables"
            | "untrack_table"
            | "untrack_tables"
            | "set_table_is_enum"
            | "set_table_customization"
            | "set_table_custom_fields"
            | "create_object_relationship"
            | "create_array_relationship"
            | "drop_relationship"
            | "rename_relationship"
            | "add_computed_field"
            | "drop_computed_field"
            | "track_function"
            | "set_function_customization"
            | "create_insert_permission"
            | "create_select_permission"
            | "create_update_permission"
            | "create_delete_permission"
            | "bulk"
            | "bulk_atomic"
    )
}

/// One parsed request: `{"type", "args", "version"?, "resource_version"?}`.
pub(crate) struct Request<'a> {
    pub ty: String,
    pub args: &'a Value,
    pub version: u64,
    pub resource_version: Option<i64>,
    /// JSON path of this request (`$`, or `$.args[2]` inside a bulk).
    pub path: String,
    wrapped: std::sync::OnceLock<Value>,
}

static EMPTY_ARGS: Value = Value::Null;

impl<'a> Request<'a> {
    pub fn parse(v: &'a Value, path: &str) -> Result<Request<'a>, MetadataError> {
        let obj = v.as_object().ok_or_else(|| expected(path, "RQLMetadata", "Object", v))?;
        let ty = match obj.get("type") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(expected(&format!("{path}.type"), "Text", "String", other)),
            None => return Err(parse_failed(path, "key \"type\" not found")),
        };
        let version = match obj.get("version") {
            None | Some(Value::Null) => 1,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(1),
            Some(Value::String(s)) if s.parse::<u64>().is_ok() => s.parse().unwrap_or(1),
            Some(other) => return Err(expected(&format!("{path}.version"), "MetadataVersion", "Number", other)),
        };
        // Hasura's `APIVersion` parser.
        if !matches!(version, 1 | 2) {
            return Err(parse_failed(format!("{path}.version"), format!("expected 1 or 2, encountered {version}")));
        }
        let resource_version = match obj.get("resource_version") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(other) => return Err(expected(&format!("{path}.resource_version"), "Int", "Number", other)),
        };
        Ok(Request {
            ty,
            args: obj.get("args").unwrap_or(&EMPTY_ARGS),
            version,
            resource_version,
            path: path.into(),
            wrapped: std::sync::OnceLock::new(),
        })
    }

    /// The args as an object (`{}` when absent).
    pub fn args(&self) -> Result<Args<'a>, MetadataError> {
        static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        let v = if self.args.is_null() { EMPTY.get_or_init(|| json!({})) } else { self.args };
        Args::new(v, &format!("{}.args", self.path))
    }

    /// Legacy v1 `track_table`/`track_function` args may be a bare name: `"author"`.
    fn named_args(&self, key: &str) -> Result<Args<'_>, MetadataError> {
        match self.args {
            Value::String(_) => {
                let wrapped = self.wrapped.get_or_init(|| json!({ key: self.args }));
                Args::new(wrapped, &format!("{}.args", self.path))
            }
            _ => self.args(),
        }
    }

    fn is_read_only(&self) -> bool {
        matches!(
            self.ty.as_str(),
            "export_metadata" | "get_inconsistent_metadata" | "reload_metadata" | "get_cron_triggers"
        )
    }
}

const MAX_BULK_DEPTH: usize = 8;

/// Run one request against `md` (already a working copy).
pub(crate) fn run(md: &mut Metadata, env: &Env, req: &Request, depth: usize) -> Result<Value, MetadataError> {
    let result = dispatch(md, env, req, depth);
    if result.is_err() || !keeps_consistency_known(&req.ty) {
        env.forget_consistency();
    }
    result
}

fn dispatch(md: &mut Metadata, env: &Env, req: &Request, depth: usize) -> Result<Value, MetadataError> {
    use PermKind::*;
    use RelKind::*;
    let ty = req.ty.as_str();
    let args = || req.args();
    match ty {
        "bulk" | "bulk_atomic" => bulk(md, env, req, depth, false),
        "bulk_keep_going" => bulk(md, env, req, depth, true),

        "pg_add_source" => sources::add(md, &args()?),
        "pg_update_source" => sources::update(md, &args()?),
        "pg_drop_source" => sources::drop(md, &args()?),
        "rename_source" => sources::rename(md, &args()?),

        "export_metadata" => document::export(md, env, req.version),
        "replace_metadata" => document::replace(md, env, &args()?),
        "clear_metadata" => document::clear(md),
        "reload_metadata" => document::reload(md, env),
        "get_inconsistent_metadata" => document::get_inconsistent(md, env),
        "drop_inconsistent_metadata" => document::drop_inconsistent(md, env),

        "pg_track_table" | "track_table" | "add_existing_table_or_view" => {
            tables::track(md, env, &req.named_args("table")?)
        }
        "pg_track_tables" => tables::track_many(md, env, &args()?),
        "pg_untrack_table" | "untrack_table" => tables::untrack(md, env, &args()?),
        "pg_untrack_tables" => tables::untrack_many(md, env, &args()?),
        "pg_set_table_is_enum" | "set_table_is_enum" => tables::set_is_enum(md, env, &args()?),
        "pg_set_table_customization" | "set_table_customization" => tables::set_customization(md, env, &args()?),
        "set_table_custom_fields" => tables::set_custom_fields(md, env, &args()?),

        "pg_create_object_relationship" | "create_object_relationship" => {
            relationships::create(md, env, &args()?, Object)
        }
        "pg_create_array_relationship" | "create_array_relationship" => relationships::create(md, env, &args()?, Array),
        "pg_drop_relationship" | "drop_relationship" => relationships::drop(md, env, &args()?),
        "pg_rename_relationship" | "rename_relationship" => relationships::rename(md, env, &args()?),
        "pg_set_relationship_comment" | "set_relationship_comment" => relationships::set_comment(md, env, &args()?),

        "pg_add_computed_field" | "add_computed_field" => computed_fields::add(md, env, &args()?),
        "pg_drop_computed_field" | "drop_computed_field" => computed_fields::drop(md, env, &args()?),

        "pg_track_function" | "track_function" => functions::track(md, env, &req.named_args("function")?),
        "pg_untrack_function" | "untrack_function" => functions::untrack(md, env, &req.named_args("function")?),
        "pg_set_function_customization" | "set_function_customization" => {
            functions::set_customization(md, env, &args()?)
        }
        "pg_create_function_permission" | "create_function_permission" => {
            functions::create_permission(md, env, &args()?)
        }
        "pg_drop_function_permission" | "drop_function_permission" => functions::drop_permission(md, env, &args()?),

        "pg_create_insert_permission" | "create_insert_permission" => permissions::create(md, env, &args()?, Insert),
        "pg_create_select_permission" | "create_select_permission" => permissions::create(md, env, &args()?, Select),
        "pg_create_update_permission" | "create_update_permission" => permissions::create(md, env, &args()?, Update),
        "pg_create_delete_permission" | "create_delete_permission" => permissions::create(md, env, &args()?, Delete),
        "pg_drop_insert_permission" | "drop_insert_permission" => permissions::drop(md, env, &args()?, Insert),
        "pg_drop_select_permission" | "drop_select_permission" => permissions::drop(md, env, &args()?, Select),
        "pg_drop_update_permission" | "drop_update_permission" => permissions::drop(md, env, &args()?, Update),
        "pg_drop_delete_permission" | "drop_delete_permission" => permissions::drop(md, env, &args()?, Delete),
        "pg_set_permission_comment" | "set_permission_comment" => permissions::set_comment(md, env, &args()?),
        "pg_create_event_trigger" | "create_event_trigger" => event_triggers::create(md, env, &args()?),
        "pg_delete_event_trigger" | "delete_event_trigger" => event_triggers::delete(md, &args()?),
        "create_cron_trigger" => cron_triggers::create(md, &args()?),
        "delete_cron_trigger" => cron_triggers::delete(md, &args()?),
        "get_cron_triggers" => cron_triggers::get(md),
        other if crate::events::requests::is_event_request(other) => Err(MetadataError::new(
            "not-supported",
            &req.path,
            format!("{other} reads or writes the event log: send it on its own, not inside a bulk"),
        )),
        "add_inherited_role" => super::inherited_roles::add(md, &args()?),
        "drop_inherited_role" => super::inherited_roles::drop(md, &args()?),

        other if unsupported::is_known_hasura_command(other) => Err(MetadataError::new(
            "not-supported",
            &req.path,
            format!("metadata command {} is not supported by Graft yet", dq(other)),
        )),
        other => Err(parse_failed(&req.path, format!("unknown metadata command {}", dq(other)))),
    }
}

/// `bulk`: the requests in order; the first failure fails the whole bulk (the working copy is
/// thrown away by the caller). `bulk_keep_going`: each request stands alone and the response
/// holds its result or its error.
fn bulk(md: &mut Metadata, env: &Env, req: &Request, depth: usize, keep_going: bool) -> Result<Value, MetadataError> {
    if depth >= MAX_BULK_DEPTH {
        return Err(MetadataError::new("bad-request", &req.path, "bulk requests are nested too deeply"));
    }
    let list = req
        .args
        .as_array()
        .ok_or_else(|| expected(&format!("{}.args", req.path), "[RQLMetadata]", "Array", req.args))?;
    let mut responses = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        crate::interrupt::check().map_err(|e| MetadataError::new("unexpected", &req.path, e.message))?;
        let result = Request::parse(item, "$").and_then(|inner| {
            if keep_going {
                let mut attempt = md.clone();
                let r = run(&mut attempt, env, &inner, depth + 1)?;
                *md = attempt;
                Ok(r)
            } else {
                run(md, env, &inner, depth + 1)
            }
        });
        // Paths inside the bulk are relative to its element: `$.args[1].args.table`.
        let result = result.map_err(|mut e| {
            e.path = format!("{}.args[{i}]{}", req.path, e.path.strip_prefix('$').unwrap_or(&e.path));
            e
        });
        match result {
            Ok(v) => responses.push(v),
            Err(e) if keep_going => responses.push(e.to_json()),
            Err(e) => return Err(e),
        }
    }
    Ok(Value::Array(responses))
}

pub(crate) fn success() -> Value {
    json!({"message": "success"})
}

/// The source `name`, or Hasura's `not-exists` error.
pub(crate) fn source_mut<'m>(md: &'m mut Metadata, name: &str) -> Result<&'m mut Source, MetadataError> {
    md.source_mut(name).ok_or_else(|| source_missing(name))
}

pub(crate) fn source_ref<'m>(md: &'m Metadata, name: &str) -> Result<&'m Source, MetadataError> {
    md.source(name).ok_or_else(|| source_missing(name))
}

fn source_missing(name: &str) -> MetadataError {
    MetadataError::new("not-exists", "$.args", format!("source with name {} does not exist", dq(name)))
}

/// The tracked table `q` of `source`, or `table "x" does not exist` at `path`.
pub(crate) fn tracked_mut<'m>(
    md: &'m mut Metadata,
    source: &str,
    q: &QualifiedName,
    path: &str,
) -> Result<&'m mut TableEntry, MetadataError> {
    source_mut(md, source)?.table_mut(q).ok_or_else(|| table_missing(q, path))
}

pub(crate) fn tracked_ref<'m>(
    md: &'m Metadata,
    source: &str,
    q: &QualifiedName,
    path: &str,
) -> Result<&'m TableEntry, MetadataError> {
    source_ref(md, source)?.table(q).ok_or_else(|| table_missing(q, path))
}

fn table_missing(q: &QualifiedName, path: &str) -> MetadataError {
    MetadataError::new("not-exists", path, format!("table {} does not exist", dq_q(q)))
}

/// Hasura's `buildSchemaCacheFor`: apply `change`, then fail if it made `object` inconsistent
/// (`invalid-configuration`, its reasons joined) or made anything else newly inconsistent.
pub(crate) fn change_checked(
    md: &mut Metadata,
    env: &Env,
    object: ObjectId,
    change: impl FnOnce(&mut Metadata) -> Result<(), MetadataError>,
) -> Result<(), MetadataError> {
    let before = env.inconsistent_ids(md);
    change(md)?;
    reject_new_inconsistencies(md, env, &before, Some(&object))
}

/// Fail if `md` has inconsistent objects not in `before`.
pub(crate) fn reject_new_inconsistencies(
    md: &Metadata,
    env: &Env,
    before: &HashSet<ObjectId>,
    object: Option<&ObjectId>,
) -> Result<(), MetadataError> {
    let after = env.check(md);
    env.known_consistent.set(after.is_empty());
    let new: Vec<_> = after.into_iter().filter(|f| !before.contains(&f.id)).collect();
    let reasons: Vec<&str> =
        new.iter().filter(|f| Some(&f.id) == object).map(|f| f.inconsistency.reason.as_str()).collect();
    if !reasons.is_empty() {
        return Err(MetadataError::new("invalid-configuration", "$.args", reasons.join(", ")));
    }
    if !new.is_empty() {
        let mut e = MetadataError::new("unexpected", "$.args", "cannot continue due to new inconsistent metadata");
        e.status = 400;
        e.internal = Some(json!(new.iter().map(|f| &f.inconsistency).collect::<Vec<_>>()));
        return Err(e);
    }
    Ok(())
}
