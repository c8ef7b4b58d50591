//! Reads what the database looks like into the compiler's `DbCatalog`, in one query, and the
//! stored metadata document.

use graft_compiler::metadata::model::Metadata;
use graft_compiler::DbCatalog;
use pgrx::prelude::*;
use pgrx::datum::JsonString;

use crate::errors::GraftError;

/// Every user relation (not partitions) with columns, keys and foreign keys, and every user
/// function, as one JSON document shaped like `DbCatalog`.
const CATALOG_SQL: &str = r#"
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'graphql')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
)
SELECT json_build_object(
  'tables', coalesce((SELECT json_agg(json_build_object(
      'oid', r.oid::int8,
      'schema', r.nspname,
      'name', r.relname,
      'kind', CASE r.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
                             WHEN 'f' THEN 'foreign_table' ELSE 'partitioned_table' END,
      'comment', pg_catalog.obj_description(r.oid, 'pg_class'),
      'columns', (SELECT coalesce(json_agg(json_build_object(
            'name', a.attname, 'type_name', t.typname, 'type_schema', tn.nspname, 'type_kind', t.typtype,
            'elem_type', et.typname,
            'enum_values', CASE WHEN t.typtype = 'e' THEN
                 (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) END,
            'nullable', NOT a.attnotnull,
            'has_default', a.atthasdef OR a.attidentity <> '',
            'is_identity', a.attidentity <> '',
            'identity_always', a.attidentity = 'a',
            'is_generated', a.attgenerated <> '',
            'comment', pg_catalog.col_description(r.oid, a.attnum)) ORDER BY a.attnum), '[]')
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
          LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
          WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'primary_key', (SELECT json_build_object('name', con.conname, 'columns',
            (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum))
          FROM pg_catalog.pg_constraint con WHERE con.conrelid = r.oid AND con.contype = 'p'),
      'unique_constraints', (SELECT coalesce(json_agg(json_build_object('name', con.conname, 'columns',
            (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum)) ORDER BY con.conname), '[]')
          FROM pg_catalog.pg_constraint con WHERE con.conrelid = r.oid AND con.contype = 'u'),
      'foreign_keys', (SELECT coalesce(json_agg(json_build_object('name', con.conname,
            'columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum),
            'ref_schema', rn.nspname, 'ref_table', rc.relname,
            'ref_columns', (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum)) ORDER BY con.conname), '[]')
          FROM pg_catalog.pg_constraint con
          JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
          JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE con.conrelid = r.oid AND con.contype = 'f'),
      'is_insertable', r.relkind <> 'v' OR (pg_catalog.pg_relation_is_updatable(r.oid, false) & 8) = 8,
      'is_updatable', r.relkind <> 'v' OR (pg_catalog.pg_relation_is_updatable(r.oid, false) & 4) = 4,
      'is_deletable', r.relkind <> 'v' OR (pg_catalog.pg_relation_is_updatable(r.oid, false) & 16) = 16
    ) ORDER BY r.nspname, r.relname) FROM rels r), '[]'),
  'functions', coalesce((SELECT json_agg(json_build_object(
      'schema', n.nspname, 'name', p.proname,
      'comment', pg_catalog.obj_description(p.oid, 'pg_proc'),
      'arg_names', (SELECT coalesce(json_agg(CASE WHEN p.proallargtypes IS NULL THEN coalesce(p.proargnames[i], '') ELSE '' END ORDER BY i), '[]')
                    FROM generate_series(1, p.pronargs) i),
      'arg_types', (SELECT coalesce(json_agg(t.typname ORDER BY a.i), '[]')
                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(typ, i) JOIN pg_catalog.pg_type t ON t.oid = a.typ),
      'arg_type_schemas', (SELECT coalesce(json_agg(tn.nspname ORDER BY a.i), '[]')
                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(typ, i) JOIN pg_catalog.pg_type t ON t.oid = a.typ
                    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace),
      'num_defaults', p.pronargdefaults,
      'return_type_schema', rtn.nspname, 'return_type', rt.typname,
      'returns_set', p.proretset, 'volatility', p.provolatile
    ) ORDER BY n.nspname, p.proname)
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_type rt ON rt.oid = p.prorettype
    JOIN pg_catalog.pg_namespace rtn ON rtn.oid = rt.typnamespace
    WHERE p.prokind = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'graphql')
      AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'), '[]')
)::text
"#;

/// Rows of every tracked enum table (`is_enum`): key value and comment column, read once per
/// cache load. Identifiers come from the catalog and are quoted; no value is spliced.
pub fn load_enum_values(md: &Metadata, db: &mut DbCatalog) -> Result<(), GraftError> {
    use graft_compiler::schema::names::{quote_ident, quote_qualified};
    let Some(source) = md.default_source() else { return Ok(()) };
    for entry in source.tables.iter().filter(|e| e.is_enum) {
        let Some(t) = db.table(&entry.table.schema, &entry.table.name) else { continue };
        let Some(pk) = t.primary_key.as_ref().filter(|pk| pk.columns.len() == 1) else { continue };
        let key = quote_ident(&pk.columns[0]);
        let comment = t
            .columns
            .iter()
            .find(|c| c.name != pk.columns[0])
            .map(|c| format!("t.{}::text", quote_ident(&c.name)))
            .unwrap_or_else(|| "NULL::text".into());
        let sql = format!(
            "SELECT coalesce(json_agg(json_build_object('value', t.{key}::text, 'comment', {comment}) ORDER BY t.{key}), '[]')::text FROM {} AS t",
            quote_qualified(&t.schema, &t.name)
        );
        let text: Option<String> = Spi::get_one(&sql)?;
        let rows = serde_json::from_str(&text.unwrap_or_else(|| "[]".into()))
            .map_err(|e| GraftError::Internal(format!("cannot read enum table {}: {e}", entry.table)))?;
        db.enum_values.insert(format!("{}.{}", t.schema, t.name), rows);
    }
    Ok(())
}

pub fn load_db_catalog() -> Result<DbCatalog, GraftError> {
    // The query's estimated cost crosses jit_above_cost on large catalogs, and compiling it with
    // LLVM costs more than running it: turn JIT off for this statement only.
    let jit: Option<String> = Spi::get_one("SELECT current_setting('jit')")?;
    Spi::run("SELECT set_config('jit', 'off', true)")?;
    let text: Result<Option<String>, _> = Spi::get_one(CATALOG_SQL);
    Spi::run_with_args("SELECT set_config('jit', $1, true)", &[jit.unwrap_or_else(|| "on".into()).into()])?;
    let text = text?;
    let text = text.ok_or_else(|| GraftError::Internal("catalog query returned nothing".into()))?;
    serde_json::from_str(&text).map_err(|e| GraftError::Internal(format!("cannot read the catalog: {e}")))
}

/// Runs the enclosed SPI statements as the owner of `graphql.metadata_store`, as a SECURITY
/// DEFINER function would: `graphql.resolve` runs with the caller's rights, and application
/// roles must be able to *use* the metadata without being able to *read* it (it may hold
/// webhook headers). `SECURITY_RESTRICTED_OPERATION` keeps anything in that window from
/// changing session state. Switches back when dropped, also while a Postgres error unwinds.
struct AsStoreOwner {
    saved_user: pg_sys::Oid,
    saved_context: i32,
}

impl AsStoreOwner {
    fn enter() -> Result<AsStoreOwner, GraftError> {
        let owner: Option<pg_sys::Oid> = Spi::get_one(
            "SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'graphql' AND c.relname = 'metadata_store'",
        )?;
        let owner = owner.ok_or_else(|| GraftError::Internal("graphql.metadata_store is missing: reinstall graft".into()))?;
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        // SAFETY: reads and writes of backend-global state, on the backend's main thread.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(
                owner,
                saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32 | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
            );
        }
        Ok(AsStoreOwner { saved_user, saved_context })
    }
}

