//! The tracked tables a live query's result depends on, for change-driven refetch: a cohort
//! re-runs only when one of them has committed a change since its last run.
//!
//! The reads are taken from the compiled statement itself, not re-derived from the request:
//! the generator names every table it reads schema-qualified (`"public"."article"`), whether
//! the reason is a root field, a relationship in the selection, `where`, `order_by` or an
//! aggregate, a permission filter (through relationships or `_exists`), or an inherited
//! role's redacted cell. Whatever the generator learns to emit later is covered the same way,
//! and a name that is not a table (an alias, a column, a type after `::`) is not counted.
//!
//! What the statement cannot show is what a function body reads. A call of a tracked
//! function, a computed field, or any other function that is not a built-in makes the read
//! set `unknown` (the cohort must poll on the interval); a function's return table still
//! counts as read. So does a view (or materialized view, or foreign table): its rows change
//! when tables it is defined over change, and no change counter of its own shows that.

use std::collections::{BTreeSet, HashMap};

use super::lex::{self, Kind, LexError, Token};
use crate::dbcatalog::QualifiedName;
use crate::request::Compiled;
use crate::schema::model::{ComputedReturn, Schema};

/// The read set of a live query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// Indices into `Schema::tables`, ascending.
    pub tables: Vec<usize>,
    /// The same tables by name, in the same order.
    pub names: Vec<QualifiedName>,
    /// The result may depend on tables not listed: refetch on the interval.
    pub unknown: bool,
    /// Why `unknown` is set, in order of first appearance.
    pub opaque: Vec<Opaque>,
}

/// A part of the statement whose reads cannot be seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opaque {
    /// A call of a function that is not a built-in: a tracked function, a computed field, or
    /// (schema empty) an unqualified function the compiler is not known to emit.
    Function(QualifiedName),
    /// A tracked view, materialized view or foreign table.
    View(QualifiedName),
}

/// The read set of a compiled live query (an answer computed without the database reads nothing).
pub fn reads(schema: &Schema, compiled: &Compiled) -> Result<Reads, LexError> {
    match compiled {
        Compiled::Sql(c) => reads_of_sql(schema, &c.sql),
        Compiled::Json(_) => Ok(Reads::default()),
        Compiled::Mutation(_) => Ok(Reads { unknown: true, ..Reads::default() }),
    }
}

/// Unqualified functions and keywords the generator emits before `(`: built-ins, which read no
/// table. Any other unqualified call counts as opaque.
const BUILTIN: &[&str] = &[
    // keywords
    "select", "from", "where", "and", "or", "not", "exists", "in", "any", "all", "on", "as", "by", "then", "else", "when",
    "case", "end", "distinct", "lateral", "filter", "over", "values", "array", "row", "cast", "is", "like", "ilike",
    "similar", "to", "between", "limit", "offset", "using", "join", "left", "returning", "with", "set", "into",
    "first", // FETCH FIRST (n) ROWS WITH TIES
    // functions
    "json_build_object", "json_agg", "coalesce", "count", "sum", "avg", "max", "min", "stddev", "stddev_pop",
    "stddev_samp", "var_pop", "var_samp", "variance", "array_agg", "unnest", "substr", "lower", "upper", "bool_and",
    "bool_or", "row_to_json", "to_json", "to_jsonb", "json_array_elements", "json_populate_record", "generate_series",
    "jsonb_build_object", "jsonb_agg", "json_typeof", "jsonb_typeof", "nullif", "greatest", "least", "length",
];

