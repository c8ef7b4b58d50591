//! Argument values that know where they come from.
//!
//! One compiled request serves every request of the same *shape* (see `template`), so the SQL
//! generator must say, for each `$n` it emits, whether its text is a variable's value (which
//! one, rendered how), a session variable's, or fixed by the query. Nothing is inferred by
//! comparing compiles: coercion hands the generator each argument as an [`Arg`], the coerced
//! JSON with a [`Src`] tree mirroring it, and the generator binds through [`In`], which
//! renders a value and names its [`Source`] in one step.
//!
//! **Fail closed.** The generator reaches argument values only through [`In`]. Everything
//! the shape signature fixes is free to look at: whether a value is given or null, booleans,
//! enum values, object keys, list lengths, the JSON kind of a scalar. Anything else about a
//! variable's value (a string's text, a number, what is inside a `jsonb` value) is the
//! variable's *content*: every [`In`] accessor that exposes content marks the variable read,
//! and so does binding a value computed from it ([`Source::Derived`]). A compile that read
//! any variable's content has no template and its requests are cached by their exact
//! variables. A parameter is recorded [`Source::Const`] only when its value's [`Src`] holds no
//! variable at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::schema::model::{Schema, TypeKind, TypeRef};

/// One step into a coerced variable value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A place in the coerced variables: a variable and the steps into its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VarPath {
    pub name: String,
    pub steps: Vec<Step>,
}

impl VarPath {
    fn child(&self, step: Step) -> VarPath {
        let mut steps = self.steps.clone();
        steps.push(step);
        VarPath { name: self.name.clone(), steps }
    }

    /// The value at this path in `values` (coerced variables).
    pub fn find<'v>(&self, values: &'v IndexMap<String, Value>) -> Option<&'v Value> {
        let mut v = values.get(&self.name)?;
        for step in &self.steps {
            v = match (step, v) {
                (Step::Key(k), Value::Object(m)) => m.get(k)?,
                (Step::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
    }
}

/// How a value becomes parameter text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A string as is, a number or boolean as JSON text, null as SQL NULL.
    Scalar,
    /// The value's JSON text.
    Json,
    /// A list as a Postgres array literal.
    Array,
}

impl Rule {
    /// The text of `v` (`None` inside: SQL NULL); `None`: `v` cannot be rendered so.
    pub fn text(self, v: &Value) -> Option<Option<String>> {
        match self {
            Rule::Scalar => Some(match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }),
            Rule::Json => Some(Some(v.to_string())),
            Rule::Array => match v {
                Value::Array(items) => Some(Some(crate::sql::array_literal(items))),
                _ => None,
            },
        }
    }
}

/// Where one statement parameter's text comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The same for every request of the shape: literals of the query, constants of the
    /// compiler, permission values, parameters the executor fills in.
    Const,
    /// The coerced value of a variable at `path`, rendered by `rule`.
    Var { path: VarPath, rule: Rule },
    /// A session variable's value (lowercase name), as text.
    Session(String),
    /// The whole session as JSON.
    SessionJson,
    /// Computed from session values (a list of them, a JSON rendering): it changes with the
    /// session, and no single session variable renders it.
    SessionDerived,
    /// Computed from variable values: no rule renders it, so the request has no template.
    Derived,
}

/// A variable value the generator may bind but not look into.
#[derive(Debug)]
pub struct Leaf {
    path: VarPath,
    /// Shared by every leaf of one compile: set when any variable's content is read.
    read: Arc<AtomicBool>,
}

impl Leaf {
    fn mark(&self) {
        self.read.store(true, Ordering::Relaxed);
    }
}

/// Where the parts of an argument value come from; mirrors the value.
#[derive(Clone, Debug)]
pub enum Src {
    /// Fixed by the query text and the shape: no variable inside.
    Const,
    /// Exactly the coerced value of a variable at the leaf's path: a string, a number, or a
    /// whole `json`/`jsonb` value.
    Var(Arc<Leaf>),
    /// A session variable's value (lowercase name).
    Session(String),
    /// Computed from these variables' values (a `jsonb` literal with variables inside).
    Derived(Vec<Arc<Leaf>>),
    /// A list; `Some(path)` when it is exactly the list value of a variable at `path`.
    List(Vec<Src>, Option<VarPath>),
    Object(IndexMap<String, Src>),
}

static NULL: Value = Value::Null;
static CONST: Src = Src::Const;

impl Src {
    /// Mark every variable inside as read.
    fn touch_all(&self) {
        match self {
            Src::Var(l) => l.mark(),
            Src::Derived(ls) => ls.iter().for_each(|l| l.mark()),
            Src::List(items, _) => items.iter().for_each(Src::touch_all),
            Src::Object(m) => m.values().for_each(Src::touch_all),
            Src::Const | Src::Session(_) => {}
        }
    }