impl Drop for AsStoreOwner {
    fn drop(&mut self) {
        // SAFETY: see `enter`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.saved_user, self.saved_context) }
    }
}

/// The stored metadata and its resource version (1 and empty metadata before the first write).
pub fn load_metadata() -> Result<(Metadata, i64), GraftError> {
    let _owner = AsStoreOwner::enter()?;
    let row: (Option<i64>, Option<JsonString>) =
        Spi::get_two("SELECT resource_version, metadata FROM graphql.metadata_store WHERE id = 1")
            .or_else(|e| match e {
                pgrx::spi::SpiError::InvalidPosition => Ok((None, None)),
                other => Err(other),
            })?;
    match row {
        (Some(rv), Some(JsonString(doc))) => {
            let md = serde_json::from_str(&doc)
                .map_err(|e| GraftError::Internal(format!("stored metadata is not valid: {e}")))?;
            Ok((md, rv))
        }
        _ => Ok((Metadata::default(), 1)),
    }
}

pub fn store_metadata(md: &Metadata, resource_version: i64) -> Result<(), GraftError> {
    let _owner = AsStoreOwner::enter()?;
    let doc = serde_json::to_string(md).map_err(|e| GraftError::Internal(e.to_string()))?;
    Spi::run_with_args(
        "INSERT INTO graphql.metadata_store (id, resource_version, metadata) VALUES (1, $1, $2::json) \
         ON CONFLICT (id) DO UPDATE SET resource_version = EXCLUDED.resource_version, metadata = EXCLUDED.metadata",
        &[resource_version.into(), doc.into()],
    )?;
    Ok(())
}

/// Oid of `graphql.metadata_store`, whose relcache invalidation tells every backend that the
/// metadata changed.
pub fn metadata_store_oid() -> Result<pg_sys::Oid, GraftError> {
    let oid: Option<pg_sys::Oid> = Spi::get_one("SELECT 'graphql.metadata_store'::regclass::oid")?;
    oid.ok_or_else(|| GraftError::Internal("graphql.metadata_store is missing".into()))
}
