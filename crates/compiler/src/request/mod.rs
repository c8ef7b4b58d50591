//! A GraphQL request against a role's schema: parse, pick the operation, validate, coerce
//! variables and arguments into a normalized selection tree, and lower it to SQL.

pub mod cache;
#[cfg(test)]
mod cache_prop;
mod coerce;
mod extension_values;
pub mod input;
mod shape;
pub mod template;
pub mod selection;
pub mod session;
mod lexer;
mod validate;

pub use selection::SelField;
pub use session::Session;

use async_graphql_parser::types::OperationType;
use serde_json::Value;

use crate::error::GqlError;
use crate::schema::model::Schema;

/// Bounds checked before and during parsing, so no input can exhaust a backend's stack.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Maximum selection-set nesting depth.
    pub max_depth: usize,
    /// Maximum query text size in bytes.
    pub max_query_bytes: usize,
    /// Hasura's `api_limits.node_limit`: the most fields with a selection set (counted after
    /// fragments are expanded) an operation may have; 0 means no limit. Each such field becomes
    /// a subquery, which costs PostgreSQL about 100 KB to plan and run, whatever its data.
    pub node_limit: usize,
}

/// The default [`Limits::node_limit`]: about 100 MB of planner and executor memory in the
/// worst case (root fields on a one-column table), far above what real applications send.
pub const DEFAULT_NODE_LIMIT: usize = 1_000;

/// Deepest nesting of a variable's JSON value (objects and lists). Coercion recurses on it;
/// Hasura accepts 1,000 levels of `_not`.
pub const MAX_VARIABLE_DEPTH: usize = 1_024;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_query_bytes: 1 << 20, node_limit: DEFAULT_NODE_LIMIT }
    }
}

