//! Live queries through the SQL API, for the sidecar and for applications without it:
//!
//! * `graphql.subscription_poll(query, cohorts, operation_name, batch_size)` answers every
//!   cohort of one live query, with one multiplexed statement (`subscription::multiplex`) per
//!   statement and chunk of at most `batch_size` cohorts instead of one `graphql.resolve` each;
//! * `graphql.subscription_reads(query, variables, session, operation_name)` names the
//!   relations a live query reads, so a caller re-polls a cohort only when one of them changed
//!   (`graphql.table_versions`).
//!
//! A cohort's row is what `graphql.resolve` answers for it, byte for byte: the batch statement
//! runs each cohort's own statement (`Multiplexed::cohort`), prints JSON with the same
//! functions, and a request error (parse, validation, session, a bad variable) is that
//! cohort's `{"errors": …}` row. Only subscription operations are polled.
//!
//! Each backend remembers, per (query, operation, variables text, session text, response
//! options), the statement and values a cohort compiled to (`Memo`): a repeated poll does not
//! compile again. The memo starts over when the schemas change (`cache::generation`) or when
//! it is full.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use graft_compiler::request::template::Template;
use graft_compiler::request::{operation_kind, Compiled, CompiledSql, Limits, OperationKind, Session, Stmt};
use graft_compiler::subscription::{self, Cohort, Multiplexed, NotMultiplexed, Opaque};
use graft_compiler::GqlError;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use serde_json::{json, Value};

use crate::api::{request_limits, request_query, request_session};
use crate::errors::{graphql_error_from_pg, panic_message, sqlstate, GraftError, Result};
use crate::execute::{self, in_subtransaction, must_propagate, Batch, Caught};
use crate::json_args::{self, JsonArg};
use crate::json_text::JsonText;
use crate::statement_reads::statement_reads;
use crate::{cache, guc, metadata_store};

/// Most cohorts one poll takes: their answers are all held in memory until returned. A caller
/// with more polls in several calls.
pub const MAX_COHORTS: usize = 10_000;
/// Longest `cohorts` text accepted (checked before it is parsed).
pub const MAX_COHORTS_BYTES: usize = 64 << 20;
/// Largest `batch_size`: cohorts in one statement (its `unnest` arrays).
pub const MAX_BATCH_SIZE: i32 = 10_000;
/// Cohorts remembered per backend, and the bytes of their keys.
const MEMO_CAPACITY: usize = 10_000;
const MEMO_MAX_BYTES: usize = 32 << 20;
/// A cohort whose variables and session text is longer is compiled on every poll.
const MAX_MEMO_KEY: usize = 64 * 1024;
/// Statements searched, per query and role, for a new cohort's statement. Each differs from
/// the others in its text or shared values (a shape without template, values the compile
/// read): beyond this many, the oldest is forgotten (cohorts that use it keep it).
const MAX_STATEMENTS_PER_GROUP: usize = 64;

// ---------------------------------------------------------------------------------------------
// graphql.subscription_poll

/// Poll every cohort of one live query. `cohorts` is a JSON array of
/// `{"id": int8, "variables": object|null, "session": object|null, "cursor": object|null}`;
/// one row per cohort, in their order. `cursor` is for streaming subscriptions (`T_stream`):
/// given, it replaces the query's cursor value (`{"id": "5"}`, as a previous poll's `cursor`
/// column returned it, or `{"id": 5}`); the `cursor` column is the cohort's next cursor, NULL
/// when no row came (keep the one you had). Live queries ignore it and answer NULL. A NULL `cohorts` answers no rows; a `cohorts` that is not
/// such an array, more than `MAX_COHORTS` of them, or a `batch_size` outside 1 … 10,000 raise
/// an error (no row could carry it).
#[pg_extern]
fn subscription_poll(
    query: Option<&str>,
    cohorts: Option<JsonArg>,
    operation_name: default!(Option<&str>, "NULL"),
    batch_size: default!(i32, 100),
) -> TableIterator<'static, (name!(cohort_id, i64), name!(result, JsonText), name!(cursor, Option<JsonText>))> {
    let Some(cohorts) = cohorts else { return TableIterator::new(Vec::new()) };
    let rows = parse_cohorts(&cohorts.0)
        .and_then(|cohorts| {
            if !(1..=MAX_BATCH_SIZE).contains(&batch_size) {
                return Err(GraftError::InvalidArgument(format!(
                    "batch_size must be between 1 and {MAX_BATCH_SIZE}, not {batch_size}"
                )));
            }
            poll(query, operation_name, &cohorts, batch_size as usize)
        })
        .unwrap_or_else(|e| e.raise());
    TableIterator::new(rows.into_iter().map(|(id, result, cursor)| (id, JsonText(result), cursor.map(JsonText))))
}

