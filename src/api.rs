//! The SQL API, in schema `graphql`. EXECUTE on all of it is revoked from PUBLIC at install
//! (`sql/finalize.sql`): a DBA grants it to the sidecar's role and to app roles.
//!
//! * `graphql.resolve(query, variables, session, operation_name) → json` never raises for a
//!   request error: like Hasura's `/v1/graphql`, it answers `{"errors":[…]}`.
//! * `graphql.metadata(request) → json` answers like `/v1/metadata`: the response, or the error
//!   body `{"error","path","code"}` (the sidecar derives the HTTP status from `code`).
//! * The helpers (`graphql.track_table` …) build the same metadata requests and go through the
//!   same path, but RAISE on failure: they are for DBAs at a psql prompt.

use std::panic::AssertUnwindSafe;

use graft_compiler::metadata::ops;
use graft_compiler::request::{Compiled, Limits, Session};
use graft_compiler::{DbCatalog, GqlError, Metadata, MetadataError};
use pgrx::prelude::*;
use pgrx::Json;
use serde_json::{json, Value};

use crate::errors::{panic_message, GraftError, Result};
use crate::json_args::{self, JsonArg};
use crate::json_text::JsonText;
use crate::{cache, catalog, execute, guc, metadata_store};

// ---------------------------------------------------------------------------------------------
// graphql.resolve

/// Resolve one GraphQL request. `session` holds Hasura session variables
/// (`{"x-hasura-role": "user", "x-hasura-user-id": "1"}`); none, or role `admin`, is admin.
#[pg_extern]
fn resolve(
    query: Option<&str>,
    variables: default!(Option<JsonArg>, "NULL"),
    session: default!(Option<JsonArg>, "NULL"),
    operation_name: default!(Option<&str>, "NULL"),
) -> JsonText {
    // Parsed here, not by pgrx: see json_args (deep nesting, odd numbers never raise).
    let parsed = json_args::request_args(variables, session).map_err(GraftError::from);
    let (variables, session) = match parsed {
        Ok(v) => v,
        Err(e) => return e.to_graphql_response().into(),
    };
    match resolve_request(query, variables.as_ref(), session.as_ref(), operation_name) {
        Ok(text) => JsonText(text),
        Err(e) => e.to_graphql_response().into(),
    }
}

pub fn resolve_request(
    query: Option<&str>,
    variables: Option<&Value>,
    session: Option<&Value>,
    operation_name: Option<&str>,
) -> Result<String> {
    let query = request_query(query)?;
    let (session, backend_only) = request_session(session)?;
    let schema = cache::schema_for(&session.role, backend_only)?;
    let limits = request_limits();
    // The compiler is pure Rust and must never take the backend down: a panic there is a bug,
    // answered as an `unexpected` error.
    let compiled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        cache::compile(
            &schema,
            &session.role,
            backend_only,
            query,
            variables,
            operation_name,
            &session,
            &limits,
        )
    }))
    .map_err(|p| GraftError::Internal(format!("compiler panicked: {}", panic_message(&*p))));
    // A cancel or statement_timeout stopped the compiler (it returned an error): raise
    // PostgreSQL's own error now, outside the compiler's frames.
    pgrx::check_for_interrupts!();
    let compiled = compiled??;
    match compiled {
        Compiled::Json(v) => Ok(v.to_string()),
        Compiled::Sql(sql) => execute::run(&sql, &session),
        Compiled::Mutation(plan) => execute::run_mutation(&plan, &session),
    }
}

/// A request's query text: missing or empty is the request's error, as in Hasura.
pub(crate) fn request_query(query: Option<&str>) -> Result<&str> {
    match query {
        None => Err(GqlError::new("parse-failed", "$", "Error in $: key \"query\" not found").into()),
        Some(q) if q.trim().is_empty() => Err(GqlError::new("bad-request", "$.query", "the query is empty").into()),
        Some(q) => Ok(q),
    }
}

/// A request's session, and whether it asks for backend-only permissions.
pub(crate) fn request_session(session: Option<&Value>) -> Result<(Session, bool)> {
    let mut session = Session::from_json(session)?;
    // A response option the compiler reads from the session: read on every request, since a
    // SET changes it without any invalidation.
    session.stringify_numeric = guc::stringify_numeric_types();
    let backend_only = session
        .get("x-hasura-use-backend-only-permissions")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok((session, backend_only))
}