    fn leaves(&self, out: &mut Vec<Arc<Leaf>>) {
        match self {
            Src::Var(l) => out.push(l.clone()),
            Src::Derived(ls) => out.extend(ls.iter().cloned()),
            Src::List(items, _) => items.iter().for_each(|s| s.leaves(out)),
            Src::Object(m) => m.values().for_each(|s| s.leaves(out)),
            Src::Const | Src::Session(_) => {}
        }
    }

    fn has_session(&self) -> bool {
        match self {
            Src::Session(_) => true,
            Src::List(items, _) => items.iter().any(Src::has_session),
            Src::Object(m) => m.values().any(Src::has_session),
            _ => false,
        }
    }

    /// Whether two values with these sources are equal, or not, whatever the variables.
    fn identical(a: &Src, b: &Src) -> bool {
        match (a, b) {
            (Src::Const, Src::Const) => true,
            (Src::Var(x), Src::Var(y)) => x.path == y.path,
            (Src::Session(x), Src::Session(y)) => x == y,
            (Src::List(x, wx), Src::List(y, wy)) => wx == wy && x.len() == y.len() && x.iter().zip(y).all(|(p, q)| Src::identical(p, q)),
            (Src::Object(x), Src::Object(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|((kx, p), (ky, q))| kx == ky && Src::identical(p, q))
            }
            _ => false,
        }
    }
}

/// A coerced argument value and where its parts come from.
#[derive(Clone, Debug)]
pub struct Arg {
    value: Value,
    src: Src,
}

impl Arg {
    /// A value that holds no variable (a literal, a permission constant, a preset).
    pub fn constant(value: Value) -> Arg {
        Arg { value, src: Src::Const }
    }

    /// A session variable's value.
    pub fn session(name: &str, value: Value) -> Arg {
        Arg { value, src: Src::Session(name.to_ascii_lowercase()) }
    }

    pub fn list(items: Vec<Arg>) -> Arg {
        let (values, srcs) = items.into_iter().map(|a| (a.value, a.src)).unzip();
        Arg { value: Value::Array(values), src: Src::List(srcs, None) }
    }

    pub fn object(entries: impl IntoIterator<Item = (String, Arg)>) -> Arg {
        let mut values = serde_json::Map::new();
        let mut srcs = IndexMap::new();
        for (k, a) in entries {
            values.insert(k.clone(), a.value);
            srcs.insert(k, a.src);
        }
        Arg { value: Value::Object(values), src: Src::Object(srcs) }
    }

    pub(super) fn new(value: Value, src: Src) -> Arg {
        Arg { value, src }
    }

    pub fn view(&self) -> In<'_> {
        In { v: &self.value, s: &self.src }
    }

    /// Whether two arguments are equal. When that depends on variables' content, the
    /// variables are read.
    pub fn same(a: &Arg, b: &Arg) -> bool {
        if !Src::identical(&a.src, &b.src) {
            a.src.touch_all();
            b.src.touch_all();
        }
        a.value == b.value
    }
}

/// The JSON kind of a value: fixed by the shape, so free to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

/// A view of (part of) an argument value; the only way the SQL generator reads one.
#[derive(Clone, Copy, Debug)]
pub struct In<'a> {
    v: &'a Value,
    s: &'a Src,
}

