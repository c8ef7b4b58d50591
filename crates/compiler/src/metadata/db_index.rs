//! Constant-time lookups into the [`DbCatalog`] for the consistency checks, built once per request.

use std::collections::HashMap;

use crate::dbcatalog::{DbCatalog, DbFunction, DbTable};

/// Catalog lookups the checks need; [`DbIndex`] answers them in constant time.
pub trait Lookup {
    fn table(&self, schema: &str, name: &str) -> Option<&DbTable>;
    fn functions(&self, schema: &str, name: &str) -> Vec<&DbFunction>;
    fn catalog(&self) -> &DbCatalog;
}

impl Lookup for DbCatalog {
    fn table(&self, schema: &str, name: &str) -> Option<&DbTable> {
        DbCatalog::table(self, schema, name)
    }
    fn functions(&self, schema: &str, name: &str) -> Vec<&DbFunction> {
        self.functions_named(schema, name).collect()
    }
    fn catalog(&self) -> &DbCatalog {
        self
    }
}

/// Hash index over a [`DbCatalog`], built once per request.
pub struct DbIndex<'d> {
    db: &'d DbCatalog,
    tables: HashMap<(&'d str, &'d str), &'d DbTable>,
    functions: HashMap<(&'d str, &'d str), Vec<&'d DbFunction>>,
}

impl<'d> DbIndex<'d> {
    pub fn new(db: &'d DbCatalog) -> Self {
        let tables = db.tables.iter().map(|t| ((t.schema.as_str(), t.name.as_str()), t)).collect();
        let mut functions: HashMap<(&str, &str), Vec<&DbFunction>> = HashMap::new();
        for f in &db.functions {
            functions.entry((f.schema.as_str(), f.name.as_str())).or_default().push(f);
        }
        DbIndex { db, tables, functions }
    }
}

impl Lookup for DbIndex<'_> {
    fn table(&self, schema: &str, name: &str) -> Option<&DbTable> {
        self.tables.get(&(schema, name)).copied()
    }
    fn functions(&self, schema: &str, name: &str) -> Vec<&DbFunction> {
        self.functions.get(&(schema, name)).cloned().unwrap_or_default()
    }
    fn catalog(&self) -> &DbCatalog {
        self.db
    }
}
