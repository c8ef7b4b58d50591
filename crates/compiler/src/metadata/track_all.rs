//! "Track all": the `bulk` request that tracks every untracked table/view of a schema and adds
//! both directions of every foreign key between tracked tables of that schema, named like
//! Hasura's console suggests (`author_id` → `author`, the referencing table → `articles`).
//! A table that cannot be tracked without custom names (its name or a column's is not a
//! GraphQL name) is left for the user to track with a configuration; the rest is tracked.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::dbcatalog::{DbCatalog, DbForeignKey, DbTable, QualifiedName};
use crate::metadata::model::{qualified_json, FkOn, Metadata, RelUsing, TableEntry, DEFAULT_SOURCE};
use crate::metadata::names::{default_graphql_name, is_graphql_name};
use crate::schema::names::sanitize_graphql_name;

pub fn request(md: &Metadata, db: &DbCatalog, schema: &str) -> Value {
    let source = md.source(DEFAULT_SOURCE);
    let entry = |q: &QualifiedName| source.and_then(|s| s.table(q));
    let mut tables: Vec<&DbTable> = db
        .tables
        .iter()
        .filter(|t| t.schema == schema && (entry(&t.qualified()).is_some() || names_are_graphql_names(t)))
        .collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));

    let mut ops = Vec::new();
    for t in &tables {
        if entry(&t.qualified()).is_none() {
            ops.push(json!({"type": "pg_track_table", "args": {"source": DEFAULT_SOURCE, "table": qualified_json(&t.qualified())}}));
        }
    }
    // After the bulk every table of the schema is tracked.
    let in_schema: HashSet<QualifiedName> = tables.iter().map(|t| t.qualified()).collect();
    let mut taken = TakenNames::default();
    for t in &tables {
        let table = t.qualified();
        let mut fks: Vec<&DbForeignKey> = t.foreign_keys.iter().collect();
        fks.sort_by(|a, b| a.name.cmp(&b.name));
        for fk in fks {
            let target = QualifiedName::new(&fk.ref_schema, &fk.ref_table);
            let Some(target_db) = db.table(&target.schema, &target.name).filter(|_| in_schema.contains(&target)) else {
                continue;
            };
            if !entry(&table).is_some_and(|e| has_object_rel(e, fk)) {
                let name = taken.claim(t, entry(&table), object_names(fk));
                let using = match fk.columns.as_slice() {
                    [one] => json!(one),
                    cols => json!(cols),
                };
                ops.push(json!({"type": "pg_create_object_relationship", "args": {
                    "source": DEFAULT_SOURCE,
                    "table": qualified_json(&table),
                    "name": name,
                    "using": {"foreign_key_constraint_on": using},
                }}));
            }
            if !entry(&target).is_some_and(|e| has_array_rel(e, &table, fk)) {
                let name = taken.claim(target_db, entry(&target), array_names(&table, fk));
                let mut on = serde_json::Map::new();
                on.insert("table".into(), qualified_json(&table));
                match fk.columns.as_slice() {
                    [one] => on.insert("column".into(), json!(one)),
                    cols => on.insert("columns".into(), json!(cols)),
                };
                ops.push(json!({"type": "pg_create_array_relationship", "args": {
                    "source": DEFAULT_SOURCE,
                    "table": qualified_json(&target),
                    "name": name,
                    "using": {"foreign_key_constraint_on": on},
                }}));
            }
        }
    }
    json!({"type": "bulk", "args": ops})
}

/// Whether `t` can be tracked without custom names: its default GraphQL name and its column
/// names are GraphQL names.
fn names_are_graphql_names(t: &DbTable) -> bool {
    is_graphql_name(&default_graphql_name(&t.qualified())) && t.columns.iter().all(|c| is_graphql_name(&c.name))
}