/// The compiler's bounds, from the settings.
pub(crate) fn request_limits() -> Limits {
    Limits {
        max_depth: guc::max_query_depth(),
        node_limit: guc::node_limit(),
        ..Limits::default()
    }
}

// ---------------------------------------------------------------------------------------------
// graphql.metadata

/// One `/v1/metadata` request (`{"type": …, "args": …, "resource_version"?: N}`).
#[pg_extern]
fn metadata(request: Option<JsonArg>) -> JsonText {
    let request = request.map(|r| json_args::parse(&r.0, "request").map_err(|e| MetadataError::new(e.code, "$", e.message)));
    let result = match request {
        None => Err(MetadataError::new("parse-failed", "$", "the request is NULL").into()),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(request)) => match graft_compiler::events::requests::parse_request(&request) {
            Ok(Some(event_request)) => crate::events::requests::run(event_request),
            Ok(None) => postgres_errors_as_metadata_errors(|| apply_request(|_, _| Ok(request.clone()))),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(response) => response.into(),
        Err(e) => e.to_metadata_json().into(),
    }
}

/// Run a metadata request in a subtransaction, so that a Postgres error on the way (creating a
/// capture trigger on a table the caller may not alter …) comes back as Hasura's
/// `postgres-error` with nothing stored, instead of aborting the caller's transaction.
/// Cancellation and resource errors still abort it.
fn postgres_errors_as_metadata_errors(f: impl FnOnce() -> Result<Value>) -> Result<Value> {
    use crate::execute::{in_subtransaction, must_propagate, Caught};
    match in_subtransaction(f) {
        Ok(result) => result,
        Err(Caught::Postgres(report)) if must_propagate(&crate::errors::sqlstate(report.sql_error_code())) => {
            pgrx::pg_sys::panic::CaughtError::PostgresError(*report).rethrow()
        }
        Err(Caught::Postgres(report)) => Err(MetadataError::new(
            "postgres-error",
            "$",
            format!("query execution failed: {}", report.message()),
        )
        .into()),
        Err(Caught::Panic(message)) => Err(GraftError::Internal(format!("panic in a metadata request: {message}"))),
    }
}

/// Apply the request `make_request` builds from the current metadata and catalog, store the
/// result if it changed, and invalidate every backend's cache. `reload_metadata` changes
/// nothing stored but invalidates every backend's cache too: that is how new rows of an enum
/// table reach the schemas.
///
/// Read-only requests (exports, `get_*`) take no lock. A changing request is computed first,
/// then the row is locked and, if another session committed in between, recomputed on what
/// is stored now: metadata writes serialize on the row, and readers never wait.
pub fn apply_request(
    make_request: impl Fn(&Metadata, &DbCatalog) -> Result<Value>,
) -> Result<Value> {
    let store = metadata_store::locate()?;
    // Always a fresh catalog: DDL earlier in this transaction must be visible to track it.
    let mut catalog = catalog::load()?.catalog;
    let stored = metadata_store::read(store, None)?;
    let current = stored.metadata.unwrap_or_default();
    // The enum tables' rows, as the schema cache reads them: the consistency checks report an
    // enum table with no rows or with values that are not GraphQL names.
    catalog.enum_values = catalog::load_enum_values(&current, &catalog)?;

    let unchanged = |response: Value, reload: bool| {
        if reload {
            // Like Hasura's reload_metadata: also re-create capture triggers that went
            // missing (a table dropped and re-created under the same name).
            crate::events::sync::sync_triggers(&current)?;
            cache::invalidate_everywhere(store);
        }
        Ok(response)
    };
    let (next, response) =
        match compute(&make_request, &current, &mut catalog, stored.resource_version)? {
            Computed::Unchanged { response, reload } => return unchanged(response, reload),
            Computed::Changed(next, response) => (next, response),
        };

    let (locked_version, locked) = metadata_store::read_for_update(store)?;
    let (next, response) = if locked_version == stored.resource_version {
        (next, response)
    } else {
        match compute(&make_request, &locked, &mut catalog, locked_version)? {
            Computed::Unchanged { response, reload } => return unchanged(response, reload),
            Computed::Changed(next, response) => (next, response),
        }
    };
    metadata_store::write(store, locked_version + 1, &next)?;
    crate::events::sync::sync_triggers(&next)?;
    crate::events::sync::reset_cron_events(&locked, &next)?;
    crate::events::sync::archive_removed_triggers(&locked, &next)?;
    cache::invalidate_everywhere(store);
    Ok(response)
}