/// One input cohort.
pub struct CohortInput {
    pub id: i64,
    pub variables: Option<Value>,
    pub session: Option<Value>,
    /// A streaming subscription's cursor object, replacing the query's.
    pub cursor: Option<Value>,
}

/// The cohorts argument, checked: an array of objects with an integer `id` each.
pub fn parse_cohorts(text: &str) -> Result<Vec<CohortInput>> {
    let bad = |m: String| GraftError::InvalidArgument(format!("graphql.subscription_poll: {m}"));
    if text.len() > MAX_COHORTS_BYTES {
        return Err(bad(format!("the cohorts JSON is {} bytes; at most {MAX_COHORTS_BYTES} are accepted", text.len())));
    }
    let value = json_args::parse(text, "cohorts").map_err(|e| bad(e.message))?;
    let Value::Array(items) = value else {
        return Err(bad("cohorts must be a JSON array of {\"id\", \"variables\", \"session\", \"cursor\"} objects".into()));
    };
    if items.len() > MAX_COHORTS {
        return Err(bad(format!("{} cohorts in one call; at most {MAX_COHORTS} are accepted", items.len())));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut o) = item else { return Err(bad(format!("cohorts[{i}] is not an object"))) };
        let Some(id) = o.get("id").and_then(Value::as_i64) else {
            return Err(bad(format!("cohorts[{i}].id must be an integer (int8)")));
        };
        let mut field = |k: &str| o.remove(k).filter(|v| !v.is_null());
        out.push(CohortInput { id, variables: field("variables"), session: field("session"), cursor: field("cursor") });
    }
    Ok(out)
}

/// A cohort's answer: the response JSON text and, for a stream, its next cursor.
type Answer = (String, Option<String>);