/// The read set of statement `sql`.
pub fn reads_of_sql(schema: &Schema, sql: &str) -> Result<Reads, LexError> {
    let toks = lex::tokens(sql)?;
    let by_name: HashMap<&QualifiedName, usize> = schema.tables.iter().enumerate().map(|(i, t)| (&t.name, i)).collect();
    let mut tables = BTreeSet::new();
    let mut out = Reads::default();
    let opaque = |out: &mut Reads, o: Opaque| {
        out.unknown = true;
        if !out.opaque.contains(&o) {
            out.opaque.push(o);
        }
    };
    let mut i = 0;
    while i < toks.len() {
        lex::tick()?;
        if toks[i].kind == Kind::Cast {
            i = skip_type(&toks, i + 1);
            continue;
        }
        let Some(first) = toks[i].kind.name() else {
            i += 1;
            continue;
        };
        let qualified = match (toks.get(i + 1), toks.get(i + 2).and_then(|t| t.kind.name())) {
            (Some(Token { kind: Kind::Punct('.'), .. }), Some(second)) => Some(second),
            _ => None,
        };
        let (name, next) = match &qualified {
            Some(second) => (QualifiedName::new(first, second.as_str()), i + 3),
            None => (QualifiedName::new("", first), i + 1),
        };
        let call = matches!(toks.get(next), Some(Token { kind: Kind::Punct('('), .. }));
        // `… AS _n5(e, o)` names a row alias and its columns, not a function.
        let alias = i > 0 && matches!(&toks[i - 1].kind, Kind::Word(w) if w.eq_ignore_ascii_case("as"));
        if alias {
            i = next;
            continue;
        }
        if call {
            // Each function once: its return tables are looked up over the whole schema.
            if !is_builtin(&name, &toks[i].kind) && !out.opaque.contains(&Opaque::Function(name.clone())) {
                for t in function_tables(schema, &name)? {
                    tables.insert(t);
                }
                opaque(&mut out, Opaque::Function(name));
            }
        } else if qualified.is_some() {
            // `alias."column"` names no table; a tracked table's name is a read.
            if let Some(&ti) = by_name.get(&name) {
                tables.insert(ti);
                if schema.tables[ti].is_view {
                    opaque(&mut out, Opaque::View(name));
                }
            }
        }
        i = next;
    }
    out.names = tables.iter().map(|&t| schema.tables[t].name.clone()).collect();
    out.tables = tables.into_iter().collect();
    Ok(out)
}

/// Past the type name after `::` (`int4`, `"pg_catalog"."int4"`, with a modifier list).
fn skip_type(toks: &[Token], mut i: usize) -> usize {
    if toks.get(i).and_then(|t| t.kind.name()).is_some() {
        i += 1;
        if matches!(toks.get(i), Some(Token { kind: Kind::Punct('.'), .. })) && toks.get(i + 1).and_then(|t| t.kind.name()).is_some() {
            i += 2;
        }
    }
    if matches!(toks.get(i), Some(Token { kind: Kind::Punct('('), .. })) {
        // `numeric(10, 2)`: numbers only; stop at the first `)`.
        while i < toks.len() && toks[i].kind != Kind::Punct(')') {
            i += 1;
        }
    }
    i
}

/// Built-in: in `pg_catalog`, or an unqualified keyword or function the generator emits.
/// Unquoted only: `"count"(…)` would be a user's function named so.
fn is_builtin(name: &QualifiedName, first: &Kind) -> bool {
    if name.schema == "pg_catalog" {
        return true;
    }
    name.schema.is_empty() && matches!(first, Kind::Word(_)) && BUILTIN.contains(&name.name.as_str())
}

/// Tables whose rows function `name` returns, as a tracked function or a set-returning
/// computed field (the function's body may read others).
fn function_tables(schema: &Schema, name: &QualifiedName) -> Result<Vec<usize>, LexError> {
    let mut out: Vec<usize> = schema.functions.iter().filter(|f| f.name == *name).map(|f| f.returns_table).collect();
    for t in &schema.tables {
        lex::tick()?;
        for cf in &t.computed_fields {
            if cf.function == *name {
                if let ComputedReturn::SetOf { table } = cf.returns {
                    out.push(table);
                }
            }
        }
    }
    Ok(out)
}
