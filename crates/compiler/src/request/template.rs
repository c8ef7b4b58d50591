//! Compiled requests reused across variable values.
//!
//! Clients send the same query text with different variables (`users_by_pk(id: $id)`), and
//! compiling (parse, validate, lower to SQL) costs more than running the SQL of a key lookup.
//! A variable's value usually only becomes a statement parameter, so the compiled request for
//! one value is the compiled request for any other of the same *shape* (see `shape`), with
//! other parameters.
//!
//! Which parameters those are is not guessed: the SQL generator records, as it emits each
//! `$n`, where its text comes from ([`Source`]: a variable path and how its value is
//! rendered, a session variable, or a constant), and reads argument values only through
//! `input::In`, which marks a variable *read* whenever the compile looks at its content
//! (a limit, a JSON path it splits, a value it transforms, an introspected type name). A
//! compile that read no variable and bound none in a derived form yields a [`Template`]:
//! the compiled request plus those sources. Anything else has no template, and its requests
//! are cached by their exact variables instead.
//!
//! A template is filled after the new values pass the same coercion a full compile does, so
//! a bad value gets the same error. Session values are fixed per cache entry (the cache key
//! holds the session), but are still recorded as [`Source::Session`], so a caller that shares
//! one statement across sessions (multiplexed subscriptions) can feed them per cohort.

use indexmap::IndexMap;
use serde_json::Value;

use super::input::Source;
use super::validate::{self, VarDef};
use super::{lower_traced, Compiled, Limits, MutationStep, Session};
use crate::error::GqlError;
use crate::schema::model::Schema;

/// A compiled request and, per statement, where each of its parameters comes from.
#[derive(Clone, Debug)]
pub struct Template {
    compiled: Compiled,
    /// Per statement (in [`params_mut`] order), per parameter.
    sources: Vec<Vec<Source>>,
}

impl Template {
    /// The compiled request for these (coerced) variable values; `None` if a value the
    /// template needs is missing or cannot be rendered so (then compile in full).
    pub fn fill(&self, values: &IndexMap<String, Value>) -> Option<Compiled> {
        let mut out = self.compiled.clone();
        for (params, sources) in params_mut(&mut out).into_iter().zip(&self.sources) {
            for (p, source) in params.iter_mut().zip(sources) {
                if let Source::Var { path, rule } = source {
                    *p = rule.text(path.find(values)?)?;
                }
            }
        }
        Some(out)
    }

    /// The request as compiled for the values that made the template.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// Per statement (the plan's statements in order: a query's one, or per mutation field,
    /// per step, the write then the read), where each parameter comes from.
    pub fn sources(&self) -> &[Vec<Source>] {
        &self.sources
    }
}

/// Compile a request, and its template for other values of the same shape (`None`: there is
/// none). Also answers the operation's variable definitions.
pub fn compile(
    schema: &Schema,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    limits: &Limits,
) -> Result<(Compiled, Vec<VarDef>, Option<Template>), GqlError> {
    let doc = validate::parse(query, limits)?;
    let op = &validate::select_operation(&doc, operation_name)?.node;
    let defs = validate::variable_definitions(op);
    let values = validate::coerce_variables(schema, &defs, variables)?;
    let var_sources = validate::variable_sources(schema, &defs, variables, &values);
    let operation = validate::validate_coerced(schema, &doc, op, &defs, &values, &var_sources, limits)?;
    let (compiled, sources) = lower_traced(schema, operation, session)?;
    let template = build(&compiled, sources, var_sources.any_read());
    Ok((compiled, defs, template))
}

/// The template of `compiled`, unless the compile read a variable's content or bound a value
/// computed from one. Fails closed on a mismatch between parameters and sources too.
fn build(compiled: &Compiled, sources: Vec<Vec<Source>>, read: bool) -> Option<Template> {
    if read || sources.iter().flatten().any(|s| *s == Source::Derived) {
        return None;
    }
    let mut c = compiled.clone();
    let params = params_mut(&mut c);
    if params.len() != sources.len() || params.iter().zip(&sources).any(|(p, s)| p.len() != s.len()) {
        return None;
    }
    Some(Template { compiled: compiled.clone(), sources })
}

/// Every statement's parameters, in plan order.
pub(super) fn params_mut(c: &mut Compiled) -> Vec<&mut Vec<Option<String>>> {
    match c {
        Compiled::Sql(s) => vec![&mut s.params],
        Compiled::Json(_) => vec![],
        Compiled::Mutation(plan) => plan
            .fields
            .iter_mut()
            .flat_map(|f| f.steps.iter_mut())
            .flat_map(|step| match step {
                MutationStep::Static(_) => vec![],
                MutationStep::Query(s) => vec![&mut s.params],
                MutationStep::WriteRead { write, read } => vec![&mut write.params, &mut read.params],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::input::{Rule, VarPath};
    use crate::schema::build::build_schema;

    /// What a multiplexer needs: per parameter, the variable or session variable it carries.
    #[test]
    fn templates_report_each_parameters_source() {
        let (md, db) = crate::sql::tests::with_permissions();
        let s = build_schema(&md, &db, "user").0;
        let session = Session::from_json(Some(&json!({"x-hasura-role": "user", "x-hasura-user-id": "7"}))).unwrap();
        let q = "query ($id: Int!) { article(where: {id: {_eq: $id}}) { id } }";
        let (_, _, t) = compile(&s, q, Some(&json!({"id": 1000000001})), None, &session, &Limits::default()).unwrap();
        let t = t.expect("a template");
        let id = Source::Var { path: VarPath { name: "id".into(), steps: vec![] }, rule: Rule::Scalar };
        assert_eq!(t.sources(), &[vec![id, Source::Const, Source::Session("x-hasura-user-id".into())]]);
        let Some(Compiled::Sql(filled)) = t.fill(&[("id".to_string(), json!(3))].into_iter().collect()) else { panic!() };
        assert_eq!(filled.params, vec![Some("3".into()), Some("true".into()), Some("7".into())]);
    }

    /// A value the compiler looks into (a limit is SQL text) leaves the request without one.
    #[test]
    fn reading_a_variable_means_no_template() {
        let (md, db) = crate::schema::build::tests::fixture();
        let s = build_schema(&md, &db, "admin").0;
        for (q, v) in [
            ("query ($l: Int) { author(limit: $l) { id } }", json!({"l": 1})),
            ("query ($p: String) { author { meta(path: $p) } }", json!({"p": "$.a"})),
            ("query ($n: String!) { __type(name: $n) { name } }", json!({"n": "author"})),
            ("query ($a: Int!) { author(where: {id: {_in: [$a, 2]}}) { id } }", json!({"a": 1})),
        ] {
            let (_, _, t) = compile(&s, q, Some(&v), None, &Session::admin(), &Limits::default()).unwrap();
            assert!(t.is_none(), "{q}");
        }
    }
}