/// Answer each cohort: `(id, result JSON text, next cursor JSON text)`, in input order.
pub fn poll(query: Option<&str>, operation_name: Option<&str>, cohorts: &[CohortInput], batch_size: usize) -> Result<Vec<(i64, String, Option<String>)>> {
    let limits = request_limits();
    let stringify = guc::stringify_numeric_types();
    // Brings the schemas up to date (and so the generation the memo is checked against). Its
    // error is every cohort's, as `graphql.resolve` would answer it.
    if let Err(e) = cache::snapshot() {
        let text = e.to_graphql_response().to_string();
        return Ok(cohorts.iter().map(|c| (c.id, text.clone(), None)).collect());
    }
    let query_key = QueryKey {
        query: query.map(str::to_string),
        operation_name: operation_name.map(str::to_string),
        stringify,
        max_depth: limits.max_depth,
        node_limit: limits.node_limit,
    };
    let mut results: Vec<Option<Answer>> = vec![None; cohorts.len()];
    // Cohorts to run as batches, by statement: the one `Multiplexed` their cohorts were read
    // off (by address: two statements of equal text may still take their values in
    // different slots). A statement belongs to one role, so its cohorts' errors read alike.
    let mut groups: HashMap<*const Multiplexed, BatchGroup> = HashMap::new();
    let mut group_order = vec![];
    for (i, input) in cohorts.iter().enumerate() {
        pgrx::check_for_interrupts!();
        let prepared = match prepared_cohort(&query_key, query, operation_name, input, &limits) {
            Ok(p) => p,
            Err(e) => {
                results[i] = Some((e.to_graphql_response().to_string(), None));
                continue;
            }
        };
        match &*prepared {
            Prepared::Static(text) | Prepared::Error(text) => results[i] = Some((text.clone(), None)),
            Prepared::Alone { compiled, session } => {
                results[i] = Some(match alone_at_cursor(compiled, input.cursor.as_ref()) {
                    Ok(c) => answer(execute::run_row_reporting(&c, session).map(|(row, _)| row)),
                    Err(e) => (GraftError::Graphql(e).to_graphql_response().to_string(), None),
                })
            }
            Prepared::Cohort { statement, cohort, session, solo } => {
                // A stream's cohort runs from the cursor the caller gives: another cohort of
                // the same statement than the one its query starts from.
                let moved;
                let cohort = match (&input.cursor, statement.stream()) {
                    (Some(cursor), Some(_)) => match statement.with_cursor(cohort, cursor) {
                        Ok(c) => {
                            moved = c;
                            &moved
                        }
                        Err(e) => {
                            results[i] = Some((GraftError::Graphql(bad_cursor(e)).to_graphql_response().to_string(), None));
                            continue;
                        }
                    },
                    _ => cohort,
                };
                if solo.get() {
                    results[i] = Some(run_single(statement, cohort, session, solo)?);
                    continue;
                }
                let key = Rc::as_ptr(statement);
                let group = groups.entry(key).or_insert_with(|| {
                    group_order.push(key);
                    BatchGroup { statement: statement.clone(), session: session.clone(), solo: vec![], unique: HashMap::new(), order: vec![] }
                });
                match group.unique.get(cohort) {
                    Some(&u) => group.order[u].1.push(i),
                    None => {
                        group.unique.insert(cohort.clone(), group.order.len());
                        group.order.push((cohort.clone(), vec![i]));
                        group.solo.push(solo.clone());
                    }
                }
            }
        }
    }
    for key in &group_order {
        let group = &groups[key];
        for (chunk_no, chunk) in group.order.chunks(batch_size).enumerate() {
            pgrx::check_for_interrupts!();
            let answers = run_chunk(group, chunk, &group.solo[chunk_no * batch_size..])?;
            for ((_, inputs), answer) in chunk.iter().zip(answers) {
                for &i in inputs {
                    results[i] = Some(answer.clone());
                }
            }
        }
    }
    Ok(cohorts
        .iter()
        .zip(results)
        .map(|(c, r)| {
            let (result, cursor) = r.unwrap_or_else(|| (internal("a cohort got no answer"), None));
            (c.id, result, cursor)
        })
        .collect())
}

/// The cohorts of one statement in this poll: each distinct cohort once, with the inputs
/// that share it.
struct BatchGroup {
    statement: Rc<Multiplexed>,
    session: Rc<Session>,
    unique: HashMap<Cohort, usize>,
    order: Vec<(Cohort, Vec<usize>)>,
    /// Per distinct cohort (in `order`), its memo entry's flag.
    solo: Vec<Rc<Cell<bool>>>,
}

/// Run one chunk as one statement; if it fails, each cohort alone, so one cohort's error
/// (a value its cast refuses, a function that fails on its rows) stays its own.
fn run_chunk(group: &BatchGroup, chunk: &[(Cohort, Vec<usize>)], solo: &[Rc<Cell<bool>>]) -> Result<Vec<Answer>> {
    let m = &group.statement;
    let params = m
        .params(chunk.iter().enumerate().map(|(i, (c, _))| (i as i64, c)))
        .ok_or_else(|| GraftError::Internal("a cohort does not fit its multiplexed statement".into()))?;
    let stmt = Stmt { sql: m.sql().to_string(), params };
    STATS.with(|s| s.batches.set(s.batches.get() + 1));
    if let Batch::Rows(rows) = execute::run_batch(&stmt, m.guarded())? {
        let mut answers: Vec<Option<Answer>> = vec![None; chunk.len()];
        for (id, result, cursor) in rows {
            if let Some(slot) = usize::try_from(id).ok().and_then(|i| answers.get_mut(i)) {
                // What `execute::run` answers for a statement that returned NULL.
                *slot = Some((result.unwrap_or_else(|| "null".into()), cursor));
            }
        }
        if answers.iter().all(Option::is_some) {
            return Ok(answers.into_iter().flatten().collect());
        }
    }
    chunk.iter().zip(solo).map(|((cohort, _), solo)| run_single(m, cohort, &group.session, solo)).collect()
}

