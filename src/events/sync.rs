//! Keep the `graft_event_*` row triggers exactly as the metadata's event triggers need them:
//! after every metadata change, drop the ones no longer wanted (or wanted differently) and
//! create the missing ones. Runs as the metadata request's caller, who must be allowed to
//! create triggers on the tables (their owner, or a superuser).

use std::collections::BTreeSet;

use graft_compiler::events::triggers::{desired, PgTrigger, PG_TRIGGER_PREFIX};
use graft_compiler::Metadata;
use pgrx::prelude::*;

use crate::errors::Result;

/// Our triggers as they are: every non-internal trigger calling `graphql.capture_event`.
const EXISTING_SQL: &str = "\
    SELECT n.nspname::text, c.relname::text, t.tgname::text, t.tgargs, \
           CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' WHEN t.tgtype & 8 <> 0 THEN 'DELETE' ELSE 'UPDATE' END \
    FROM pg_catalog.pg_trigger t \
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE NOT t.tgisinternal AND t.tgfoid = 'graphql.capture_event()'::pg_catalog.regprocedure";

const DROP_SQL: &str = "SELECT format('DROP TRIGGER %I ON %I.%I', $1, $2, $3)";

/// NULL when the table is gone (its metadata is inconsistent; nothing to capture).
const CREATE_SQL: &str = "\
    SELECT CASE WHEN to_regclass(format('%I.%I', $2, $3)) IS NOT NULL THEN \
      format('CREATE TRIGGER %I AFTER ' || $4 || ' ON %I.%I FOR EACH ROW \
              EXECUTE FUNCTION graphql.capture_event(%L, %L, %L)', $1, $2, $3, $5, $6, $7) END";

pub fn sync_triggers(md: &Metadata) -> Result<()> {
    let wanted: BTreeSet<PgTrigger> = desired(md).into_iter().collect();
    let existing = existing()?;
    for t in existing.difference(&wanted) {
        run_built(DROP_SQL, vec![t.trigger_name.clone(), t.schema.clone(), t.table.clone()])?;
    }
    for t in wanted.difference(&existing) {
        let [name, listened, payload] = t.args.clone();
        // The operation comes from a fixed set; everything else is quoted by format().
        let op = match t.op {
            "INSERT" => "INSERT",
            "UPDATE" => "UPDATE",
            _ => "DELETE",
        };
        run_built(
            CREATE_SQL,
            vec![t.trigger_name.clone(), t.schema.clone(), t.table.clone(), op.into(), name, listened, payload],
        )?;
    }
    Ok(())
}

fn existing() -> Result<BTreeSet<PgTrigger>> {
    let rows = Spi::connect(|c| {
        let mut out = vec![];
        for row in c.select(EXISTING_SQL, None, &[])? {
            let schema: Option<String> = row.get(1)?;
            let table: Option<String> = row.get(2)?;
            let name: Option<String> = row.get(3)?;
            let args: Option<Vec<u8>> = row.get(4)?;
            let op: Option<String> = row.get(5)?;
            out.push((schema, table, name, args, op));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(schema, table, name, args, op)| {
            let (schema, table, name, op) = (schema?, table?, name?, op?);
            let mut parts: Vec<String> = args
                .unwrap_or_default()
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            // tgargs ends with a NUL: drop the empty tail.
            if parts.last().is_some_and(String::is_empty) {
                parts.pop();
            }
            let args: [String; 3] = parts.try_into().unwrap_or_else(|_| Default::default());
            let op = match op.as_str() {
                "INSERT" => "INSERT",
                "DELETE" => "DELETE",
                _ => "UPDATE",
            };
            // A trigger named otherwise (made by hand) is still ours to manage only if named so.
            name.starts_with(PG_TRIGGER_PREFIX).then_some(PgTrigger { schema, table, trigger_name: name, op, args })
        })
        .collect())
}

/// Build a DDL statement with `format()` (Postgres quotes identifiers and literals) and run it.
fn run_built(builder: &str, args: Vec<String>) -> Result<()> {
    let datums: Vec<pgrx::datum::DatumWithOid> = args.into_iter().map(Into::into).collect();
    let ddl: Option<String> = Spi::get_one_with_args(builder, &datums)?;
    if let Some(ddl) = ddl {
        Spi::run(&ddl)?;
    }
    Ok(())
}

/// Upcoming occurrences of cron triggers that were deleted or changed: deleted, so the worker
/// materialises the new schedule (and a deleted trigger fires no more).
pub fn reset_cron_events(old: &Metadata, new: &Metadata) -> Result<()> {
    let defs = |md: &Metadata| -> Vec<(String, serde_json::Value)> {
        md.other
            .get("cron_triggers")
            .and_then(|v| v.as_array())
            .map(|l| {
                l.iter()
                    .filter_map(|t| Some((t.get("name")?.as_str()?.to_string(), t.clone())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let new_defs = defs(new);
    let stale: Vec<String> = defs(old)
        .into_iter()
        .filter(|(name, def)| !new_defs.iter().any(|(n, d)| n == name && d == def))
        .map(|(name, _)| name)
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    super::json_as_owner(
        "WITH d AS (DELETE FROM graphql.hdb_cron_events WHERE status = 'scheduled' AND trigger_name = ANY ($1) RETURNING 1) \
         SELECT count(*)::text FROM d",
        &[stale.into()],
    )?;
    Ok(())
}

/// Pending events of event triggers that were deleted are archived, as Hasura does: never
/// delivered, and deleted by the cleanup like processed ones.
pub fn archive_removed_triggers(old: &Metadata, new: &Metadata) -> Result<()> {
    let names = |md: &Metadata| -> Vec<String> {
        graft_compiler::events::config::event_triggers(md)
            .into_iter()
            .flatten()
            .map(|t| t.name)
            .collect()
    };
    let kept = names(new);
    let removed: Vec<String> = names(old).into_iter().filter(|n| !kept.contains(n)).collect();
    if removed.is_empty() {
        return Ok(());
    }
    super::json_as_owner(
        "WITH a AS (UPDATE graphql.event_log SET archived = true \
           WHERE trigger_name = ANY ($1) AND NOT delivered AND NOT error AND NOT archived RETURNING 1) \
         SELECT count(*)::text FROM a",
        &[removed.into()],
    )?;
    Ok(())
}
