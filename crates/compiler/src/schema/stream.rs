//! Streaming subscriptions: the `T_stream` field of the subscription root and its input types,
//! with Hasura's names and descriptions (`Hasura.GraphQL.Schema.SubscriptionStream`):
//!
//! ```graphql
//! T_stream(batch_size: Int!, cursor: [T_stream_cursor_input]!, where: T_bool_exp): [T!]!
//! input T_stream_cursor_input { initial_value: T_stream_cursor_value_input!, ordering: cursor_ordering }
//! input T_stream_cursor_value_input { <each selectable column>: <its type> }   # all optional
//! enum cursor_ordering { ASC DESC }
//! ```
//!
//! The field exists for a role with a select permission whose `subscription_root_fields`
//! allows `select_stream` (or lists none), on tables with at least one selectable column, and
//! never on the query root. Its description ignores `custom_root_fields` comments, as Hasura's.

use indexmap::IndexMap;

use super::build::{column_type, input, table_label, Builder};
use super::model::*;

impl Builder {
    /// The `T_stream` root field of table `ti`, emitting its input types; `None` when the role
    /// may select no column of it (a cursor needs one).
    pub(super) fn stream_field(&mut self, ti: usize) -> Option<Field> {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let columns: Vec<&ColumnInfo> = t.columns.iter().filter(|c| c.select).collect();
        if columns.is_empty() {
            return None;
        }
        self.emit_cursor_ordering();
        let value_input = format!("{n}_stream_cursor_value_input");
        let fields = columns.iter().map(|c| (c.gql_name.clone(), input(&c.gql_name, column_type(c), c.description.clone()))).collect();
        self.add(
            &value_input,
            Some("Initial value of the column from where the streaming should start".into()),
            TypeKind::InputObject { fields },
        );
        let cursor_input = format!("{n}_stream_cursor_input");
        let mut fields = IndexMap::new();
        fields.insert(
            "initial_value".to_string(),
            input("initial_value", TypeRef::named(value_input).non_null(), Some("Stream column input with initial value".into())),
        );
        fields.insert("ordering".to_string(), input("ordering", TypeRef::named("cursor_ordering"), Some("cursor ordering".into())));
        self.add(&cursor_input, Some(format!("Streaming cursor of the table \"{n}\"")), TypeKind::InputObject { fields });

        let mut args = IndexMap::new();
        let mut batch_size =
            input("batch_size", TypeRef::named("Int").non_null(), Some("maximum number of rows returned in a single batch".into()));
        batch_size.parse = ScalarParse::NonNegativeInt;
        args.insert("batch_size".to_string(), batch_size);
        args.insert(
            "cursor".to_string(),
            input("cursor", TypeRef::named(cursor_input).list().non_null(), Some("cursor to stream the results returned by the query".into())),
        );
        args.insert("where".to_string(), input("where", TypeRef::named(format!("{n}_bool_exp")), Some("filter the rows returned".into())));
        Some(Field {
            name: t.root.select_stream.clone(),
            description: Some(format!("fetch data from the table in a streaming manner: \"{}\"", table_label(&t.name))),
            args,
            ty: TypeRef::nn_list_nn(n.clone()),
            kind: FieldKind::RootStream { table: ti },
        })
    }

    fn emit_cursor_ordering(&mut self) {
        let values = [("ASC", "ascending ordering of the cursor"), ("DESC", "descending ordering of the cursor")]
            .into_iter()
            .map(|(v, d)| (v.to_string(), EnumValue { name: v.into(), description: Some(d.into()) }))
            .collect();
        self.add("cursor_ordering", Some("ordering argument of a cursor".into()), TypeKind::Enum { values });
    }
}