/// One cohort alone, from its multiplexed statement (no compile); a failure marks it `solo`,
/// run alone on later polls (its batch would fail again), a success lets it rejoin batches.
fn run_single(m: &Multiplexed, cohort: &Cohort, session: &Session, solo: &Cell<bool>) -> Result<Answer> {
    let single = m.single(cohort).ok_or_else(|| GraftError::Internal("a cohort does not fit its multiplexed statement".into()))?;
    STATS.with(|s| s.singles.set(s.singles.get() + 1));
    match execute::run_row_reporting(&single, session) {
        Ok((row, failed)) => {
            solo.set(failed);
            Ok(row)
        }
        Err(e) => Ok((e.to_graphql_response().to_string(), None)),
    }
}

/// A response, as `graphql.resolve` answers it, and a stream's next cursor.
fn answer(r: Result<Answer>) -> Answer {
    r.unwrap_or_else(|e| (e.to_graphql_response().to_string(), None))
}

/// A stream statement that runs alone, from the caller's cursor when it gave one.
fn alone_at_cursor(compiled: &CompiledSql, cursor: Option<&Value>) -> std::result::Result<CompiledSql, GqlError> {
    let mut c = compiled.clone();
    if let (Some(sc), Some(cursor)) = (&compiled.stream, cursor) {
        let text = subscription::cursor_param(sc, cursor).map_err(bad_cursor)?;
        match c.params.get_mut(sc.param) {
            Some(p) => *p = text,
            None => return Err(GqlError::new("unexpected", "$", "a stream's cursor is not one of its parameters")),
        }
    }
    Ok(c)
}

/// A cohort's `cursor` that is not a cursor of its stream: that cohort's error.
fn bad_cursor(e: subscription::CursorError) -> GqlError {
    GqlError::validation("$.cursor", format!("invalid cursor: {e}"))
}

fn internal(message: &str) -> String {
    GraftError::Internal(message.into()).to_graphql_response().to_string()
}

// ---------------------------------------------------------------------------------------------
// The memo: what each cohort compiled to

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct QueryKey {
    query: Option<String>,
    operation_name: Option<String>,
    stringify: bool,
    max_depth: usize,
    node_limit: usize,
}

/// What a cohort runs.
enum Prepared {
    /// Answered without the database (`__typename`, introspection).
    Static(String),
    /// The request's error (parse, validation, session, a variable's value): the same for as
    /// long as the schemas are.
    Error(String),
    /// One cohort of a multiplexed statement. `solo`: its last run alone failed.
    Cohort { statement: Rc<Multiplexed>, cohort: Cohort, session: Rc<Session>, solo: Rc<Cell<bool>> },
    /// A statement the multiplexer refused to rewrite (it could not tokenize it): run alone.
    Alone { compiled: CompiledSql, session: Session },
}

#[derive(Default)]
struct QueryMemo {
    /// By (variables text, session text).
    cohorts: HashMap<(String, String), Rc<Prepared>>,
    /// By (role, backend-only): the statements made so far, searched for a new cohort's.
    statements: HashMap<(String, bool), Vec<Rc<Multiplexed>>>,
}

#[derive(Default)]
struct Memo {
    generation: u64,
    queries: HashMap<QueryKey, QueryMemo>,
    entries: usize,
    bytes: usize,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
    static STATS: Stats = Stats::default();
}

/// Work done by polls in this backend (for tests and measurements).
#[derive(Default)]
struct Stats {
    compiles: Cell<u64>,
    batches: Cell<u64>,
    singles: Cell<u64>,
}

/// `(cohorts compiled, batch statements run, cohorts run alone)` since the backend started.
pub fn stats() -> (u64, u64, u64) {
    STATS.with(|s| (s.compiles.get(), s.batches.get(), s.singles.get()))
}

/// Cohorts and statements the memo holds (for tests).
pub fn memo_len() -> usize {
    MEMO.with_borrow(|m| m.entries)
}

/// Forget every remembered cohort (`graphql.reload()`).
pub fn clear_memo() {
    MEMO.with_borrow_mut(|m| *m = Memo::default());
}