enum Computed {
    /// Nothing to store; `reload`: the request still asks every backend to reload.
    Unchanged {
        response: Value,
        reload: bool,
    },
    Changed(Metadata, Value),
}

/// [`compute_once`], again with the rows of the enum tables the request itself made (they were
/// not loaded with the stored metadata's): the consistency checks must see them.
fn compute(
    make_request: &impl Fn(&Metadata, &DbCatalog) -> Result<Value>,
    current: &Metadata,
    catalog: &mut DbCatalog,
    resource_version: i64,
) -> Result<Computed> {
    let computed = compute_once(make_request, current, catalog, resource_version)?;
    match &computed {
        Computed::Changed(next, _) if ops::enum_values_missing(next, catalog) => {
            let more = catalog::load_enum_values(next, catalog)?;
            catalog.enum_values.extend(more);
            compute_once(make_request, current, catalog, resource_version)
        }
        _ => Ok(computed),
    }
}

fn compute_once(
    make_request: &impl Fn(&Metadata, &DbCatalog) -> Result<Value>,
    current: &Metadata,
    catalog: &DbCatalog,
    resource_version: i64,
) -> Result<Computed> {
    let request = make_request(current, catalog)?;
    check_resource_version(&request, resource_version)?;
    let mut next = current.clone();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        ops::apply(&mut next, catalog, &request, resource_version)
    }))
    .map_err(|p| {
        GraftError::Internal(format!(
            "metadata operation panicked: {}",
            panic_message(&*p)
        ))
    });
    pgrx::check_for_interrupts!();
    let outcome = outcome??;
    Ok(if outcome.changed {
        Computed::Changed(next, outcome.response)
    } else {
        Computed::Unchanged {
            response: outcome.response,
            reload: asks_reload(&request),
        }
    })
}

/// A `reload_metadata` request, alone or inside a bulk.
fn asks_reload(request: &Value) -> bool {
    fn walk(request: &Value, depth: usize) -> bool {
        match request.get("type").and_then(Value::as_str) {
            Some("reload_metadata") => true,
            Some("bulk" | "bulk_atomic" | "bulk_keep_going") if depth < 8 => request
                .get("args")
                .and_then(Value::as_array)
                .is_some_and(|reqs| reqs.iter().any(|r| walk(r, depth + 1))),
            _ => false,
        }
    }
    walk(request, 0)
}

/// Hasura's optimistic concurrency: a request naming a `resource_version` applies only to
/// that version.
fn check_resource_version(request: &Value, current: i64) -> Result<()> {
    match request.get("resource_version") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_i64() {
            Some(n) if n == current => Ok(()),
            Some(n) => Err(MetadataError::new(
                "conflict",
                "$",
                format!("metadata resource version referenced ({n}) did not match current version"),
            )
            .into()),
            None => {
                Err(
                    MetadataError::new("parse-failed", "$.resource_version", "expected an integer")
                        .into(),
                )
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for psql. Each is one metadata request; failures RAISE.

/// Track a table or view: `graphql.track_table('author')`, `graphql.track_table('s."T"', 't')`.
#[pg_extern]
fn track_table(table: &str, custom_name: default!(Option<&str>, "NULL")) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        let mut args = json!({"source": "default", "table": table.clone()});
        if let Some(name) = custom_name {
            args["configuration"] = json!({"custom_name": name});
        }
        Ok(json!({"type": "pg_track_table", "args": args}))
    })
}

#[pg_extern]
fn untrack_table(table: &str, cascade: default!(bool, false)) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        Ok(
            json!({"type": "pg_untrack_table", "args": {"source": "default", "table": table.clone(), "cascade": cascade}}),
        )
    })
}

