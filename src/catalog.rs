//! Introspect the database into the compiler's [`DbCatalog`] with ONE query.
//!
//! The whole catalog is one `json_build_object` so a cold start costs one SPI round trip and one
//! `serde_json` parse, whatever the number of tables (1,000 tables take a few tens of ms).
//! Every relation-level aggregate is computed once per kind (columns, keys, foreign keys) with
//! `GROUP BY` and hash-joined, never as a correlated subquery per table.
//!
//! What counts as "user" objects: every schema except `pg_catalog`, `information_schema`,
//! `pg_toast*`, temporary schemas and `graphql` (Graft's own). Partitions are left out (their
//! partitioned parent is what one tracks), as Hasura does.

use std::collections::BTreeMap;

use graft_compiler::dbcatalog::{DbCatalog, DbFunction, DbTable, EnumRow};
use graft_compiler::schema::names::{quote_ident, quote_qualified};
use graft_compiler::Metadata;
use pgrx::prelude::*;
use serde::Deserialize;

use crate::errors::{GraftError, Result};

/// The catalog query. Its output is the `DbCatalog` JSON (tables carry their oid) plus the oids
/// of the types and functions it mentions: the cache uses them to ignore invalidations of
/// unrelated objects.
pub const CATALOG_SQL: &str = r#"
WITH
user_ns AS (
    SELECT n.oid, n.nspname
    FROM pg_catalog.pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'graphql')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND n.nspname NOT LIKE 'pg\_temp\_%'
),
rels AS (
    SELECT c.oid, ns.nspname, c.relname, c.relkind
    FROM pg_catalog.pg_class c
    JOIN user_ns ns ON ns.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
      AND NOT c.relispartition
),
descr AS (
    SELECT d.objoid, d.objsubid, d.description
    FROM pg_catalog.pg_description d
    WHERE d.classoid = 'pg_catalog.pg_class'::regclass
),
enums AS (
    SELECT e.enumtypid, json_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
    FROM pg_catalog.pg_enum e
    GROUP BY e.enumtypid
),
cols AS (
    SELECT a.attrelid,
           json_agg(json_build_object(
               'name', a.attname,
               'type_name', t.typname,
               'type_schema', tn.nspname,
               'type_kind', t.typtype,
               'elem_type', et.typname,
               'enum_values', en.labels,
               'nullable', NOT a.attnotnull,
               -- An identity column can be omitted on insert like a column with a default.
               'has_default', a.atthasdef OR a.attidentity <> '',
               'is_identity', a.attidentity <> '',
               'identity_always', a.attidentity = 'a',
               'is_generated', a.attgenerated <> '',
               'comment', d.description
           ) ORDER BY a.attnum) AS columns
    FROM pg_catalog.pg_attribute a
    JOIN rels r ON r.oid = a.attrelid
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
    LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
    LEFT JOIN enums en ON en.enumtypid = t.oid
    LEFT JOIN descr d ON d.objoid = a.attrelid AND d.objsubid = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    GROUP BY a.attrelid
),
-- Primary keys and unique constraints, columns in key order.
keys AS (
    SELECT con.conrelid, con.contype, con.conname,
           json_agg(a.attname ORDER BY k.ord) AS columns
    FROM pg_catalog.pg_constraint con
    JOIN rels r ON r.oid = con.conrelid
    CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
    WHERE con.contype IN ('p', 'u')
    GROUP BY con.conrelid, con.contype, con.conname
),
-- Every other unique index (Hasura lists them all in T_constraint: partial and expression
-- indexes too). One that backs no unique/primary-key constraint of its table cannot be named by
-- ON CONFLICT ON CONSTRAINT: it carries its key as ON CONFLICT infers it (a quoted column, or a
-- parenthesised expression, per key column; INCLUDE columns are listed as columns, as Hasura
-- lists them, but are not keys) and its predicate.
-- (A foreign key's conindid names the index it references on the other table: not a backing.)
uidx AS (
    SELECT i.indrelid, ic.relname AS conname,
           coalesce(json_agg(a.attname ORDER BY k.ord) FILTER (WHERE k.attnum <> 0), '[]'::json) AS columns,
           json_agg(CASE WHEN k.attnum = 0
                         THEN '(' || pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::int, true) || ')'
                         ELSE pg_catalog.quote_ident(a.attname)
                    END ORDER BY k.ord) FILTER (WHERE k.ord <= i.indnkeyatts) AS index_keys,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS index_predicate
    FROM pg_catalog.pg_index i
    JOIN rels r ON r.oid = i.indrelid
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indisunique AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c2
                      WHERE c2.conindid = i.indexrelid AND c2.conrelid = i.indrelid
                        AND c2.contype IN ('p', 'u'))
    GROUP BY i.indrelid, ic.relname, i.indexrelid, pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)
),
pks AS (
    SELECT conrelid, json_build_object('name', conname, 'columns', columns) AS body
    FROM keys WHERE contype = 'p'
),
uniques AS (
    SELECT rel, json_agg(json_strip_nulls(json_build_object(
               'name', conname, 'columns', columns,
               'index_keys', index_keys, 'index_predicate', index_predicate)) ORDER BY conname) AS list
    FROM (
        SELECT conrelid AS rel, conname, columns, NULL::json AS index_keys, NULL::text AS index_predicate
        FROM keys WHERE contype = 'u'
        UNION ALL
        SELECT indrelid, conname, columns, index_keys, index_predicate FROM uidx
    ) u
    GROUP BY rel
),
-- Foreign keys, local and referenced columns paired in constraint order.
fks AS (
    SELECT f.conrelid,
           json_agg(json_build_object(
               'name', f.conname,
               'columns', f.columns,
               'ref_schema', rn.nspname,
               'ref_table', rc.relname,
               'ref_columns', f.ref_columns
           ) ORDER BY f.conname) AS list
    FROM (
        SELECT con.conrelid, con.confrelid, con.conname,
               json_agg(la.attname ORDER BY k.ord) AS columns,
               json_agg(ra.attname ORDER BY k.ord) AS ref_columns
        FROM pg_catalog.pg_constraint con
        JOIN rels r ON r.oid = con.conrelid
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(lnum, rnum, ord)
        JOIN pg_catalog.pg_attribute la ON la.attrelid = con.conrelid AND la.attnum = k.lnum
        JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rnum
        WHERE con.contype = 'f'
        GROUP BY con.conrelid, con.confrelid, con.conname
    ) f
    JOIN pg_catalog.pg_class rc ON rc.oid = f.confrelid
    JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
    GROUP BY f.conrelid
),
tables AS (
    SELECT r.oid,
           json_build_object(
               'oid', r.oid::int8,
               'schema', r.nspname,
               'name', r.relname,
               'kind', CASE r.relkind
                           WHEN 'r' THEN 'table'
                           WHEN 'v' THEN 'view'
                           WHEN 'm' THEN 'materialized_view'
                           WHEN 'f' THEN 'foreign_table'
                           ELSE 'partitioned_table'
                       END,
               'comment', d.description,
               'columns', coalesce(c.columns, '[]'::json),
               'primary_key', pk.body,
               'unique_constraints', coalesce(u.list, '[]'::json),
               'foreign_keys', coalesce(f.list, '[]'::json),
               -- pg_relation_is_updatable's bit mask: 1 << CMD_UPDATE (2), CMD_INSERT (3),
               -- CMD_DELETE (4). Only views and foreign tables need asking.
               'is_insertable', (upd.mask & 8) <> 0,
               'is_updatable', (upd.mask & 4) <> 0,
               'is_deletable', (upd.mask & 16) <> 0
           ) AS body,
           r.nspname, r.relname
    FROM rels r
    LEFT JOIN cols c ON c.attrelid = r.oid
    LEFT JOIN pks pk ON pk.conrelid = r.oid
    LEFT JOIN uniques u ON u.rel = r.oid
    LEFT JOIN fks f ON f.conrelid = r.oid
    LEFT JOIN descr d ON d.objoid = r.oid AND d.objsubid = 0
    CROSS JOIN LATERAL (
        SELECT CASE WHEN r.relkind IN ('r', 'p') THEN 28
                    WHEN r.relkind IN ('v', 'f') THEN pg_catalog.pg_relation_is_updatable(r.oid, false)
                    ELSE 0
               END AS mask
    ) upd
),
-- Plain functions (not aggregates, window functions or procedures) of the user schemas.
-- Only input arguments (IN, INOUT, VARIADIC) are listed, in order.
procs AS (
    SELECT p.oid, ns.nspname, p.proname, p.pronargdefaults, p.proretset, p.provolatile,
           p.prorettype, rt.typname AS rettype, rtn.nspname AS retschema
    FROM pg_catalog.pg_proc p
    JOIN user_ns ns ON ns.oid = p.pronamespace
    JOIN pg_catalog.pg_type rt ON rt.oid = p.prorettype
    JOIN pg_catalog.pg_namespace rtn ON rtn.oid = rt.typnamespace
    WHERE p.prokind = 'f'
),
proc_args AS (
    SELECT p.oid,
           json_agg(coalesce(p.proargnames[a.ord], '') ORDER BY a.ord) AS names,
           json_agg(t.typname ORDER BY a.ord) AS types,
           json_agg(tn.nspname ORDER BY a.ord) AS type_schemas
    FROM pg_catalog.pg_proc p
    JOIN procs pr ON pr.oid = p.oid
    CROSS JOIN LATERAL unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS a(typ, ord)
    JOIN pg_catalog.pg_type t ON t.oid = a.typ
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
    WHERE coalesce(p.proargmodes[a.ord], 'i') IN ('i', 'b', 'v')
    GROUP BY p.oid
),
functions AS (
    SELECT json_build_object(
               'schema', pr.nspname,
               'name', pr.proname,
               'comment', d.description,
               'arg_names', coalesce(pa.names, '[]'::json),
               'arg_types', coalesce(pa.types, '[]'::json),
               'arg_type_schemas', coalesce(pa.type_schemas, '[]'::json),
               'num_defaults', pr.pronargdefaults,
               'return_type_schema', pr.retschema,
               'return_type', pr.rettype,
               'returns_set', pr.proretset,
               'volatility', pr.provolatile
           ) AS body,
           pr.nspname, pr.proname, pr.oid
    FROM procs pr
    LEFT JOIN proc_args pa ON pa.oid = pr.oid
    LEFT JOIN pg_catalog.pg_description d
           ON d.objoid = pr.oid AND d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objsubid = 0
),
-- The types the catalog mentions (columns, function arguments and results): the cache watches
-- their syscache entries, and no others (a temporary table's row type must not flush it).
typoids AS (
    SELECT a.atttypid AS oid
    FROM pg_catalog.pg_attribute a JOIN rels r ON r.oid = a.attrelid
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION
    SELECT pr.prorettype FROM procs pr
    UNION
    SELECT unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
    FROM pg_catalog.pg_proc p JOIN procs pr ON pr.oid = p.oid
)
SELECT json_build_object(
    'tables', coalesce((SELECT json_agg(body ORDER BY nspname, relname) FROM tables), '[]'::json),
    'functions', coalesce((SELECT json_agg(body ORDER BY nspname, proname, oid) FROM functions), '[]'::json),
    'typoids', coalesce((SELECT json_agg(oid::int8) FROM typoids), '[]'::json),
    'procoids', coalesce((SELECT json_agg(oid::int8) FROM functions), '[]'::json)
)::text
"#;

/// What the catalog query returns: the compiler's catalog plus the relation oids.
#[derive(Deserialize)]
struct CatalogRow {
    tables: Vec<DbTable>,
    functions: Vec<DbFunction>,
    typoids: Vec<u32>,
    procoids: Vec<u32>,
}

/// The introspected catalog and the oids of the relations in it.
pub struct LoadedCatalog {
    pub catalog: DbCatalog,
    /// Oids of the relations in `catalog`.
    pub relids: Vec<pg_sys::Oid>,
    pub typoids: Vec<pg_sys::Oid>,
    pub procoids: Vec<pg_sys::Oid>,
    /// The raw JSON: comparing it is how a spurious invalidation is told apart from a real
    /// change without rebuilding any schema.
    pub text: String,
}

/// Run the catalog query (with the caller's snapshot).
pub fn load() -> Result<LoadedCatalog> {
    let text: Option<String> = without_jit(|| {
        Spi::connect(|client| {
            client
                .select(CATALOG_SQL, Some(1), &[])?
                .first()
                .get_one::<String>()
        })
    })?;
    let text = text.ok_or_else(|| GraftError::Catalog("the catalog query returned NULL".into()))?;
    parse(text)
}

/// Run `f` with `jit = off`, restored afterwards, as a function's `SET jit = off` clause does.
///
/// The planner's estimates for the catalog query are far too high (aggregates over catalog
/// joins), which crosses `jit_above_cost`: LLVM compilation then costs more than the query
/// itself (150 ms of 270 ms for 1,000 tables).
fn without_jit<R>(f: impl FnOnce() -> R) -> R {
    let level = crate::guc::push_setting(c"jit", c"off");
    let result = f();
    crate::guc::pop_level(level);
    result
}

/// Parse the catalog query's output.
pub fn parse(text: String) -> Result<LoadedCatalog> {
    let row: CatalogRow =
        serde_json::from_str(&text).map_err(|e| GraftError::Catalog(e.to_string()))?;
    Ok(LoadedCatalog {
        relids: row
            .tables
            .iter()
            .map(|t| pg_sys::Oid::from(t.oid))
            .collect(),
        catalog: DbCatalog {
            tables: row.tables,
            functions: row.functions,
            // Filled from the enum tables' rows by the cache, which knows the metadata.
            enum_values: Default::default(),
        },
        typoids: row.typoids.into_iter().map(pg_sys::Oid::from).collect(),
        procoids: row.procoids.into_iter().map(pg_sys::Oid::from).collect(),
        text,
    })
}

/// The rows of every tracked enum table (`is_enum`), keyed `schema.name` as
/// `DbCatalog::enum_values` expects: the primary-key value and the first other column as its
/// description, ordered by value. One query for all of them, run with the caller's rights like
/// every other read of user data; nothing is read when no table is an enum table.
///
/// Row changes send no invalidation (as in Hasura, new values appear after `reload_metadata`,
/// which invalidates every backend).
pub fn load_enum_values(md: &Metadata, db: &DbCatalog) -> Result<BTreeMap<String, Vec<EnumRow>>> {
    let Some(source) = md.default_source() else {
        return Ok(BTreeMap::new());
    };
    let mut keys = Vec::new();
    let mut selects = Vec::new();
    for entry in source.tables.iter().filter(|e| e.is_enum) {
        let Some(t) = db.table(&entry.table.schema, &entry.table.name) else {
            continue;
        };
        let Some(pk) = t.primary_key.as_ref().filter(|pk| pk.columns.len() == 1) else {
            continue;
        };
        // Identifiers come from the catalog and are quoted; no value is spliced.
        let key = quote_ident(&pk.columns[0]);
        let comment = t
            .columns
            .iter()
            .find(|c| c.name != pk.columns[0])
            .map(|c| format!("t.{}::text", quote_ident(&c.name)))
            .unwrap_or_else(|| "NULL::text".into());
        selects.push(format!(
            "(SELECT coalesce(json_agg(json_build_object('value', t.{key}::text, 'comment', {comment}) \
             ORDER BY t.{key}), '[]'::json) FROM {} AS t)",
            quote_qualified(&t.schema, &t.name)
        ));
        keys.push(format!("{}.{}", t.schema, t.name));
    }
    if selects.is_empty() {
        return Ok(BTreeMap::new());
    }
    let all = format!("SELECT json_build_array({})::text", selects.join(", "));
    let rows: Vec<Vec<EnumRow>> = match enum_rows(&all) {
        Some(rows) => rows?,
        // A table the catalog query saw was dropped by a transaction that committed since
        // (its invalidation makes the next request reload), or the caller may not read one:
        // read the others one by one.
        None => {
            let mut out = BTreeMap::new();
            for (key, select) in keys.into_iter().zip(selects) {
                if let Some(rows) = enum_rows(&format!("SELECT json_build_array({select})::text")) {
                    out.insert(key, rows?.into_iter().next().unwrap_or_default());
                }
            }
            return Ok(out);
        }
    };
    Ok(keys.into_iter().zip(rows).collect())
}

/// Run one enum-rows query in a subtransaction: `None` when a table in it no longer exists
/// (undefined_table) or the caller may not read it (a role that may run metadata requests or
/// queries need not read every enum table: its values are then unknown to this backend, not
/// empty); any other Postgres error is raised as it was.
fn enum_rows(sql: &str) -> Option<Result<Vec<Vec<EnumRow>>>> {
    let outcome = crate::execute::in_subtransaction(|| {
        let text: Option<String> = Spi::connect(|client| client.select(sql, Some(1), &[])?.first().get_one::<String>())?;
        serde_json::from_str(text.as_deref().unwrap_or("[]"))
            .map_err(|e| GraftError::Catalog(format!("cannot read the enum tables' rows: {e}")))
    });
    match outcome {
        Ok(result) => Some(result),
        Err(crate::execute::Caught::Postgres(report))
            if matches!(
                report.sql_error_code(),
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE | PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE
            ) =>
        {
            None
        }
        Err(crate::execute::Caught::Postgres(report)) => pgrx::pg_sys::panic::CaughtError::PostgresError(*report).rethrow(),
        Err(crate::execute::Caught::Panic(message)) => {
            Some(Err(GraftError::Internal(format!("panic while reading the enum tables' rows: {message}"))))
        }
    }
}