/// The memo's entry for `input`, compiling it on a miss. A request error is remembered too,
/// unless it may not recur (a cancelled compile, an internal error).
fn prepared_cohort(
    query_key: &QueryKey,
    query: Option<&str>,
    operation_name: Option<&str>,
    input: &CohortInput,
    limits: &Limits,
) -> Result<Rc<Prepared>> {
    let text = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    let key = (text(&input.variables), text(&input.session));
    let generation = cache::generation();
    let hit = MEMO.with_borrow_mut(|m| {
        if m.generation != generation {
            *m = Memo { generation, ..Memo::default() };
        }
        m.queries.get(query_key).and_then(|q| q.cohorts.get(&key).cloned())
    });
    if let Some(p) = hit {
        return Ok(p);
    }
    STATS.with(|s| s.compiles.set(s.compiles.get() + 1));
    match prepare(query_key, query, operation_name, input, limits) {
        Ok(p) => {
            let p = Rc::new(p);
            remember_cohort(query_key, key, p.clone());
            Ok(p)
        }
        Err(GraftError::Graphql(e)) if e != graft_compiler::interrupt::interrupted() => {
            let p = Rc::new(Prepared::Error(GraftError::Graphql(e).to_graphql_response().to_string()));
            remember_cohort(query_key, key, p.clone());
            Ok(p)
        }
        Err(e) => Err(e),
    }
}

/// Compile `input` and find (or make) its multiplexed statement.
fn prepare(query_key: &QueryKey, query: Option<&str>, operation_name: Option<&str>, input: &CohortInput, limits: &Limits) -> Result<Prepared> {
    let (session, backend_only) = request_session(input.session.as_ref())?;
    let (compiled, template) = compile(query, input.variables.as_ref(), operation_name, &session, backend_only, limits)?;
    let group = (session.role.clone(), backend_only);
    let prepared = match compiled {
        Compiled::Json(v) => Prepared::Static(v.to_string()),
        Compiled::Mutation(_) => return Err(not_a_subscription(OperationKind::Mutation).into()),
        Compiled::Sql(own) => {
            let known = MEMO.with_borrow(|m| {
                let statements = m.queries.get(query_key)?.statements.get(&group)?;
                statements.iter().find_map(|s| Some((s.clone(), s.cohort(&own)?)))
            });
            let session = Rc::new(session);
            let solo = Rc::new(Cell::new(false));
            match known {
                Some((statement, cohort)) => Prepared::Cohort { statement, cohort, session, solo },
                None => match subscription::plan(&Compiled::Sql(own.clone()), template.as_ref()) {
                    Ok(m) => match m.cohort(&own) {
                        Some(cohort) => {
                            let statement = Rc::new(m);
                            remember_statement(query_key, group, statement.clone());
                            Prepared::Cohort { statement, cohort, session, solo }
                        }
                        None => Prepared::Alone { compiled: own, session: (*session).clone() },
                    },
                    Err(NotMultiplexed::Mutation) => return Err(not_a_subscription(OperationKind::Mutation).into()),
                    Err(_) => Prepared::Alone { compiled: own, session: (*session).clone() },
                },
            }
        }
    };
    Ok(prepared)
}

fn remember_statement(query_key: &QueryKey, group: (String, bool), statement: Rc<Multiplexed>) {
    MEMO.with_borrow_mut(|m| {
        // Counted like cohorts, so statements of cohorts too large to remember stay bounded.
        let size = statement.sql().len() + query_key.query.as_ref().map_or(0, String::len);
        if m.entries >= MEMO_CAPACITY || m.bytes + size > MEMO_MAX_BYTES {
            let generation = m.generation;
            *m = Memo { generation, ..Memo::default() };
        }
        m.entries += 1;
        m.bytes += size;
        let list = m.queries.entry(query_key.clone()).or_default().statements.entry(group).or_default();
        if list.len() >= MAX_STATEMENTS_PER_GROUP {
            list.remove(0);
        }
        list.push(statement);
    });
}

fn remember_cohort(query_key: &QueryKey, key: (String, String), prepared: Rc<Prepared>) {
    let size = key.0.len() + key.1.len();
    if size > MAX_MEMO_KEY {
        return;
    }
    MEMO.with_borrow_mut(|m| {
        let query_size = query_key.query.as_ref().map_or(0, String::len);
        if m.entries >= MEMO_CAPACITY || m.bytes + size + query_size > MEMO_MAX_BYTES {
            // Simple and bounded, like the compile cache: start over.
            let generation = m.generation;
            *m = Memo { generation, ..Memo::default() };
        }
        let q = m.queries.entry(query_key.clone()).or_insert_with(|| {
            m.bytes += query_size;
            QueryMemo::default()
        });
        if q.cohorts.insert(key, prepared).is_none() {
            m.entries += 1;
            m.bytes += size;
        }
    });
}