/// An object relationship over the foreign key on `foreign_key_column`.
#[pg_extern]
fn create_object_relationship(table: &str, name: &str, foreign_key_column: &str) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        Ok(json!({"type": "pg_create_object_relationship", "args": {
            "source": "default", "table": table.clone(), "name": name,
            "using": {"foreign_key_constraint_on": foreign_key_column}
        }}))
    })
}

/// An array relationship over the foreign key `remote_table(remote_column)` → `table`.
#[pg_extern]
fn create_array_relationship(
    table: &str,
    name: &str,
    remote_table: &str,
    remote_column: &str,
) -> JsonText {
    let table = qualified_json(table);
    let remote = qualified_json(remote_table);
    helper(|| {
        Ok(json!({"type": "pg_create_array_relationship", "args": {
            "source": "default", "table": table.clone(), "name": name,
            "using": {"foreign_key_constraint_on": {"table": remote.clone(), "column": remote_column}}
        }}))
    })
}

#[pg_extern]
fn drop_relationship(table: &str, name: &str) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        Ok(
            json!({"type": "pg_drop_relationship", "args": {"source": "default", "table": table.clone(), "relationship": name}}),
        )
    })
}

/// Track every table and view of `schema` not yet tracked, with the relationships their
/// foreign keys imply.
#[pg_extern]
fn track_all(schema: default!(&str, "'public'")) -> JsonText {
    match apply_request(|md, db| Ok(ops::track_all_request(md, db, schema))) {
        Ok(v) => v.into(),
        Err(e) => e.raise(),
    }
}

/// `pg_create_<kind>_permission`: `permission` is Hasura's permission body
/// (`{"columns": …, "filter": …}` for select, `{"check": …, "set": …}` for insert …).
fn create_permission(
    kind: &'static str,
    table: &str,
    role: &str,
    permission: Json,
    comment: Option<&str>,
) -> JsonText {
    let table = qualified_json(table);
    helper(|| {
        let mut args = json!({"source": "default", "table": table.clone(), "role": role,
                              "permission": permission.0.clone()});
        if let Some(c) = comment {
            args["comment"] = json!(c);
        }
        Ok(json!({"type": format!("pg_create_{kind}_permission"), "args": args}))
    })
}

#[pg_extern]
fn create_select_permission(
    table: &str,
    role: &str,
    permission: Json,
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    create_permission("select", table, role, permission, comment)
}

#[pg_extern]
fn create_insert_permission(
    table: &str,
    role: &str,
    permission: Json,
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    create_permission("insert", table, role, permission, comment)
}

#[pg_extern]
fn create_update_permission(
    table: &str,
    role: &str,
    permission: Json,
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    create_permission("update", table, role, permission, comment)
}

#[pg_extern]
fn create_delete_permission(
    table: &str,
    role: &str,
    permission: Json,
    comment: default!(Option<&str>, "NULL"),
) -> JsonText {
    create_permission("delete", table, role, permission, comment)
}

/// `pg_drop_<kind>_permission`; `kind` is select, insert, update or delete.
#[pg_extern]
fn drop_permission(table: &str, role: &str, kind: &str) -> JsonText {
    let kind = kind.trim().to_ascii_lowercase();
    if !matches!(kind.as_str(), "select" | "insert" | "update" | "delete") {
        GraftError::InvalidArgument(format!(
            "invalid permission kind {kind:?}: expected select, insert, update or delete"
        ))
        .raise()
    }
    let table = qualified_json(table);
    helper(|| {
        Ok(json!({"type": format!("pg_drop_{kind}_permission"),
                  "args": {"source": "default", "table": table.clone(), "role": role}}))
    })
}

/// The metadata in Hasura's export format (version 3).
#[pg_extern]
fn export_metadata() -> JsonText {
    helper(|| Ok(json!({"type": "export_metadata", "args": {}})))
}

/// Drop this backend's caches (metadata, catalog, enum values, schemas, compiled requests,
/// plans); returns true. Never needed for correctness after DDL or metadata changes; for
/// debugging, after `COMMENT ON` (which Postgres does not broadcast) and after changing an
/// enum table's rows in this backend only (`reload_metadata` does it for every backend).
#[pg_extern]
fn reload() -> bool {
    cache::reset();
    execute::clear_plans();
    true
}

