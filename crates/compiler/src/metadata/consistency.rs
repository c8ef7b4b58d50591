//! Which metadata objects do not match the database — Hasura's "inconsistent objects".
//!
//! The checks mirror what Hasura's schema-cache build rejects: tracked tables/functions that are
//! gone, relationships whose foreign key, columns or target table vanished, computed fields whose
//! function is missing or unsuitable, enum tables that are not enum-shaped, column customizations
//! for missing columns, fields clashing with columns. An object on an inconsistent table is not
//! reported separately (it is dropped with its table), but objects on *other* tables that point at
//! it are (`table "author" is not tracked`). The same checks validate every metadata request.

use std::collections::{HashMap, HashSet};

pub use crate::metadata::db_index::{DbIndex, Lookup};
pub use crate::metadata::definitions::{
    computed_field_definition, function_definition, permission_definition, relationship_definition,
};
pub use crate::metadata::enum_tables::enum_problem;
pub use crate::metadata::permission_shape::permission_shape_problem;

use indexmap::IndexMap;
use serde_json::Value;

use crate::dbcatalog::{DbCatalog, DbFunction, DbTable, QualifiedName};
use crate::error::MetadataError;
use crate::metadata::model::{
    qualified_json, ComputedField, FkOn, FunctionEntry, Metadata, PermKind, RelKind, RelUsing, Relationship, Source,
    TableEntry,
};
use crate::metadata::args::kind_name;
use crate::metadata::names::{
    default_graphql_name, display, dq, dq_q, english_list, invalid_enum_values, is_graphql_name,
    not_a_graphql_identifier, qualified_not_a_graphql_identifier, reasons,
};
use crate::schema::build::Inconsistency;

/// Identity of a metadata object, as Hasura's `MetadataObjId`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ObjectId {
    Table { source: String, table: QualifiedName },
    Relationship { source: String, table: QualifiedName, name: String, kind: RelKind },
    ComputedField { source: String, table: QualifiedName, name: String },
    Permission { source: String, table: QualifiedName, role: String, kind: PermKind },
    Function { source: String, function: QualifiedName },
    RemoteRelationship { source: String, table: QualifiedName, name: String },
    EventTrigger { source: String, table: QualifiedName, name: String },
    /// A stored feature Graft does not enforce (`unsupported`): a top-level section or one of
    /// its items, or a source's customization (`item` is then the source).
    Unsupported { section: String, item: Option<String> },
}

/// One inconsistent object: which it is, and what `get_inconsistent_metadata` says about it.
#[derive(Clone, Debug)]
pub struct Found {
    pub id: ObjectId,
    pub inconsistency: Inconsistency,
}

/// Every inconsistent object of `md` against `db`, in Hasura's order (tables, then per table its
/// relationships, computed fields and permissions, then functions).
pub fn check(md: &Metadata, db: &DbCatalog) -> Vec<Inconsistency> {
    check_objects(md, db).into_iter().map(|f| f.inconsistency).collect()
}

pub fn check_objects(md: &Metadata, db: &DbCatalog) -> Vec<Found> {
    check_indexed(md, &DbIndex::new(db))
}

pub fn check_indexed(md: &Metadata, db: &DbIndex) -> Vec<Found> {
    let mut out = Vec::new();
    for source in &md.sources {
        SourceCheck { source, db, good: HashSet::new() }.run(&mut out);
    }
    out.extend(crate::metadata::unsupported::check(md));
    out
}

/// What makes Hasura's schema build fail as a whole rather than mark an object inconsistent: a
/// cycle of inherited roles ([`inherited_roles::cycle_error`]), then a root field two objects
/// both define ([`root_fields::conflict`], 500 `unexpected`). `inconsistent` are the objects
/// left out of the schema.
pub fn schema_error(md: &Metadata, db: &DbIndex, inconsistent: &HashSet<ObjectId>) -> Option<MetadataError> {
    crate::metadata::inherited_roles::cycle_error(md).or_else(|| {
        crate::metadata::root_fields::conflict(md, db, inconsistent)
            .map(|msg| MetadataError::new("unexpected", "$.args", msg))
    })
}

const PREFIX: &str = "Inconsistent object: ";

struct SourceCheck<'a> {
    source: &'a Source,
    db: &'a DbIndex<'a>,
    /// Tracked tables that exist and are themselves consistent.
    good: HashSet<QualifiedName>,
}

