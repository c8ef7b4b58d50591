//! Root fields two tracked objects both define (two tables with the same custom name, a table
//! and a function, a custom root field equal to another table's default …). Hasura's schema
//! build refuses such metadata as a whole (`safeSelectionSet`): `Encountered conflicting
//! definitions in the selection set for 'subscription_root' for field 'author' defined in
//! [table author in source default, table writer in source default]. Fields must not be defined
//! more than once across all sources.` (code `unexpected`, HTTP 500), rather than marking an
//! object inconsistent. The names are the admin role's, the role that sees every root field.

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::dbcatalog::{DbTable, RelKind};
use crate::metadata::consistency::{single_function, DbIndex, Lookup, ObjectId};
use crate::metadata::model::{FunctionEntry, Metadata, TableEntry};
use crate::metadata::names::display;
use crate::schema::build::{function_root_names, root_names};
use crate::schema::names::default_table_name;

/// Hasura checks the subscription root first, then the query and mutation roots.
const ROOTS: [&str; 3] = ["subscription_root", "query_root", "mutation_root"];

/// The message for the first root with a field defined twice, if any. Objects in
/// `inconsistent` define nothing (Hasura leaves them out of the schema).
pub fn conflict(md: &Metadata, db: &DbIndex, inconsistent: &HashSet<ObjectId>) -> Option<String> {
    // Per root: field name → the objects defining it, in metadata order.
    let mut roots: [IndexMap<String, Vec<String>>; 3] = Default::default();
    for src in &md.sources {
        for t in &src.tables {
            let id = ObjectId::Table { source: src.name.clone(), table: t.table.clone() };
            let Some(dbt) = db.table(&t.table.schema, &t.table.name).filter(|_| !inconsistent.contains(&id)) else {
                continue;
            };
            let origin = format!("table {} in source {}", display(&t.table), src.name);
            for (root, name) in table_fields(t, dbt) {
                roots[root].entry(name).or_default().push(origin.clone());
            }
        }
        for f in &src.functions {
            let id = ObjectId::Function { source: src.name.clone(), function: f.function.clone() };
            if inconsistent.contains(&id) {
                continue;
            }
            let Ok(dbf) = single_function(db, &f.function) else { continue };
            let origin = format!("function {} in source {}", display(&f.function), src.name);
            for (root, name) in function_fields(f, &dbf.volatility) {
                roots[root].entry(name).or_default().push(origin.clone());
            }
        }
    }
    ROOTS.iter().zip(roots.iter()).find_map(|(root, fields)| {
        let dups: Vec<String> = fields
            .iter()
            .filter(|(_, origins)| origins.len() > 1)
            .map(|(name, origins)| {
                let mut distinct: Vec<&str> = vec![];
                for o in origins {
                    if !distinct.contains(&o.as_str()) {
                        distinct.push(o);
                    }
                }
                format!("'{name}' defined in [{}]", distinct.join(", "))
            })
            .collect();
        let what = match dups.as_slice() {
            [] => return None,
            [one] => format!("field {one}"),
            many => format!("fields: [{}]", many.join(", ")),
        };
        Some(format!(
            "Encountered conflicting definitions in the selection set for '{root}' for {what}. \
             Fields must not be defined more than once across all sources."
        ))
    })
}

/// Root index (into [`ROOTS`]) and name of each root field of a table, in Hasura's order.
fn table_fields(t: &TableEntry, dbt: &DbTable) -> Vec<(usize, String)> {
    let cfg = &t.configuration;
    let n = cfg.custom_name.clone().unwrap_or_else(|| default_table_name(&t.table.schema, &t.table.name));
    let r = root_names(&n, cfg);
    let has_pk = dbt.primary_key.as_ref().is_some_and(|pk| !pk.columns.is_empty());
    let table = matches!(dbt.kind, RelKind::Table | RelKind::PartitionedTable);
    let mut out = vec![];
    let mut selects = vec![r.select];
    if has_pk {
        selects.push(r.select_by_pk);
    }
    selects.push(r.select_aggregate);
    for s in selects {
        out.push((1, s.clone()));
        out.push((0, s));
    }
    // `T_stream` is a subscription root field: it clashes with the subscription root's others.
    let stream = cfg.root_field("select_stream").and_then(|f| f.name()).map(str::to_string);
    out.push((0, stream.unwrap_or_else(|| format!("{n}_stream"))));
    if table || dbt.is_insertable {
        out.extend([(2, r.insert), (2, r.insert_one)]);
    }
    if table || dbt.is_updatable {
        out.push((2, r.update));
        if has_pk {
            out.push((2, r.update_by_pk));
        }
        out.push((2, r.update_many));
    }
    if table || dbt.is_deletable {
        out.push((2, r.delete));
        if has_pk {
            out.push((2, r.delete_by_pk));
        }
    }
    out
}

/// A tracked function's root fields: `f` and `f_aggregate` on the query and subscription
/// roots, or `f` on the mutation root.
fn function_fields(f: &FunctionEntry, volatility: &str) -> Vec<(usize, String)> {
    let (name, aggregate, mutation) = function_root_names(f, volatility);
    if mutation {
        return vec![(2, name)];
    }
    vec![(1, name.clone()), (0, name), (1, aggregate.clone()), (0, aggregate)]
}