/// Preferred name, then the `_by_<columns>` form: `author` / `author_by_author_id`.
fn object_names(fk: &DbForeignKey) -> [String; 2] {
    let preferred = match fk.columns.as_slice() {
        [one] if one.len() > 3 && one.ends_with("_id") => one[..one.len() - 3].to_string(),
        _ => fk.ref_table.clone(),
    };
    [preferred, format!("{}_by_{}", fk.ref_table, fk.columns.join("_"))].map(|n| sanitize_graphql_name(&n))
}

/// `articles` / `articles_by_author_id`: the referencing table's name in the plural, as
/// Hasura's console suggests it.
fn array_names(from: &QualifiedName, fk: &DbForeignKey) -> [String; 2] {
    let plural = plural(&from.name);
    let by = format!("{plural}_by_{}", fk.columns.join("_"));
    [plural, by].map(|n| sanitize_graphql_name(&n))
}

/// Simple English plural: `article` → `articles`, `category` → `categories`; names already
/// ending in `s` are kept.
fn plural(name: &str) -> String {
    let vowel_before_y = name.len() >= 2 && "aeiou".contains(&name[name.len() - 2..name.len() - 1]);
    if name.ends_with('s') {
        name.to_string()
    } else if name.ends_with('y') && !vowel_before_y {
        format!("{}ies", &name[..name.len() - 1])
    } else {
        format!("{name}s")
    }
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().collect::<HashSet<_>>() == b.iter().collect::<HashSet<_>>()
}

/// An object relationship of `e` already built from this foreign key (or its manual twin).
fn has_object_rel(e: &TableEntry, fk: &DbForeignKey) -> bool {
    e.object_relationships.iter().any(|r| match &r.using {
        RelUsing::ForeignKey(FkOn::Remote(_)) => false,
        RelUsing::ForeignKey(on) => same_columns(&on.columns(), &fk.columns),
        RelUsing::Manual(m) => {
            m.remote_table == QualifiedName::new(&fk.ref_schema, &fk.ref_table)
                && m.column_mapping.len() == fk.columns.len()
                && fk.columns.iter().zip(&fk.ref_columns).all(|(c, rc)| m.column_mapping.get(c) == Some(rc))
        }
    })
}

/// An array relationship of `e` (the referenced table) already following this foreign key.
fn has_array_rel(e: &TableEntry, from: &QualifiedName, fk: &DbForeignKey) -> bool {
    e.array_relationships.iter().any(|r| match &r.using {
        RelUsing::ForeignKey(FkOn::Remote(remote)) => {
            &remote.table == from && same_columns(&remote.column_list(), &fk.columns)
        }
        RelUsing::ForeignKey(_) => false,
        RelUsing::Manual(m) => {
            &m.remote_table == from
                && m.column_mapping.len() == fk.columns.len()
                && fk.ref_columns.iter().zip(&fk.columns).all(|(rc, c)| m.column_mapping.get(rc) == Some(c))
        }
    })
}

/// Field names in use per table: columns, existing fields, and names planned by this bulk.
#[derive(Default)]
struct TakenNames(HashMap<QualifiedName, HashSet<String>>);

impl TakenNames {
    fn claim(&mut self, t: &DbTable, entry: Option<&TableEntry>, candidates: [String; 2]) -> String {
        let taken = self.0.entry(t.qualified()).or_insert_with(|| {
            let mut names: HashSet<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            if let Some(e) = entry {
                names.extend(e.field_names().map(str::to_string));
                names.extend(e.remote_relationships.iter().filter_map(|r| r.get("name")?.as_str().map(str::to_string)));
            }
            names
        });
        let [preferred, fallback] = candidates;
        let name = if !taken.contains(&preferred) {
            preferred
        } else if !taken.contains(&fallback) {
            fallback
        } else {
            (2..).map(|i| format!("{fallback}_{i}")).find(|n| !taken.contains(n)).unwrap_or(fallback)
        };
        taken.insert(name.clone());
        name
    }
}