impl<'a> SourceCheck<'a> {
    fn run(mut self, out: &mut Vec<Found>) {
        let src = self.source;
        for t in &src.tables {
            let problem = match self.db.table(&t.table.schema, &t.table.name) {
                None => Some(format!("no such table/view exists in source: {}", dq_q(&t.table))),
                Some(dbt) => table_problem(t, dbt, self.db.catalog()),
            };
            match problem {
                Some(reason) => out.push(self.found(
                    ObjectId::Table { source: src.name.clone(), table: t.table.clone() },
                    "table",
                    format!("table {} in source {}", display(&t.table), src.name),
                    qualified_json(&t.table),
                    reason,
                )),
                None => {
                    self.good.insert(t.table.clone());
                }
            }
        }
        for t in &src.tables {
            if let Some(dbt) = self.good_table(&t.table) {
                self.check_fields(t, dbt, out);
                self.check_event_triggers(t, dbt, out);
            }
        }
        for f in &src.functions {
            if let Err(reason) = self.function_problem(f) {
                out.push(self.found(
                    ObjectId::Function { source: src.name.clone(), function: f.function.clone() },
                    "function",
                    format!("function {} in source {}", display(&f.function), src.name),
                    function_definition(&src.name, f),
                    reason,
                ));
            }
        }
    }

    fn found(&self, id: ObjectId, kind: &str, name: String, definition: Value, reason: String) -> Found {
        Found {
            id,
            inconsistency: Inconsistency {
                definition,
                name,
                reason: format!("{PREFIX}{reason}"),
                kind: kind.to_string(),
            },
        }
    }

