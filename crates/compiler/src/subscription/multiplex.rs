//! One statement for a batch of live-query cohorts, as Hasura multiplexes them.
//!
//! A live query compiles to one statement with text parameters `$1…$n`, each recorded with its
//! source (`request::input::Source`). Subscribers that differ only in the values of those
//! parameters can be served by one execution: the batch statement takes the cohort ids as
//! `$1` and, per cohort, the values as one `jsonb` array in `$2`, and runs the original
//! statement once per cohort through `unnest` and `LEFT JOIN LATERAL`:
//!
//! ```sql
//! SELECT "graft.subs"."cohort_id", "graft.resp"."result"
//! FROM unnest(($1)::"pg_catalog"."int8"[], ($2)::"pg_catalog"."jsonb"[])
//!        AS "graft.subs"("cohort_id", "vars")
//! CROSS JOIN LATERAL (SELECT "graft.subs"."vars" ->> 0 AS "v0", … OFFSET 0) AS "graft.vals"
//! LEFT JOIN LATERAL (<the statement, $k → "graft.vals"."vi">) AS "graft.resp"("result") ON true
//! ```
//!
//! `->>` yields `text`, the type every parameter is bound as, and the statement's own cast
//! (`($k)::int4`) still applies, so each cohort computes exactly what its own statement
//! computes. Parameters whose source is a constant stay parameters shared by the batch
//! (`$3…`), so the extension may fold them into the plan as it does for queries.
//!
//! **Cohorts.** A subscriber's cohort is read off its *own* compiled statement ([`Multiplexed::cohort`]):
//! the values of the per-cohort parameters. Two subscribers share a cohort exactly when their
//! statements are the same text with the same values, so the batch answer for a cohort is
//! its own statement's answer by construction. A session variable the statement does not
//! use is not a parameter and so never splits cohorts; a value computed from session
//! variables (`Source::SessionDerived`) is one and does.
//!
//! **No template.** When the compile looked into a variable's value (a `limit: $l` is SQL
//! text), the shape has no template: values may be part of the SQL text itself and the
//! sources are unknown. Such a statement is still multiplexed ([`Sharing::ExactSql`]), but
//! only among cohorts whose compile produced this exact text, with every parameter per
//! cohort; in the worst case (all values differ) that is one statement per cohort.
//!
//! The statement is built from the compiler's output by rewriting its `$n` placeholders with
//! a tokenizer that skips literals, quoted identifiers and comments (`lex`); no value is ever
//! spliced into it.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::lex::{self, Kind, LexError};
use crate::request::input::{Rule, Source};
use crate::request::template::Template;
use crate::request::{Compiled, CompiledSql, Session, StreamCursor};

/// Hasura's `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE` default: cohorts per execution.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// Alias of the `unnest` row (cohort id, values); cannot clash with the generator's aliases,
/// which are unquoted `_x1` names.
const SUBS: &str = "\"graft.subs\"";
const RESP: &str = "\"graft.resp\"";
/// One row per cohort: its values as text columns `v0`, `v1` …
const VALS: &str = "\"graft.vals\"";

/// Subscribers with the same query text, operation name and role form a cohort group
/// (Hasura's poller key); within it, [`CohortKey`] tells cohorts apart.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub query: String,
    pub operation_name: Option<String>,
    pub role: String,
}

impl GroupKey {
    pub fn new(query: &str, operation_name: Option<&str>, session: &Session) -> GroupKey {
        GroupKey { query: query.to_string(), operation_name: operation_name.map(str::to_string), role: session.role.clone() }
    }
}

/// Why an operation has no multiplexed statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotMultiplexed {
    /// Answered without the database (`__typename`, introspection): send it once.
    #[error("the operation is answered without the database")]
    Static,
    #[error("a mutation cannot be a live query")]
    Mutation,
    /// The template does not belong to the statement, or the statement names a parameter it
    /// does not have: a compiler bug, refused rather than guessed around.
    #[error("the statement's parameters do not match their sources")]
    Mismatch,
    #[error("cannot tokenize the statement: {0}")]
    Lex(#[from] LexError),
}

/// How cohorts come to share a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// The shape has a template: constants are shared parameters, each distinct variable
    /// path or session variable is one per-cohort value.
    Template,
    /// No template: every parameter is a per-cohort value, and only subscribers whose own
    /// statement is this exact text join it.
    ExactSql,
}

/// What identifies a statement among the ones of a group: its single-cohort text, whether it
/// runs guarded, and the values of its shared parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatementId {
    sql: Arc<str>,
    guarded: bool,
    shared: Arc<[Option<String>]>,
}

impl StatementId {
    /// The single-cohort statement text (what a subscriber's own compile must be).
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// One per-cohort value: where it comes from (`None`: not known, [`Sharing::ExactSql`]) and
/// the parameters of the single statement it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub source: Option<Source>,
    pub positions: Vec<usize>,
}