/// Compile one cohort's request as `graphql.resolve` does (same cache, same errors), and
/// refuse an operation that is not a subscription.
fn compile(
    query: Option<&str>,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    backend_only: bool,
    limits: &Limits,
) -> Result<(Compiled, Option<Template>)> {
    let query = request_query(query)?;
    let schema = cache::schema_for(&session.role, backend_only)?;
    let compiled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let compiled = cache::compile_with_template(&schema, &session.role, backend_only, query, variables, operation_name, session, limits)?;
        match kind_of(query, operation_name, limits)? {
            OperationKind::Subscription => Ok(compiled),
            other => Err(not_a_subscription(other)),
        }
    }))
    .map_err(|p| GraftError::Internal(format!("compiler panicked: {}", panic_message(&*p))));
    pgrx::check_for_interrupts!();
    Ok(compiled??)
}

/// Queries whose operation kind is remembered (a plain map, started over when full).
const MAX_KINDS: usize = 256;

thread_local! {
    static KINDS: RefCell<HashMap<(String, Option<String>), OperationKind>> = RefCell::new(HashMap::new());
}

/// [`operation_kind`], remembered: it depends on the text alone, and a cohort that missed the
/// memo (new values) should not parse its query again.
fn kind_of(query: &str, operation_name: Option<&str>, limits: &Limits) -> std::result::Result<OperationKind, GqlError> {
    let key = (query.to_string(), operation_name.map(str::to_string));
    if let Some(k) = KINDS.with_borrow(|m| m.get(&key).copied()) {
        return Ok(k);
    }
    let kind = operation_kind(query, operation_name, limits)?;
    if query.len() <= MAX_MEMO_KEY {
        KINDS.with_borrow_mut(|m| {
            if m.len() >= MAX_KINDS {
                m.clear();
            }
            m.insert(key, kind);
        });
    }
    Ok(kind)
}

/// Live queries are `subscription` operations; queries and mutations go to `graphql.resolve`.
fn not_a_subscription(kind: OperationKind) -> GqlError {
    let what = match kind {
        OperationKind::Query => "a query",
        OperationKind::Mutation => "a mutation",
        OperationKind::Subscription => "a subscription",
    };
    GqlError::validation("$", format!("only subscription operations can be polled as live queries, not {what}: run it with graphql.resolve"))
}

// ---------------------------------------------------------------------------------------------
// graphql.subscription_reads

/// The relations a live query reads: `{"tables": [oid …], "unknown": bool, "opaque":
/// ["schema.name" …]}`, or the request's `{"errors": […]}`. See the README's live-query
/// section: `tables` are the relations of the cohort's statement as PostgreSQL rewrote it
/// (views expanded, row-level security policies included), the partitioned tables those
/// that are partitions belong to, and Graft's metadata table; `unknown` is true when the
/// result may depend on other tables (a function that is not built-in, a foreign table,
/// listed in `opaque`).
#[pg_extern]
fn subscription_reads(
    query: Option<&str>,
    variables: default!(Option<JsonArg>, "NULL"),
    session: default!(Option<JsonArg>, "NULL"),
    operation_name: default!(Option<&str>, "NULL"),
) -> JsonText {
    let parsed = json_args::request_args(variables, session).map_err(crate::errors::GraftError::from);
    let result = parsed.and_then(|(variables, session)| reads(query, variables.as_ref(), session.as_ref(), operation_name));
    match result {
        Ok(v) => v.into(),
        Err(e) => e.to_graphql_response().into(),
    }
}