    fn good_table(&self, q: &QualifiedName) -> Option<&'a DbTable> {
        let db: &'a DbIndex<'a> = self.db;
        if self.good.contains(q) {
            db.table(&q.schema, &q.name)
        } else {
            None
        }
    }

    /// Relationships, computed fields and permissions of one consistent table.
    fn check_fields(&self, t: &'a TableEntry, dbt: &DbTable, out: &mut Vec<Found>) {
        let src = &self.source.name;
        let gql_columns: HashMap<String, &str> = dbt
            .columns
            .iter()
            .map(|c| (t.configuration.column_custom_name(&c.name).unwrap_or(&c.name).to_string(), c.name.as_str()))
            .collect();
        let mut fields: HashSet<&str> = HashSet::new();
        let mut name_problem = |name: &'a str| -> Option<String> {
            if !is_graphql_name(name) {
                Some(not_a_graphql_identifier(name))
            } else if dbt.column(name).is_some() {
                Some("field definition conflicts with postgres column".into())
            } else if let Some(col) = gql_columns.get(name) {
                Some(format!("field definition conflicts with custom field name for postgres column {}", dq(col)))
            } else if !fields.insert(name) {
                Some(format!("conflicting definitions for field {}", dq(name)))
            } else {
                None
            }
        };
        for kind in [RelKind::Object, RelKind::Array] {
            for rel in t.relationships(kind) {
                let problem = self.relationship_problem(&t.table, dbt, rel, kind).err();
                if let Some(reason) = problem.or_else(|| name_problem(&rel.name)) {
                    out.push(self.found(
                        ObjectId::Relationship {
                            source: src.clone(),
                            table: t.table.clone(),
                            name: rel.name.clone(),
                            kind,
                        },
                        kind.object_type(),
                        format!("{} {} in table {} in source {}", kind.object_type(), rel.name, display(&t.table), src),
                        relationship_definition(src, &t.table, rel),
                        reason,
                    ));
                }
            }
        }
        for cf in &t.computed_fields {
            let problem = self.computed_field_problem(&t.table, cf).err();
            if let Some(reason) = problem.or_else(|| name_problem(&cf.name)) {
                out.push(self.found(
                    ObjectId::ComputedField { source: src.clone(), table: t.table.clone(), name: cf.name.clone() },
                    "computed_field",
                    format!("computed_field {} in table {} in source {}", cf.name, display(&t.table), src),
                    computed_field_definition(src, &t.table, cf),
                    reason,
                ));
            }
        }
        for kind in PermKind::ALL {
            for p in t.permissions(kind) {
                let problem = if p.role == "admin" {
                    Some("cannot define permission for admin role".to_string())
                } else {
                    self.permission_problem(t, dbt, kind, &p.permission).err()
                };
                if let Some(problem) = problem {
                    let reason =
                        format!("in table {}: in permission for role {}: {problem}", dq_q(&t.table), dq(&p.role));
                    out.push(self.found(
                        ObjectId::Permission {
                            source: src.clone(),
                            table: t.table.clone(),
                            role: p.role.clone(),
                            kind,
                        },
                        &format!("{}_permission", kind.code()),
                        format!(
                            "{}_permission {} in table {} in source {}",
                            kind.code(),
                            p.role,
                            display(&t.table),
                            src
                        ),
                        permission_definition(src, &t.table, p),
                        reason,
                    ));
                }
            }
        }
    }

    /// Event triggers naming a column the table no longer has (a `run_sql` dropped it): Hasura
    /// refuses such a drop as a dependency, which needs the trigger to be inconsistent here.
    fn check_event_triggers(&self, t: &'a TableEntry, dbt: &DbTable, out: &mut Vec<Found>) {
        let src = &self.source.name;
        for et in &t.event_triggers {
            let Ok(conf) = crate::events::config::EventTriggerConf::parse(&t.table, et) else { continue };
            let Some(col) = conf.named_columns().find(|c| dbt.column(c).is_none()) else { continue };
            out.push(self.found(
                ObjectId::EventTrigger { source: src.clone(), table: t.table.clone(), name: conf.name.clone() },
                "event_trigger",
                format!("event_trigger {} in table {} in source {}", conf.name, display(&t.table), src),
                serde_json::json!({"source": src, "table": qualified_json(&t.table), "configuration": et}),
                format!("in table {}: in event trigger {}: column {} does not exist", dq_q(&t.table), dq(&conf.name), dq(col)),
            ));
        }
    }

    /// What is wrong with a permission body, checked as Hasura's `buildPermInfo` checks it: its
    /// shape ([`permission_shape_problem`]), then every column, computed field, preset and
    /// boolean expression against the table. A permission with a problem is inconsistent, and
    /// an inconsistent permission grants nothing (the schema leaves it out).
    fn permission_problem(&self, t: &TableEntry, dbt: &DbTable, kind: PermKind, body: &Value) -> Result<(), String> {
        if let Some((_, msg)) = permission_shape_problem(kind, body) {
            return Err(msg);
        }
        if let Some(msg) = crate::metadata::unsupported::permission_problem(body) {
            return Err(msg);
        }
        let present = |key: &str| body.get(key).filter(|v| !v.is_null());
        let columns = || -> Result<(), String> {
            if let Some(Value::Array(cols)) = present("columns") {
                for c in cols.iter().filter_map(Value::as_str) {
                    if dbt.column(c).is_none() {
                        return Err(format!("column {} does not exist", dq(c)));
                    }
                }
            }
            Ok(())
        };
        let presets = || -> Result<(), String> {
            if let Some(Value::Object(set)) = present("set") {
                for col in set.keys() {
                    if dbt.column(col).is_none() {
                        return Err(format!("column {} does not exist", dq(col)));
                    }
                }
            }
            Ok(())
        };
        let bool_exp = |key: &str| present(key).map_or(Ok(()), |exp| self.bool_exp_problem(t, dbt, dbt, exp, 0));
        // In the order Hasura's `build*PermInfo` checks them: the first problem is reported.
        match kind {
            PermKind::Select => {
                bool_exp("filter")?;
                columns()?;
                if let Some(Value::Array(cfs)) = present("computed_fields") {
                    for cf in cfs.iter().filter_map(Value::as_str) {
                        self.permitted_computed_field(t, dbt, cf)?;
                    }
                }
            }
            PermKind::Insert => {
                bool_exp("check")?;
                presets()?;
                columns()?;
            }
            PermKind::Update => {
                bool_exp("filter")?;
                bool_exp("check")?;
                presets()?;
                columns()?;
            }
            PermKind::Delete => bool_exp("filter")?,
        }
        Ok(())
    }

    /// A name in a select permission's `computed_fields`, checked as Hasura's
    /// `askComputedFieldInfo`: a scalar computed field of the table. One returning rows of a
    /// table takes that table's permissions, so it can't be granted here.
    fn permitted_computed_field(&self, t: &TableEntry, dbt: &DbTable, name: &str) -> Result<(), String> {
        let not_one = |what: &str| Err(format!("expecting a computed field; but, {} is a {what}", dq(name)));
        if dbt.column(name).is_some() {
            return not_one("column");
        }
        if t.relationship(name).is_some() {
            return not_one("relationship");
        }
        if t.remote_relationships.iter().any(|r| r.get("name").and_then(Value::as_str) == Some(name)) {
            return not_one("remote relationship");
        }
        let Some(cf) = t.computed_fields.iter().find(|c| c.name == name) else {
            return Err(format!("computed field {} does not exist", dq(name)));
        };
        let set_of = single_function(self.db, &cf.definition.function)
            .ok()
            .filter(|f| f.returns_set)
            .and_then(|f| return_table(self.db, f));
        match set_of {
            Some(rt) => Err(format!(
                "select permissions on computed field {} are auto-derived from the permissions on its returning table {} and cannot be specified manually",
                dq(name),
                dq_q(&rt)
            )),
            None => Ok(()),
        }
    }

    /// A permission boolean expression over the rows of `t` (SQL column names, relationships,
    /// computed fields, `_and`/`_or`/`_not`/`_exists`, `$op` aliases), checked as Hasura's
    /// `annBoolExp` checks it: an unknown field is `"x" does not exist`, an unknown operator
    /// `Unknown operator: _x`.
    /// `root` is the table whose permission `exp` is (what `["$", column]` names); `dbt` the
    /// table at this level of the expression.
    fn bool_exp_problem(&self, t: &TableEntry, dbt: &DbTable, root: &DbTable, exp: &Value, depth: usize) -> Result<(), String> {
        if depth > 32 {
            return Err("the boolean expression is nested too deeply".into());
        }
        let Value::Object(obj) = exp else {
            return Err(format!("expected a boolean expression object, but encountered {}", kind_name(exp)));
        };
        for (k, v) in obj {
            let key = k.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| k.clone());
            match key.as_str() {
                "_and" | "_or" => match v {
                    Value::Array(items) => {
                        for item in items {
                            self.bool_exp_problem(t, dbt, root, item, depth + 1)?;
                        }
                    }
                    other => {
                        return Err(format!("{k}: expected an array of boolean expressions, but encountered {}", kind_name(other)))
                    }
                },
                "_not" => self.bool_exp_problem(t, dbt, root, v, depth + 1)?,
                "_exists" => {
                    let table = v
                        .get("_table")
                        .cloned()
                        .and_then(|q| crate::metadata::model::deserialize_qualified(q).ok())
                        .ok_or_else(|| "_exists: key \"_table\" not found".to_string())?;
                    let (entry, rdb) = self.tracked_entry(&table)?;
                    if let Some(w) = v.get("_where").filter(|w| !w.is_null()) {
                        self.bool_exp_problem(entry, rdb, root, w, depth + 1)?;
                    }
                }
                _ if dbt.column(&key).is_some() => operators_problem(dbt, root, &key, v)?,
                _ => {
                    let rel = [RelKind::Object, RelKind::Array]
                        .into_iter()
                        .find_map(|kind| t.relationships(kind).iter().find(|r| r.name == key));
                    if let Some(rel) = rel {
                        let target = self
                            .rel_target(dbt, rel)
                            .ok_or_else(|| format!("relationship {} does not exist", dq(&key)))?;
                        let (entry, rdb) = self.tracked_entry(&target)?;
                        self.bool_exp_problem(entry, rdb, root, v, depth + 1)?;
                    } else if let Some(cf) = t.computed_fields.iter().find(|c| c.name == key) {
                        // One returning a table's rows filters on them, like an array
                        // relationship: its expression names that table's fields.
                        let set_of = single_function(self.db, &cf.definition.function)
                            .ok()
                            .filter(|f| f.returns_set)
                            .and_then(|f| return_table(self.db, f));
                        match set_of {
                            Some(rt) => {
                                let (entry, rdb) = self.tracked_entry(&rt)?;
                                self.bool_exp_problem(entry, rdb, root, v, depth + 1)?;
                            }
                            None => operators_problem(dbt, root, &key, v)?,
                        }
                    } else {
                        return Err(format!("{} does not exist", dq(&key)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The tracked, consistent table `q` of this source and its database table.
    fn tracked_entry(&self, q: &QualifiedName) -> Result<(&'a TableEntry, &'a DbTable), String> {
        let src: &'a Source = self.source;
        match (src.table(q), self.good_table(q)) {
            (Some(entry), Some(rdb)) => Ok((entry, rdb)),
            _ => Err(format!("table {} does not exist", dq_q(q))),
        }
    }

    /// The table a relationship of `table` points at.
    fn rel_target(&self, dbt: &DbTable, rel: &Relationship) -> Option<QualifiedName> {
        match &rel.using {
            RelUsing::ForeignKey(FkOn::Remote(remote)) => Some(remote.table.clone()),
            RelUsing::ForeignKey(on) => {
                let fk = single_fk(dbt, &on.columns(), |_| true).ok()?;
                Some(QualifiedName::new(&fk.ref_schema, &fk.ref_table))
            }
            RelUsing::Manual(m) => Some(m.remote_table.clone()),
        }
    }

    fn not_tracked(&self, q: &QualifiedName) -> Result<&'a DbTable, String> {
        self.good_table(q).ok_or_else(|| format!("table {} is not tracked", dq_q(q)))
    }

    fn relationship_problem(
        &self,
        table: &QualifiedName,
        dbt: &DbTable,
        rel: &Relationship,
        kind: RelKind,
    ) -> Result<(), String> {
        let in_rel = |m: &str| format!("in table {}: in relationship {}: {m}", dq_q(table), dq(&rel.name));
        match &rel.using {
            RelUsing::ForeignKey(FkOn::Remote(remote)) => {
                let rdb = self.not_tracked(&remote.table)?;
                let cols = remote.column_list();
                single_fk(rdb, &cols, |fk| fk.ref_schema == table.schema && fk.ref_table == table.name)
                    .map_err(in_rel)?;
                Ok(())
            }
            RelUsing::ForeignKey(on) => {
                if kind == RelKind::Array {
                    return Err(in_rel("an array relationship needs foreign_key_constraint_on: {table, column(s)}"));
                }
                let fk = single_fk(dbt, &on.columns(), |_| true).map_err(in_rel)?;
                self.not_tracked(&QualifiedName::new(&fk.ref_schema, &fk.ref_table))?;
                Ok(())
            }
            RelUsing::Manual(m) => {
                let rdb = self.not_tracked(&m.remote_table)?;
                for (local, remote) in &m.column_mapping {
                    if dbt.column(local).is_none() {
                        return Err(format!("table {} has no field named {}", dq_q(table), dq(local)));
                    }
                    if rdb.column(remote).is_none() {
                        return Err(format!("table {} has no field named {}", dq_q(&m.remote_table), dq(remote)));
                    }
                }
                Ok(())
            }
        }
    }

    fn computed_field_problem(&self, table: &QualifiedName, cf: &ComputedField) -> Result<(), String> {
        let fname = &cf.definition.function;
        let in_cf = |m: String| format!("in table {}: in computed field {}: {m}", dq_q(table), dq(&cf.name));
        let f = single_function(self.db, fname).map_err(in_cf)?;
        let fq = dq_q(fname);
        let mut errs = Vec::new();
        if !is_graphql_name(&cf.name) {
            errs.push(format!("{} is not valid GraphQL name", dq(&cf.name)));
        }
        if f.volatility == "v" {
            errs.push(format!("the function {fq} is of type VOLATILE; cannot be added as a computed field"));
        }
        // A scalar, or SETOF a tracked table.
        match return_table(self.db, f) {
            Some(rt) if f.returns_set => {
                if self.good_table(&rt).is_none() {
                    errs.push(format!(
                        "the function {fq} returning set of table {} is not tracked or not found in database",
                        dq_q(&rt)
                    ));
                }
            }
            rt => {
                if f.returns_set || rt.is_some() || is_pseudo_type(&f.return_type) {
                    let set = if f.returns_set { "SETOF " } else { "" };
                    errs.push(format!("the function {fq} returning type {set}{} is not a BASE type", f.return_type));
                }
            }
        }
        let check_table_arg = |i: usize, subject: String, errs: &mut Vec<String>| {
            let ty = arg_type(self.db, f, i);
            let shown = dq(&format!("{}.{}", ty.schema, ty.name));
            let not_the_table =
                format!("{subject} of type {shown} is not the table to which the computed field is being added");
            match self.db.table(&ty.schema, &ty.name) {
                Some(_) if &ty == table => {}
                Some(_) => errs.push(not_the_table),
                None => {
                    errs.push(format!("{subject} is not COMPOSITE type"));
                    errs.push(not_the_table);
                }
            }
        };
        match &cf.definition.table_argument {
            Some(arg) => match f.arg_names.iter().position(|n| n == arg) {
                None => errs.push(format!("{} is not an input argument of {fq} function", dq(arg))),
                Some(i) => check_table_arg(i, format!("{} argument of the function {fq}", dq(arg)), &mut errs),
            },
            None if f.arg_types.is_empty() => errs.push(format!("the function {fq} has no input arguments")),
            None => check_table_arg(0, format!("first argument of the function {fq}"), &mut errs),
        }
        if let Some(arg) = &cf.definition.session_argument {
            match f.arg_names.iter().position(|n| n == arg) {
                None => errs.push(format!("{} is not an input argument of the function {fq}", dq(arg))),
                Some(i) if !is_json(&f.arg_types[i]) => {
                    errs.push(format!("session argument {} of the function {fq} is not of type json or jsonb", dq(arg)))
                }
                Some(_) => {}
            }
        }
        if !errs.is_empty() {
            return Err(in_cf(format!(
                "the computed field {} cannot be added to table {} {}",
                dq(&cf.name),
                dq_q(table),
                reasons(&errs)
            )));
        }
        // The other arguments become the input fields of `<cf>_<T>_args`.
        let table_pos = match &cf.definition.table_argument {
            Some(arg) => f.arg_names.iter().position(|n| n == arg),
            None => Some(0),
        };
        let session_pos = cf.definition.session_argument.as_ref().and_then(|a| f.arg_names.iter().position(|n| n == a));
        if let Some(bad) = bad_argument_name(f, &[table_pos, session_pos]) {
            return Err(in_cf(not_a_graphql_identifier(bad)));
        }
        Ok(())
    }

    fn function_problem(&self, fe: &FunctionEntry) -> Result<(), String> {
        let fname = &fe.function;
        let in_fn = |m: String| format!("in function {}: {m}", dq_q(fname));
        let f = single_function(self.db, fname).map_err(in_fn)?;
        let mut errs = Vec::new();
        let cfg = &fe.configuration;
        // Hasura's `FunctionNameNotGQLCompliant`. (Hasura checks the function's own name even
        // when a custom name is given; Graft accepts a custom name instead, the name the
        // schema uses for the root field, `<name>_args` and `<name>_aggregate`.)
        let custom = cfg.custom_root_fields.get("function").or(cfg.custom_name.as_ref());
        if custom.is_none() && !is_graphql_name(&default_graphql_name(fname)) {
            errs.push("function name is not a legal GraphQL identifier".to_string());
        }
        let rt = return_table(self.db, f);
        if rt.is_none() {
            errs.push("the function does not return a \"COMPOSITE\" type".to_string());
        }
        if cfg.exposed_as.as_deref() == Some("mutation") && f.volatility != "v" {
            errs.push(
                "the function was requested to be exposed as a mutation, but is not marked VOLATILE. \
                 Maybe the function was given the wrong volatility when it was defined?"
                    .to_string(),
            );
        }
        // The arguments name the input fields of `<name>_args` (Hasura's `FunctionInvalidArgumentNames`).
        let bad_args: Vec<&str> = f.arg_names.iter().map(String::as_str).filter(|n| !n.is_empty() && !is_graphql_name(n)).collect();
        if !bad_args.is_empty() {
            errs.push(format!("the function arguments {} are not in compliance with GraphQL spec", bad_args.join(",")));
        }
        if let Some(arg) = &cfg.session_argument {
            match f.arg_names.iter().position(|n| n == arg) {
                None => {
                    errs.push(format!("given session argument {} is not an input argument of the function", dq(arg)))
                }
                Some(i) if !is_json(&f.arg_types[i]) => {
                    errs.push(format!("given session argument {} is not of type json", dq(arg)))
                }
                Some(_) => {}
            }
        }
        if !errs.is_empty() {
            return Err(in_fn(format!("the function {} cannot be tracked {}", dq_q(fname), reasons(&errs))));
        }
        if let Some(rt) = rt {
            self.not_tracked(&rt)?;
        }
        Ok(())
    }
}

/// The first input argument of `f` (other than those at `skip`) whose name is not a GraphQL
/// name; unnamed arguments are exposed as `arg_<n>`.
fn bad_argument_name<'f>(f: &'f DbFunction, skip: &[Option<usize>]) -> Option<&'f str> {
    (0..f.arg_types.len())
        .filter(|i| !skip.contains(&Some(*i)))
        .filter_map(|i| f.arg_names.get(i).map(String::as_str))
        .find(|n| !n.is_empty() && !is_graphql_name(n))
}

/// Table-level problems: column customization, names that are not GraphQL names (a column or
/// a table without a custom name, as Hasura's `textToName`/`qualifiedObjectToName` reject
/// them), enum shape and enum values.
fn table_problem(t: &TableEntry, dbt: &DbTable, db: &DbCatalog) -> Option<String> {
    let in_table = |m: String| format!("in table {}: {m}", dq_q(&t.table));
    for (col, cc) in &t.configuration.column_config {
        if dbt.column(col).is_none() {
            return Some(in_table(match &cc.custom_name {
                Some(n) => format!(
                    "the custom field name {} was given for the column {}, but no such column exists",
                    dq(n),
                    dq(col)
                ),
                None => format!("the column {} was given a configuration, but no such column exists", dq(col)),
            }));
        }
    }
    for c in &dbt.columns {
        // Column names are also values of `T_select_column`, where `true`, `false` and `null`
        // can't be (Hasura publishes those and breaks the schema; Graft asks for a custom name).
        let field = t.configuration.column_custom_name(&c.name).unwrap_or(&c.name);
        if !crate::schema::names::is_valid_enum_value(field) {
            return Some(not_a_graphql_identifier(field));
        }
    }
    let mut by_field: IndexMap<&str, Vec<String>> = IndexMap::new();
    for c in &dbt.columns {
        let field = t.configuration.column_custom_name(&c.name).unwrap_or(&c.name);
        by_field.entry(field).or_default().push(dq(&c.name));
    }
    if let Some((field, cols)) = by_field.iter().find(|(_, cols)| cols.len() > 1) {
        return Some(in_table(format!(
            "the definitions of columns {} are in conflict: they are mapped to the same field name, {}",
            english_list("and", cols),
            dq(field)
        )));
    }
    if t.configuration.custom_name.is_none() && !is_graphql_name(&default_graphql_name(&t.table)) {
        return Some(qualified_not_a_graphql_identifier(&t.table));
    }
    if t.is_enum {
        return enum_problem(&t.table, dbt).or_else(|| enum_values_problem(&t.table, db));
    }
    None
}

/// An enum table's rows must name GraphQL enum values, and there must be at least one (Hasura's
/// `EnumTableNoEnumValues`, `EnumTableInvalidEnumValueNames`). Checked when the catalog carries
/// the table's rows (the schema cache loads them; a catalog without them says nothing).
fn enum_values_problem(table: &QualifiedName, db: &DbCatalog) -> Option<String> {
    let rows = db.enum_values.get(&format!("{}.{}", table.schema, table.name))?;
    let reason = if rows.is_empty() {
        "the table must have at least one row".to_string()
    } else {
        let bad: Vec<&str> =
            rows.iter().map(|r| r.value.as_str()).filter(|v| !crate::schema::names::is_valid_enum_value(v)).collect();
        if bad.is_empty() {
            return None;
        }
        invalid_enum_values(&bad)
    };
    Some(format!("the table {} cannot be used as an enum {}", dq_q(table), reasons(&[reason])))
}

fn is_json(type_name: &str) -> bool {
    matches!(type_name, "json" | "jsonb")
}

fn is_pseudo_type(type_name: &str) -> bool {
    matches!(type_name, "void" | "record" | "trigger" | "event_trigger" | "anyelement" | "internal")
}

/// The foreign key of `table` whose columns are exactly `cols` (any order) and that satisfies
/// `also`; Hasura's messages when there is none or more than one.
pub fn single_fk<'t>(
    table: &'t DbTable,
    cols: &[String],
    also: impl Fn(&crate::dbcatalog::DbForeignKey) -> bool,
) -> Result<&'t crate::dbcatalog::DbForeignKey, &'static str> {
    let wanted: HashSet<&str> = cols.iter().map(|c| c.as_str()).collect();
    let matching: Vec<_> = table
        .foreign_keys
        .iter()
        .filter(|fk| also(fk) && fk.columns.iter().map(|c| c.as_str()).collect::<HashSet<_>>() == wanted)
        .collect();
    match matching.as_slice() {
        [fk] if !wanted.is_empty() => Ok(fk),
        [] | [_] => Err("no foreign constraint exists on the given column(s)"),
        _ => Err("more than one foreign key constraint exists on the given column(s)"),
    }
}

/// The one function called `name`, or Hasura's "no such function" / "overloaded" message.
pub fn single_function<'d>(db: &'d impl Lookup, name: &QualifiedName) -> Result<&'d DbFunction, String> {
    let fns: Vec<&DbFunction> = db.functions(&name.schema, &name.name);
    match fns.as_slice() {
        [f] => Ok(f),
        [] => Err(format!("no such function exists: {}", dq_q(name))),
        _ => Err(format!("function {} is overloaded. Overloaded functions are not supported", dq_q(name))),
    }
}