/// Reject variables nested deeper than [`MAX_VARIABLE_DEPTH`], without recursing (a value
/// built by `serde_json` with its recursion limit off may be nested arbitrarily deep).
pub fn check_variables_depth(variables: Option<&Value>) -> Result<(), GqlError> {
    let Some(v) = variables else { return Ok(()) };
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        crate::interrupt::tick()?;
        // The variables object itself is level 0: each variable's value starts at 1.
        if d > MAX_VARIABLE_DEPTH {
            return Err(GqlError::validation(
                "$.variableValues",
                format!("variable values are nested deeper than the limit of {MAX_VARIABLE_DEPTH} levels"),
            ));
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// What to run for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Compiled {
    /// One SQL statement returning one row with one `json` column: the whole response
    /// (`{"data": …}`). `params` are bound as `text` (`None` = SQL NULL), cast in the SQL.
    Sql(CompiledSql),
    /// A response computed without the database (introspection, `__typename` only).
    Json(Value),
    /// A mutation: run in a subtransaction, with `hasura.user` set, field after field.
    Mutation(MutationPlan),
}

/// Mutation fields run in order; each one's JSON goes under its alias in `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct MutationPlan {
    pub fields: Vec<MutationField>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MutationField {
    /// Response key.
    pub alias: String,
    /// `update_T_many`: the steps' values form a JSON array; otherwise there is one step.
    pub many: bool,
    pub steps: Vec<MutationStep>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MutationStep {
    /// A value known without the database (JSON text), e.g. `__typename`.
    Static(String),
    /// One statement returning one `text` value: the field's result as JSON text.
    Query(Stmt),
    /// `write` returns one row `(affected, tids, ok)` as text; `ok` = `false` means a
    /// permission `check` failed and the whole mutation must fail. `read` is then run with the
    /// first two values as `$1` and `$2` (its own parameters follow) and returns the field's JSON text.
    /// Reading back in a second statement lets `returning` see rows the write inserted in
    /// other tables (nested inserts), which a single statement's snapshot would not.
    WriteRead { write: Stmt, read: Stmt },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub sql: String,
    /// Text parameters (`None` = NULL). For `WriteRead::read`, `$1`/`$2` are placeholders here.
    pub params: Vec<Option<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompiledSql {
    pub sql: String,
    pub params: Vec<Option<String>>,
    /// Writes data: the extension sets `hasura.user` (transaction-local) before running it.
    pub is_mutation: bool,
    /// Run inside a subtransaction so a Postgres error becomes a GraphQL error and leaves
    /// nothing behind: always for mutations, and for queries whose parameters the compiler
    /// could not fully validate (timestamps, regex patterns, custom types …). Plain queries
    /// skip it and pay nothing.
    pub guarded: bool,
    /// A streaming subscription (`T_stream`): where its cursor value is. The statement then
    /// returns a second column, the next cursor (see `sql::stream`).
    pub stream: Option<StreamCursor>,
}

/// The cursor of a streaming subscription statement. Its value is a parameter like any other
/// (recorded with its real source, a literal or a variable), and a multiplexed statement
/// makes it a per-cohort value whatever that source is (`subscription::multiplex`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamCursor {
    /// Index (0-based) into the statement's parameters of the cursor value: the rows returned
    /// are those strictly after it in cursor order.
    pub param: usize,
    /// The cursor column's GraphQL name: the one key of the cursor objects.
    pub column: String,
    /// How a JSON value for the column becomes the parameter's text (as a variable's value
    /// for that column would).
    pub rule: input::Rule,
}

/// The kind of operation a request runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

/// Which kind of operation `query` selects with `operation_name`, or the error compiling it
/// would give for a document that does not parse or has no such operation. Only parses: a
/// caller that runs one kind of operation (live queries) asks this after a compile succeeded.
pub fn operation_kind(query: &str, operation_name: Option<&str>, limits: &Limits) -> Result<OperationKind, GqlError> {
    let _stack = crate::stack::Entry::new();
    let doc = validate::parse(query, limits)?;
    let op = validate::select_operation(&doc, operation_name)?;
    Ok(match op.node.ty {
        OperationType::Query => OperationKind::Query,
        OperationType::Mutation => OperationKind::Mutation,
        OperationType::Subscription => OperationKind::Subscription,
    })
}

/// Compile one request for the role whose schema is `schema`.
pub fn compile(
    schema: &Schema,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    limits: &Limits,
) -> Result<Compiled, GqlError> {
    let _stack = crate::stack::Entry::new();
    check_variables_depth(variables)?;
    let doc = validate::parse(query, limits)?;
    let op = validate::select_operation(&doc, operation_name)?;
    let operation = validate::validate(schema, &doc, &op.node, variables, limits)?;
    lower(schema, operation, session)
}

/// Compile a data API request ([`crate::dml`]) translated into GraphQL: validated like any
/// request, then given the arguments GraphQL has no place for.
pub fn compile_dml(schema: &Schema, plan: &crate::dml::Plan, session: &Session, limits: &Limits) -> Result<Compiled, GqlError> {
    let _stack = crate::stack::Entry::new();
    // The request's where/objects are the variables: the same depth bound as any request's.
    check_variables_depth(Some(&plan.variables))?;
    let doc = validate::parse(&plan.query, limits)?;
    let op = validate::select_operation(&doc, None)?;
    let mut operation = validate::validate(schema, &doc, &op.node, Some(&plan.variables), limits)?;
    if let Some(root) = operation.fields.first_mut() {
        for (name, arg) in &plan.extra {
            root.args.insert(name.clone(), arg.clone());
        }
    }
    lower(schema, operation, session)
}

/// SQL (or a static answer) for a validated operation.
fn lower(schema: &Schema, operation: validate::Operation, session: &Session) -> Result<Compiled, GqlError> {
    lower_traced(schema, operation, session).map(|(c, _)| c)
}

/// [`lower`], and where each statement's parameters come from (statements in
/// `template::params_mut` order).
fn lower_traced(
    schema: &Schema,
    operation: validate::Operation,
    session: &Session,
) -> Result<(Compiled, Vec<Vec<input::Source>>), GqlError> {
    let _stack = crate::stack::Entry::new();
    let root = match operation.ty {
        OperationType::Query => schema.query_type.as_str(),
        OperationType::Subscription => schema.subscription_type.as_deref().unwrap_or("subscription_root"),
        OperationType::Mutation => schema.mutation_type.as_deref().unwrap_or("mutation_root"),
    };
    if operation.ty == OperationType::Mutation {
        let (plan, sources) = crate::sql::compile_mutation_traced(schema, &operation.fields, root, session)?;
        return Ok((Compiled::Mutation(plan), sources));
    }
    match crate::sql::compile_operation(schema, &operation.fields, root, session)? {
        crate::sql::Generated::Json(v) => Ok((Compiled::Json(v), vec![])),
        crate::sql::Generated::Sql { sql, params, sources, guarded, stream } => {
            Ok((Compiled::Sql(CompiledSql { sql, params, is_mutation: false, guarded, stream }), vec![sources]))
        }
    }
}

#[cfg(test)]
mod coercion_tests;
#[cfg(test)]
mod limits_tests;