pub fn reads(query: Option<&str>, variables: Option<&Value>, session: Option<&Value>, operation_name: Option<&str>) -> Result<Value> {
    let limits = request_limits();
    let (session, backend_only) = request_session(session)?;
    let (compiled, _) = compile(query, variables, operation_name, &session, backend_only, &limits)?;
    let schema = cache::schema_for(&session.role, backend_only)?;
    let from_sql = subscription::reads(&schema, &compiled).map_err(|e| GraftError::Internal(format!("reading the statement: {e}")))?;
    // The compiler's view: tables by name (a function's return table too), and the functions
    // it calls. Views it names are resolved below, by PostgreSQL's rewriter.
    let (mut schemas, mut names) = (vec![], vec![]);
    for n in &from_sql.names {
        schemas.push(n.schema.clone());
        names.push(n.name.clone());
    }
    let mut opaque: Vec<String> = from_sql
        .opaque
        .iter()
        .filter_map(|o| match o {
            Opaque::Function(f) => Some(format!("{}.{}", f.schema, f.name)),
            Opaque::View(_) => None,
        })
        .collect();
    let (mut relations, mut functions) = (vec![], vec![]);
    if let Compiled::Sql(c) = &compiled {
        let stmt = Stmt { sql: c.sql.clone(), params: c.params.clone() };
        match in_subtransaction(|| statement_reads(&stmt)) {
            Ok(r) => {
                let r = r?;
                relations = r.relations;
                functions = r.functions;
            }
            Err(Caught::Postgres(report)) if must_propagate(&sqlstate(report.sql_error_code())) => {
                CaughtError::PostgresError(*report).rethrow()
            }
            Err(Caught::Postgres(report)) => return Ok(graphql_error_from_pg(&report, session.is_admin())),
            Err(Caught::Panic(message)) => return Err(GraftError::Internal(format!("panic while reading a statement: {message}"))),
        }
    }
    relations.push(metadata_store::locate()?.relid);
    let (tables, more_opaque) = resolve_relations(&schemas, &names, &relations, &functions)?;
    for o in more_opaque {
        if !opaque.contains(&o) {
            opaque.push(o);
        }
    }
    Ok(json!({"tables": tables, "unknown": !opaque.is_empty(), "opaque": opaque}))
}

/// The relations to watch (those named, those given, and the partitioned ancestors of those
/// that are partitions), sorted; and the names of what hides its reads: foreign tables among
/// them (their rows change on the remote side), and the given functions not written in C (a C
/// function of an extension, PostGIS' or ltree's operators, reads no table). A partitioned
/// table needs no partitions listed: a write to a partition changes its ancestors' versions
/// (`change_counters`), and so does REFRESH a materialized view's.
fn resolve_relations(schemas: &[String], names: &[String], relations: &[pg_sys::Oid], functions: &[pg_sys::Oid]) -> Result<(Vec<i64>, Vec<String>)> {
    const SQL: &str = "\
        WITH base AS ( \
            SELECT c.oid FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[]) AS n(nsp, rel) \
            JOIN pg_catalog.pg_namespace ns ON ns.nspname = n.nsp \
            JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = n.rel \
            UNION SELECT unnest($3::pg_catalog.oid[]) \
        ), watched AS ( \
            SELECT oid FROM base \
            UNION SELECT a.relid FROM base CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(base.oid) AS a \
        ) \
        SELECT (SELECT coalesce(pg_catalog.array_agg(w.oid::pg_catalog.int8 ORDER BY w.oid), '{}') \
                  FROM watched w JOIN pg_catalog.pg_class c ON c.oid = w.oid), \
               (SELECT coalesce(pg_catalog.array_agg(pg_catalog.format('%s.%s', ns.nspname, c.relname) ORDER BY c.oid), '{}') \
                  FROM watched w JOIN pg_catalog.pg_class c ON c.oid = w.oid \
                  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.relkind = 'f') \
                || (SELECT coalesce(pg_catalog.array_agg(pg_catalog.format('%s.%s', ns.nspname, p.proname) ORDER BY p.oid), '{}') \
                  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace \
                  JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
                  WHERE p.oid = ANY ($4::pg_catalog.oid[]) AND l.lanname NOT IN ('c', 'internal'))";
    let oids = |v: &[pg_sys::Oid]| v.iter().map(|o| o.to_u32().to_string()).collect::<Vec<_>>().join(",");
    let (rels, funcs) = (format!("{{{}}}", oids(relations)), format!("{{{}}}", oids(functions)));
    let (tables, opaque) = Spi::connect(|client| {
        let row = client.select(SQL, Some(1), &[schemas.to_vec().into(), names.to_vec().into(), rels.as_str().into(), funcs.as_str().into()])?;
        row.first().get_two::<Vec<i64>, Vec<String>>()
    })?;
    Ok((tables.unwrap_or_default(), opaque.unwrap_or_default()))
}