/// The table or view whose row type `f` returns, if any.
pub fn return_table(db: &impl Lookup, f: &DbFunction) -> Option<QualifiedName> {
    db.table(&f.return_type_schema, &f.return_type).map(|t| t.qualified())
}

/// The (schema-qualified) type of input argument `i`.
fn arg_type(db: &impl Lookup, f: &DbFunction, i: usize) -> QualifiedName {
    let name = f.arg_types[i].clone();
    match f.arg_type_schemas.get(i).filter(|s| !s.is_empty()) {
        Some(schema) => QualifiedName::new(schema.clone(), name),
        None => {
            let tables: Vec<_> = db.catalog().tables.iter().filter(|t| t.name == name).collect();
            match tables.as_slice() {
                [t] => QualifiedName::new(t.schema.clone(), name),
                _ => QualifiedName::new("pg_catalog", name),
            }
        }
    }
}

/// Comparison operators a permission expression may use on a column (Graft's, after `$op` →
/// `_op`), and the column-to-column ones.
const COMPARISON_OPS: &[&str] = &[
    "_eq", "_ne", "_neq", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_is_null", "_like", "_nlike", "_ilike",
    "_nilike", "_similar", "_nsimilar", "_regex", "_iregex", "_nregex", "_niregex", "_contains", "_contained_in",
    "_has_key", "_has_keys_any", "_has_keys_all", "_cast",
    // PostGIS and ltree (Hasura's backend-specific operators).
    "_st_contains", "_st_crosses", "_st_equals", "_st_overlaps", "_st_touches", "_st_within", "_st_intersects",
    "_st_3d_intersects", "_st_d_within", "_st_3d_d_within", "_st_intersects_rast", "_st_intersects_nband_geom",
    "_st_intersects_geom_nband", "_ancestor", "_ancestor_any", "_descendant", "_descendant_any", "_matches",
    "_matches_any", "_matches_fulltext",
];
const COLUMN_OPS: &[&str] = &["_ceq", "_cneq", "_cgt", "_clt", "_cgte", "_clte"];

