//! The normalized selection tree: fragments expanded, `@include`/`@skip` applied, fields with
//! the same response key merged, arguments coerced to JSON against the schema (variables
//! substituted, defaults filled in, enum values as strings). Everything after validation
//! (introspection, IR lowering) reads this, never the raw AST. Argument values carry their
//! sources (see `input`): the generator reads them only through [`In`].

use indexmap::IndexMap;

use super::input::{Arg, In};

#[derive(Clone, Debug)]
pub struct SelField {
    /// Response key: the alias, or the field name.
    pub alias: String,
    /// Field name in the schema (`__typename` included).
    pub name: String,
    /// Coerced arguments, in schema order; only arguments given or defaulted appear.
    pub args: IndexMap<String, Arg>,
    /// Sub-selection (empty for leaves), already expanded for the field's type.
    pub selection: Vec<SelField>,
    /// Hasura-style path of this field, e.g. `$.selectionSet.author.selectionSet.name`.
    pub path: String,
}

impl SelField {
    /// The argument `name`, if given.
    pub fn arg(&self, name: &str) -> Option<In<'_>> {
        self.args.get(name).map(Arg::view)
    }
}