/// A subscriber's cohort within a statement: the per-cohort values, in slot order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cohort {
    pub values: Vec<Option<String>>,
}

/// Subscribers with equal keys share one cohort (one result, one row of the batch).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CohortKey {
    pub group: GroupKey,
    pub statement: StatementId,
    pub cohort: Cohort,
}

/// The batch statement of one live-query statement.
#[derive(Clone, Debug)]
pub struct Multiplexed {
    id: StatementId,
    sql: String,
    slots: Vec<Slot>,
    /// Parameter index (0-based) of the single statement behind each shared `$3…`.
    shared_positions: Vec<usize>,
    nparams: usize,
    sharing: Sharing,
    /// A streaming subscription's cursor and the slot that holds it.
    stream: Option<(StreamCursor, usize)>,
}

/// Why a cursor object cannot become a cohort's cursor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the statement is not a streaming subscription")]
    NotAStream,
    #[error("a cursor must be an object with the one key \"{0}\"")]
    Shape(String),
    #[error("the cursor value of \"{0}\" is not a value of its column")]
    Value(String),
    #[error("the cohort does not belong to this statement")]
    Cohort,
}

/// The multiplexed statement of a compiled live query. `template` is the one the compile
/// produced for its shape (`request::template::compile`), or `None` if it had none.
pub fn plan(compiled: &Compiled, template: Option<&Template>) -> Result<Multiplexed, NotMultiplexed> {
    let c = match compiled {
        Compiled::Sql(c) if !c.is_mutation => c,
        Compiled::Sql(_) | Compiled::Mutation(_) => return Err(NotMultiplexed::Mutation),
        Compiled::Json(_) => return Err(NotMultiplexed::Static),
    };
    let sources = match template {
        None => None,
        // A template's statement has the same text for every fill; its sources describe
        // this statement only if that text is this one.
        Some(t) => match (t.compiled(), t.sources()) {
            (Compiled::Sql(tc), [sources]) if tc.sql == c.sql && tc.guarded == c.guarded => Some(sources.as_slice()),
            _ => return Err(NotMultiplexed::Mismatch),
        },
    };
    Multiplexed::new(c, sources)
}

impl Multiplexed {
    /// The batch statement for `c`, with its parameters' `sources` if known.
    pub fn new(c: &CompiledSql, sources: Option<&[Source]>) -> Result<Multiplexed, NotMultiplexed> {
        let nparams = c.params.len();
        if sources.is_some_and(|s| s.len() != nparams) {
            return Err(NotMultiplexed::Mismatch);
        }
        // Where each `$k` goes: a shared parameter or a per-cohort slot.
        enum To {
            Shared(usize),
            Slot(usize),
        }
        let mut to = Vec::with_capacity(nparams);
        let mut slots: Vec<Slot> = vec![];
        let mut slot_of: HashMap<Source, usize> = HashMap::new();
        let mut shared_positions = vec![];
        let cursor_param = match &c.stream {
            Some(sc) if sc.param >= nparams => return Err(NotMultiplexed::Mismatch),
            Some(sc) => Some(sc.param),
            None => None,
        };
        let mut stream = None;
        for k in 0..nparams {
            lex::tick()?;
            let source = sources.map(|s| s[k].clone());
            // A stream's cursor is per cohort whatever its source (a literal too): cohorts
            // whose cursors advanced differently still share the statement.
            if cursor_param == Some(k) {
                stream = c.stream.clone().map(|sc| (sc, slots.len()));
                to.push(To::Slot(slots.len()));
                slots.push(Slot { source, positions: vec![k] });
                continue;
            }
            match source {
                Some(Source::Const) => {
                    to.push(To::Shared(shared_positions.len()));
                    shared_positions.push(k);
                }
                // One value per variable path or session variable, however often it is used.
                Some(s @ (Source::Var { .. } | Source::Session(_) | Source::SessionJson)) => match slot_of.get(&s) {
                    Some(&i) => {
                        slots[i].positions.push(k);
                        to.push(To::Slot(i));
                    }
                    None => {
                        slot_of.insert(s.clone(), slots.len());
                        to.push(To::Slot(slots.len()));
                        slots.push(Slot { source: Some(s), positions: vec![k] });
                    }
                },
                // Computed values (or unknown sources) differ from one parameter to the next.
                other => {
                    to.push(To::Slot(slots.len()));
                    slots.push(Slot { source: other, positions: vec![k] });
                }
            }
        }
        let mut body = String::with_capacity(c.sql.len() + 64);
        let mut at = 0;
        for t in lex::tokens(&c.sql)? {
            let Kind::Param(n) = t.kind else { continue };
            let k = n.checked_sub(1).filter(|&k| k < nparams).ok_or(NotMultiplexed::Mismatch)?;
            body.push_str(&c.sql[at..t.start]);
            match to[k] {
                To::Shared(j) => body.push_str(&format!("${}", j + 3)),
                To::Slot(i) => body.push_str(&format!("{VALS}.\"v{i}\"")),
            }
            at = t.end;
        }
        body.push_str(&c.sql[at..]);
        // Each value is taken out of the cohort's array once, behind `OFFSET 0` (which keeps
        // the planner from substituting `vars ->> i` back into the statement): a filter
        // evaluated per scanned row then reads a plain text value, not the jsonb array.
        let vals = if slots.is_empty() {
            String::new()
        } else {
            let cols: Vec<String> = (0..slots.len()).map(|i| format!("{SUBS}.\"vars\" ->> {i} AS \"v{i}\"")).collect();
            format!(" CROSS JOIN LATERAL (SELECT {} OFFSET 0) AS {VALS}", cols.join(", "))
        };
        // A stream's statement has a second column, the next cursor.
        let (out, cols) = if stream.is_some() {
            (format!("{RESP}.\"result\", {RESP}.\"cursor\""), "\"result\", \"cursor\"")
        } else {
            (format!("{RESP}.\"result\""), "\"result\"")
        };
        let sql = format!(
            "SELECT {SUBS}.\"cohort_id\", {out} \
             FROM unnest(($1)::\"pg_catalog\".\"int8\"[], ($2)::\"pg_catalog\".\"jsonb\"[]) AS {SUBS}(\"cohort_id\", \"vars\"){vals} \
             LEFT JOIN LATERAL ({body}) AS {RESP}({cols}) ON true"
        );
        let shared: Arc<[Option<String>]> = shared_positions.iter().map(|&k| c.params[k].clone()).collect();
        Ok(Multiplexed {
            id: StatementId { sql: c.sql.as_str().into(), guarded: c.guarded, shared },
            sql,
            slots,
            shared_positions,
            nparams,
            sharing: if sources.is_some() { Sharing::Template } else { Sharing::ExactSql },
            stream,
        })
    }