pub(crate) fn helper(request: impl Fn() -> Result<Value>) -> JsonText {
    match apply_request(|_, _| request()) {
        Ok(v) => v.into(),
        Err(e) => e.raise(),
    }
}

/// `{"schema", "name"}` for a helper's table argument; RAISEs if it is not a table name.
/// A relation that exists is found as Postgres finds it (`to_regclass`: an unqualified name
/// goes through `search_path`); any other name is taken as written, `public` when unqualified,
/// so the metadata API reports it.
pub(crate) fn qualified_json(name: &str) -> Value {
    let (schema, table) = match parse_qualified_name(name) {
        Ok(parsed) => parsed,
        Err(e) => e.raise(),
    };
    let (schema, table) = find_relation(name).unwrap_or((schema, table));
    json!({"schema": schema, "name": table})
}

/// Schema and name of the relation `name` denotes, if it exists and the caller may see it.
fn find_relation(name: &str) -> Option<(String, String)> {
    const SQL: &str = "SELECT n.nspname::text, c.relname::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = pg_catalog.to_regclass($1)";
    let row = Spi::connect(|client| {
        let table = client.select(SQL, Some(1), &[name.into()])?;
        if table.is_empty() {
            Ok((None, None))
        } else {
            table.first().get_two::<String, String>()
        }
    });
    match row {
        Ok((Some(schema), Some(table))) => Some((schema, table)),
        _ => None,
    }
}

/// `name`, `schema.name`, with Postgres' identifier rules: unquoted parts are folded to lower
/// case, `"Quoted"` parts are kept (`""` is a quote). No schema means `public`, as in Hasura.
pub fn parse_qualified_name(input: &str) -> Result<(String, String)> {
    let bad = || {
        GraftError::InvalidArgument(format!(
            "invalid table name {input:?}: expected \"name\" or \"schema.name\""
        ))
    };
    let mut parts = Vec::new();
    let mut chars = input.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(bad()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() || c == '"' {
                    break;
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
        }
        if part.is_empty() {
            return Err(bad());
        }
        parts.push(part);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(_) => return Err(bad()),
        }
    }
    match <[String; 2]>::try_from(parts) {
        Ok([schema, name]) => Ok((schema, name)),
        Err(parts) if parts.len() == 1 => Ok((
            "public".to_string(),
            parts.into_iter().next().unwrap_or_default(),
        )),
        Err(_) => Err(bad()),
    }
}

#[cfg(test)]
mod unit {
    use super::parse_qualified_name as p;

    #[test]
    fn qualified_names() {
        assert_eq!(p("author").unwrap(), ("public".into(), "author".into()));
        assert_eq!(p("Blog.Author").unwrap(), ("blog".into(), "author".into()));
        assert_eq!(
            p(r#""My Schema"."Tab""le""#).unwrap(),
            ("My Schema".into(), "Tab\"le".into())
        );
        assert_eq!(p(" s . t ").unwrap(), ("s".into(), "t".into()));
        assert!(p("").is_err());
        assert!(p("a.b.c").is_err());
        assert!(p("a.").is_err());
        assert!(p("\"open").is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Hooks the compiler calls (installed in `_PG_init`)

/// Whether the statement was cancelled (cancel request, statement_timeout, backend exit). Only
/// reads the flags: the compiler unwinds with the error and the caller then runs
/// `check_for_interrupts!()`, so no PostgreSQL error longjmps through Rust frames.
pub fn compiler_interrupt_check() -> std::result::Result<(), GqlError> {
    // SAFETY: plain reads of sig_atomic_t flags set by signal handlers.
    let pending = unsafe {
        std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::QueryCancelPending)) != 0
            || std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::ProcDiePending)) != 0
    };
    if pending {
        Err(graft_compiler::interrupt::interrupted())
    } else {
        Ok(())
    }
}

/// PostgreSQL's stack check (against max_stack_depth), without raising.
pub fn compiler_stack_too_deep() -> bool {
    // SAFETY: reads the stack base and the current stack pointer; never raises.
    unsafe { pg_sys::stack_is_too_deep() }
}