impl<'a> In<'a> {
    /// An absent value.
    pub fn null() -> In<'static> {
        In { v: &NULL, s: &CONST }
    }

    /// A value the compiler made itself, holding no variable.
    pub fn constant(v: &'a Value) -> In<'a> {
        In { v, s: &CONST }
    }

    pub fn is_null(self) -> bool {
        self.v.is_null()
    }

    pub fn kind(self) -> Kind {
        match self.v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_i64() || n.is_u64() => Kind::Int,
            Value::Number(_) => Kind::Float,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    /// A variable's content is about to be looked at (`self` is a leaf: its insides and its
    /// text are not fixed by the shape).
    fn content(self) {
        match self.s {
            Src::Var(l) => l.mark(),
            Src::Derived(ls) => ls.iter().for_each(|l| l.mark()),
            _ => {}
        }
    }

    /// A child value; the source tree must match the value, or everything is read.
    fn child(self, v: &'a Value, s: Option<&'a Src>) -> In<'a> {
        match (self.s, s) {
            (Src::Object(_) | Src::List(..), Some(s)) => In { v, s },
            (Src::Object(_) | Src::List(..), None) => {
                self.s.touch_all();
                In { v, s: &CONST }
            }
            (Src::Const | Src::Session(_), _) => In { v, s: &CONST },
            _ => {
                self.content();
                In { v, s: &CONST }
            }
        }
    }

    pub fn get(self, key: &str) -> Option<In<'a>> {
        let v = self.v.as_object()?.get(key)?;
        let s = match self.s {
            Src::Object(m) => m.get(key),
            _ => None,
        };
        Some(self.child(v, s))
    }

    pub fn items(self) -> Option<Vec<In<'a>>> {
        let items = self.v.as_array()?;
        Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let s = match self.s {
                        Src::List(srcs, _) if srcs.len() == items.len() => srcs.get(i),
                        _ => None,
                    };
                    self.child(v, s)
                })
                .collect(),
        )
    }

    pub fn entries(self) -> Option<Vec<(&'a str, In<'a>)>> {
        let m = self.v.as_object()?;
        let srcs = match self.s {
            Src::Object(srcs) if srcs.len() == m.len() => Some(srcs),
            _ => None,
        };
        Some(m.iter().map(|(k, v)| (k.as_str(), self.child(v, srcs.and_then(|s| s.get(k))))).collect())
    }

    /// Whether some item of a list value is a string. Free for a list whose items the shape
    /// fixes (a typed list, a literal); otherwise the list is content and is read.
    pub fn has_string_item(self) -> bool {
        if !matches!(self.s, Src::List(..) | Src::Const | Src::Session(_)) {
            self.content();
        }
        fn any_string(v: &Value) -> bool {
            match v {
                Value::String(_) => true,
                Value::Array(items) => items.iter().any(any_string),
                _ => false,
            }
        }
        self.v.as_array().is_some_and(|items| items.iter().any(any_string))
    }

    /// The keys of an object value (fixed by the shape for input objects, content for json).
    pub fn keys(self) -> Vec<&'a str> {
        self.content();
        self.v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    pub fn as_str(self) -> Option<&'a str> {
        self.content();
        self.v.as_str()
    }

    pub fn as_i64(self) -> Option<i64> {
        self.content();
        self.v.as_i64()
    }

    pub fn as_bool(self) -> Option<bool> {
        self.content();
        self.v.as_bool()
    }

    /// The whole value, for code that looks at it as JSON: every variable inside is read.
    pub fn read_all(self) -> &'a Value {
        self.s.touch_all();
        self.v
    }

    /// An owned copy that keeps the sources.
    pub fn to_arg(self) -> Arg {
        Arg { value: self.v.clone(), src: self.s.clone() }
    }

    /// The parameter text of this value under `rule`, and where it comes from.
    pub fn render(self, rule: Rule) -> (Option<String>, Source) {
        let text = match rule {
            // A value that is not a list binds as an empty array, as it always has.
            Rule::Array => Some(rule.text(self.v).flatten().unwrap_or_else(|| "{}".into())),
            _ => rule.text(self.v).flatten(),
        };
        let source = match self.s {
            Src::Const => Source::Const,
            Src::Var(l) => Source::Var { path: l.path.clone(), rule },
            Src::Session(name) if rule == Rule::Scalar => Source::Session(name.clone()),
            Src::List(_, Some(path)) => {
                // A list's scalar text is its JSON text.
                let rule = if rule == Rule::Scalar { Rule::Json } else { rule };
                Source::Var { path: path.clone(), rule }
            }
            _ => self.derived(),
        };
        (text, source)
    }

    /// The source of text the compiler computed from this value.
    pub fn derived(self) -> Source {
        let mut leaves = vec![];
        self.s.leaves(&mut leaves);
        if !leaves.is_empty() {
            leaves.iter().for_each(|l| l.mark());
            Source::Derived
        } else if self.s.has_session() {
            Source::SessionDerived
        } else {
            Source::Const
        }
    }
}

/// Sources of one compile's variables; every leaf shares one "read" flag.
pub struct VarSources {
    map: IndexMap<String, Src>,
    read: Arc<AtomicBool>,
}

impl VarSources {
    /// Sources of the coerced `values`: a variable the request gave is a variable; one filled
    /// from its default is fixed by the query text (and the shape says it was not given).
    pub fn new(schema: &Schema, types: &IndexMap<String, TypeRef>, given: Option<&Value>, values: &IndexMap<String, Value>) -> Self {
        let read = Arc::new(AtomicBool::new(false));
        let given = given.and_then(Value::as_object);
        let mut map = IndexMap::new();
        for (name, v) in values {
            let path = VarPath { name: name.clone(), steps: vec![] };
            let src = match (given.is_some_and(|g| g.contains_key(name)), types.get(name)) {
                (false, _) => Src::Const,
                (true, Some(ty)) => expand(schema, v, ty, path, &read),
                (true, None) => Src::Var(Arc::new(Leaf { path, read: read.clone() })),
            };
            map.insert(name.clone(), src);
        }
        VarSources { map, read }
    }