    /// The batch statement: `$1` cohort ids (`int8[]`), `$2` per cohort its values
    /// (`jsonb[]`, each a JSON array of strings and nulls in slot order), `$3…` the shared
    /// parameters. Returns rows `(cohort_id int8, result json)`, one per cohort id; `result`
    /// is what the single statement returns (the whole `{"data": …}` response). A stream's
    /// ([`Self::stream`]) rows are `(cohort_id int8, result json, cursor json)`: `cursor` is
    /// the cohort's next cursor (`{"id": "5"}`), NULL when no row came; set it with
    /// [`Self::with_cursor`] before the next run.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn id(&self) -> &StatementId {
        &self.id
    }

    /// Run it inside a subtransaction, as the single statement would be.
    pub fn guarded(&self) -> bool {
        self.id.guarded
    }

    pub fn sharing(&self) -> Sharing {
        self.sharing
    }

    /// The per-cohort values, in order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Values of `$3…`.
    pub fn shared(&self) -> &[Option<String>] {
        &self.id.shared
    }

    /// The cohort of a subscriber whose own compiled statement is `own`; `None` if `own` is
    /// not an instance of this statement (other text, other shared values, or values that
    /// break a slot's sharing): it then needs a statement of its own ([`plan`]).
    pub fn cohort(&self, own: &CompiledSql) -> Option<Cohort> {
        if own.is_mutation
            || own.guarded != self.id.guarded
            || own.params.len() != self.nparams
            || *own.sql != *self.id.sql
            || own.stream.as_ref() != self.stream.as_ref().map(|(sc, _)| sc)
        {
            return None;
        }
        if self.shared_positions.iter().zip(self.id.shared.iter()).any(|(&k, v)| own.params[k] != *v) {
            return None;
        }
        let mut values = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let v = &own.params[slot.positions[0]];
            if slot.positions.iter().any(|&k| own.params[k] != *v) {
                return None;
            }
            values.push(v.clone());
        }
        Some(Cohort { values })
    }

    /// The single statement of one cohort, rebuilt from its values: to run a cohort alone
    /// (its first result, or the cohorts of a batch that failed, one by one) without
    /// compiling again. `None` if `cohort` does not have this statement's number of values.
    pub fn single(&self, cohort: &Cohort) -> Option<CompiledSql> {
        if cohort.values.len() != self.slots.len() {
            return None;
        }
        let mut params = vec![None; self.nparams];
        for (&k, v) in self.shared_positions.iter().zip(self.id.shared.iter()) {
            params[k] = v.clone();
        }
        for (slot, v) in self.slots.iter().zip(&cohort.values) {
            for &k in &slot.positions {
                params[k] = v.clone();
            }
        }
        Some(CompiledSql {
            sql: self.id.sql.to_string(),
            params,
            is_mutation: false,
            guarded: self.id.guarded,
            stream: self.stream.as_ref().map(|(sc, _)| sc.clone()),
        })
    }

    /// A streaming subscription's cursor (column, parameter) and the index of its slot in
    /// [`Self::slots`] and in every [`Cohort::values`]; `None` for a live query.
    pub fn stream(&self) -> Option<(&StreamCursor, usize)> {
        self.stream.as_ref().map(|(sc, slot)| (sc, *slot))
    }

    /// The cursor value (parameter text, `None`: NULL) cohort `cohort` runs with.
    pub fn cursor_of<'c>(&self, cohort: &'c Cohort) -> Option<Option<&'c str>> {
        let (_, slot) = self.stream()?;
        cohort.values.get(slot).map(|v| v.as_deref())
    }

    /// `cohort` with its cursor moved to `cursor`: a cursor object as the statement returns it
    /// (`{"id": "5"}`: the column's text form) or as a client writes one (`{"id": 5}`). Its
    /// one key is the cursor column; a string is taken as the column's text form (for every
    /// type, `json` ones included), null as NULL, and any other value becomes text as a
    /// variable's value for the column does (a number its JSON text, a list an array literal,
    /// an object the JSON text of a `json` column). The moved cohort is another cohort: key
    /// it anew ([`Self::key_of`]) so a new subscriber starting from the initial value does
    /// not join one that has advanced.
    pub fn with_cursor(&self, cohort: &Cohort, cursor: &Value) -> Result<Cohort, CursorError> {
        let (sc, slot) = self.stream().ok_or(CursorError::NotAStream)?;
        if cohort.values.len() != self.slots.len() {
            return Err(CursorError::Cohort);
        }
        let text = cursor_param(sc, cursor)?;
        let mut moved = cohort.clone();
        moved.values[slot] = text;
        Ok(moved)
    }

    /// The key of `cohort` (for instance one [`Self::with_cursor`] moved) in `group`.
    pub fn key_of(&self, group: &GroupKey, cohort: Cohort) -> CohortKey {
        CohortKey { group: group.clone(), statement: self.id.clone(), cohort }
    }

    /// [`Self::cohort`] as a key, for finding or creating the subscriber's cohort.
    pub fn cohort_key(&self, group: &GroupKey, own: &CompiledSql) -> Option<CohortKey> {
        Some(CohortKey { group: group.clone(), statement: self.id.clone(), cohort: self.cohort(own)? })
    }

    /// The text parameters of one execution for `batch` (cohort id, cohort), at most
    /// [`DEFAULT_BATCH_SIZE`] or the configured batch size; `None` if a cohort does not have
    /// this statement's number of values.
    pub fn params<'a>(&self, batch: impl IntoIterator<Item = (i64, &'a Cohort)>) -> Option<Vec<Option<String>>> {
        let mut ids = vec![];
        let mut vars = vec![];
        for (id, c) in batch {
            if c.values.len() != self.slots.len() {
                return None;
            }
            ids.push(Value::from(id));
            let arr: Vec<Value> = c.values.iter().map(|v| v.clone().map_or(Value::Null, Value::String)).collect();
            vars.push(Value::String(Value::Array(arr).to_string()));
        }
        let mut out = vec![Some(crate::sql::array_literal(&ids)), Some(crate::sql::array_literal(&vars))];
        out.extend(self.id.shared.iter().cloned());
        Some(out)
    }
}

/// The text of a stream's cursor parameter for cursor object `cursor` (`None`: NULL), as
/// [`Multiplexed::with_cursor`] reads it: to move the cursor of a statement that runs alone.
pub fn cursor_param(sc: &StreamCursor, cursor: &Value) -> Result<Option<String>, CursorError> {
    let value = match cursor.as_object() {
        Some(m) if m.len() == 1 => m.get(&sc.column).ok_or_else(|| CursorError::Shape(sc.column.clone()))?,
        _ => return Err(CursorError::Shape(sc.column.clone())),
    };
    cursor_text(sc.rule, value).ok_or_else(|| CursorError::Value(sc.column.clone()))
}

/// The parameter text of a cursor value for a column whose values render by `rule`
/// (`None` inside: NULL; `None`: not a value of the column).
fn cursor_text(rule: Rule, v: &Value) -> Option<Option<String>> {
    match v {
        // The column's text form, as the statement returns it.
        Value::String(s) => Some(Some(s.clone())),
        Value::Null => Some(None),
        // A scalar column's value is never a list or an object (validation would refuse it).
        Value::Array(_) | Value::Object(_) if rule == Rule::Scalar => None,
        other => rule.text(other),
    }
}
