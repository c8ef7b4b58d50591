//! The PostgreSQL row triggers the metadata's event triggers need: one per (event trigger,
//! operation), named `graft_event_<name>_<OP>`, each calling `graphql.capture_event(name,
//! listened columns, payload columns)`.

use crate::events::config::{event_triggers, Columns, EventTriggerConf};
use crate::Metadata;

/// Name prefix of every trigger Graft owns; anything else on a table is left alone.
pub const PG_TRIGGER_PREFIX: &str = "graft_event_";

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgTrigger {
    pub schema: String,
    pub table: String,
    /// `graft_event_<name>_<OP>`.
    pub trigger_name: String,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub op: &'static str,
    /// The three arguments of `graphql.capture_event`.
    pub args: [String; 3],
}

pub fn pg_trigger_name(name: &str, op: &str) -> String {
    format!("{PG_TRIGGER_PREFIX}{name}_{op}")
}

/// The row triggers of one event trigger.
pub fn pg_triggers_of(conf: &EventTriggerConf) -> Vec<PgTrigger> {
    let ops = [("INSERT", &conf.insert), ("UPDATE", &conf.update), ("DELETE", &conf.delete)];
    ops.into_iter()
        .filter_map(|(op, spec)| spec.as_ref().map(|s| (op, s)))
        .map(|(op, spec)| {
            // Only UPDATE filters on changed columns.
            let listened = if op == "UPDATE" { spec.columns.clone() } else { Columns::All };
            PgTrigger {
                schema: conf.table.schema.clone(),
                table: conf.table.name.clone(),
                trigger_name: pg_trigger_name(&conf.name, op),
                op,
                args: [conf.name.clone(), listened.as_trigger_arg(), spec.payload.as_trigger_arg()],
            }
        })
        .collect()
}

/// Every row trigger the metadata needs (definitions that do not parse need none).
pub fn desired(md: &Metadata) -> Vec<PgTrigger> {
    let mut out: Vec<PgTrigger> =
        event_triggers(md).into_iter().flatten().flat_map(|c| pg_triggers_of(&c)).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QualifiedName;
    use serde_json::json;

    #[test]
    fn one_trigger_per_operation() {
        let conf = EventTriggerConf::parse(
            &QualifiedName::new("public", "author"),
            &json!({"name": "t1", "definition": {"insert": {"columns": "*"}, "update": {"columns": ["name"], "payload": ["id", "name"]}, "enable_manual": true}, "webhook": "http://x"}),
        )
        .unwrap();
        let t = pg_triggers_of(&conf);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].trigger_name, "graft_event_t1_INSERT");
        assert_eq!(t[0].args, ["t1".to_string(), "*".into(), "*".into()]);
        assert_eq!(t[1].op, "UPDATE");
        assert_eq!(t[1].args, ["t1".to_string(), r#"["name"]"#.into(), r#"["id","name"]"#.into()]);
    }
}