    /// No variables (coercing the variables themselves).
    pub fn none() -> Self {
        VarSources { map: IndexMap::new(), read: Arc::new(AtomicBool::new(false)) }
    }

    /// The source of variable `name`'s value.
    pub fn get(&self, name: &str) -> Src {
        match self.map.get(name) {
            Some(s) => s.clone(),
            // Not expected; still never a constant.
            None => Src::Derived(vec![Arc::new(Leaf {
                path: VarPath { name: name.into(), steps: vec![] },
                read: self.read.clone(),
            })]),
        }
    }

    /// A value computed from variables `names`: fixed by the shape when they hold no
    /// content (nulls, booleans, enums), otherwise derived from them.
    pub fn derived_from(&self, names: &[String]) -> Src {
        let mut leaves = vec![];
        for n in names {
            self.get(n).leaves(&mut leaves);
        }
        if leaves.is_empty() {
            Src::Const
        } else {
            Src::Derived(leaves)
        }
    }

    /// Whether the compile looked at any variable's content.
    pub fn any_read(&self) -> bool {
        self.read.load(Ordering::Relaxed)
    }
}

/// The source tree of a given variable value of type `ty`, as coerced: what the shape
/// signature fixes is constant, strings, numbers and `json` values are leaves.
fn expand(schema: &Schema, v: &Value, ty: &TypeRef, path: VarPath, read: &Arc<AtomicBool>) -> Src {
    let leaf = |path: VarPath| Src::Var(Arc::new(Leaf { path, read: read.clone() }));
    match (ty, v) {
        (TypeRef::NonNull(inner), _) => expand(schema, v, inner, path, read),
        (_, Value::Null | Value::Bool(_)) => Src::Const,
        (TypeRef::List(inner), Value::Array(items)) => {
            let srcs = items.iter().enumerate().map(|(i, item)| expand(schema, item, inner, path.child(Step::Index(i)), read)).collect();
            Src::List(srcs, Some(path))
        }
        (TypeRef::Named(name), _) => match (schema.get(name).map(|t| &t.kind), v) {
            (Some(TypeKind::Enum { .. }), _) => Src::Const,
            (Some(TypeKind::InputObject { fields }), Value::Object(m)) => Src::Object(
                m.iter()
                    .map(|(k, fv)| {
                        let p = path.child(Step::Key(k.clone()));
                        let s = match fields.get(k) {
                            Some(f) => expand(schema, fv, &f.ty, p, read),
                            None => leaf(p),
                        };
                        (k.clone(), s)
                    })
                    .collect(),
            ),
            _ => leaf(path),
        },
        _ => leaf(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn var(read: &Arc<AtomicBool>, name: &str) -> Src {
        Src::Var(Arc::new(Leaf { path: VarPath { name: name.into(), steps: vec![] }, read: read.clone() }))
    }

    #[test]
    fn looking_into_a_variable_reads_it() {
        let read = Arc::new(AtomicBool::new(false));
        let a = Arg::new(json!({"x": 5}), Src::Object([("x".to_string(), var(&read, "x"))].into_iter().collect()));
        let x = a.view().get("x").unwrap();
        assert!(!x.is_null() && x.kind() == Kind::Int);
        assert_eq!(x.render(Rule::Scalar).1, Source::Var { path: VarPath { name: "x".into(), steps: vec![] }, rule: Rule::Scalar });
        assert!(!read.load(Ordering::Relaxed), "binding is not reading");
        assert_eq!(x.as_i64(), Some(5));
        assert!(read.load(Ordering::Relaxed));
    }

    #[test]
    fn computed_from_a_variable_is_derived() {
        let read = Arc::new(AtomicBool::new(false));
        let a = Arg::new(json!(["a"]), Src::List(vec![var(&read, "s")], None));
        assert_eq!(a.view().render(Rule::Array).1, Source::Derived);
        assert!(read.load(Ordering::Relaxed));
        let c = Arg::list(vec![Arg::constant(json!(1)), Arg::session("X-Hasura-User-Id", json!("7"))]);
        assert_eq!(c.view().render(Rule::Array).1, Source::SessionDerived);
        assert_eq!(c.view().items().unwrap()[1].render(Rule::Scalar).1, Source::Session("x-hasura-user-id".into()));
    }

    #[test]
    fn comparing_different_sources_reads_them() {
        let read = Arc::new(AtomicBool::new(false));
        let a = Arg::new(json!(1), var(&read, "x"));
        assert!(Arg::same(&a, &a.clone()));
        assert!(!read.load(Ordering::Relaxed));
        assert!(Arg::same(&a, &Arg::constant(json!(1))));
        assert!(read.load(Ordering::Relaxed));
    }
}