/// The column types an extension operator applies to (Hasura's `guardType`).
fn extension_op_types(op: &str) -> Option<&'static [&'static str]> {
    Some(match op {
        "_st_intersects" | "_st_d_within" => &["geometry", "geography"],
        "_st_contains" | "_st_crosses" | "_st_equals" | "_st_overlaps" | "_st_touches" | "_st_within"
        | "_st_3d_intersects" | "_st_3d_d_within" => &["geometry"],
        "_st_intersects_rast" | "_st_intersects_nband_geom" | "_st_intersects_geom_nband" => &["raster"],
        "_ancestor" | "_ancestor_any" | "_descendant" | "_descendant_any" | "_matches" | "_matches_any"
        | "_matches_fulltext" => &["ltree"],
        _ => return None,
    })
}

/// The operators applied to one column: an object of operators, or a bare value (`_eq`).
/// A column comparison's operand is a column of the current table (`"col"`) or of the root
/// table (`["$", "col"]`).
fn operators_problem(dbt: &DbTable, root: &DbTable, column: &str, v: &Value) -> Result<(), String> {
    let Value::Object(ops) = v else { return Ok(()) };
    for (op, arg) in ops {
        let name = op.strip_prefix('$').map(|r| format!("_{r}")).unwrap_or_else(|| op.clone());
        if let (Some(types), Some(c)) = (extension_op_types(&name), dbt.column(column)) {
            if !types.contains(&c.type_name.as_str()) {
                let wanted: Vec<String> = types.iter().map(|t| dq(t)).collect();
                return Err(format!(
                    "{} is of type {}; this operator works only on columns of type {}",
                    dq(column),
                    dq(&c.type_name),
                    wanted.join("/")
                ));
            }
        }
        if COLUMN_OPS.contains(&name.as_str()) {
            let (table, col) = match arg {
                Value::String(col) => (dbt, col),
                Value::Array(items) => match items.as_slice() {
                    [Value::String(dollar), Value::String(col)] if dollar == "$" => (root, col),
                    _ => return Err(format!("{op}: expected a column name or [\"$\", column name], but encountered {}", kind_name(arg))),
                },
                _ => return Err(format!("{op}: expected a column name, but encountered {}", kind_name(arg))),
            };
            if table.column(col).is_none() {
                return Err(format!("column {} does not exist", dq(col)));
            }
        } else if !COMPARISON_OPS.contains(&name.as_str()) {
            return Err(format!("Unknown operator: {op}"));
        }
    }
    Ok(())
}
