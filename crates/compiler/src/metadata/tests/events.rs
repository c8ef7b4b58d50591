use serde_json::json;

use super::*;
use crate::events::triggers::desired;
use crate::metadata::export::to_json;

fn trigger(name: &str, table: &str) -> Value {
    req(
        "pg_create_event_trigger",
        json!({"name": name, "table": table, "webhook": "{{HOOK}}/x", "insert": {"columns": "*"},
               "update": {"columns": ["name"]}, "retry_conf": {"num_retries": 2}}),
    )
}

#[test]
fn event_triggers_are_stored_in_hasuras_form() {
    let mut md = tracked(&["author", "article"]);
    assert_eq!(ok(&mut md, trigger("author_changed", "author")), json!({"message": "success"}));
    let exported = to_json(&md);
    let tables = exported["sources"][0]["tables"].as_array().unwrap();
    let author = tables.iter().find(|t| t["table"]["name"] == "author").unwrap();
    let et = &author["event_triggers"][0];
    assert_eq!(
        et,
        &json!({"name": "author_changed",
                "definition": {"enable_manual": false, "insert": {"columns": "*"}, "update": {"columns": ["name"]}},
                "retry_conf": {"num_retries": 2, "interval_sec": 10, "timeout_sec": 60},
                "webhook": "{{HOOK}}/x"})
    );
    let pg: Vec<String> = desired(&md).into_iter().map(|t| t.trigger_name).collect();
    assert_eq!(pg, ["graft_event_author_changed_INSERT", "graft_event_author_changed_UPDATE"]);
}

#[test]
fn event_trigger_errors() {
    let mut md = tracked(&["author", "article", "author_view"]);
    ok(&mut md, trigger("t1", "author"));
    assert_err(&err(&mut md, trigger("t1", "author")), "already-exists", "$.args", "Event trigger with name \"t1\" already exists");
    // replace moves it.
    ok(&mut md, req("pg_create_event_trigger", json!({"name": "t1", "table": "article", "webhook": "http://h", "delete": {"columns": "*"}, "replace": true})));
    let exported = to_json(&md);
    let with_triggers: Vec<&Value> = exported["sources"][0]["tables"].as_array().unwrap().iter().filter(|t| t.get("event_triggers").is_some()).map(|t| &t["table"]["name"]).collect();
    assert_eq!(with_triggers, [&json!("article")]);
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "author", "insert": {"columns": "*"}})));
    assert_eq!(e.code, "parse-failed");
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "author", "webhook": "http://h"})));
    assert!(e.error.contains("atleast one amongst insert/update/delete/enable_manual"), "{}", e.error);
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "author", "webhook": "http://h", "update": {"columns": ["nope"]}})));
    assert_eq!(e.code, "not-exists");
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "author_view", "webhook": "http://h", "insert": {"columns": "*"}})));
    assert_eq!(e.code, "not-supported");
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "bad name", "table": "author", "webhook": "http://h", "insert": {"columns": "*"}})));
    assert_eq!(e.code, "parse-failed");
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "author", "webhook": "http://h", "insert": {"columns": "*"}, "request_transform": {"version": 2}})));
    assert_eq!(e.code, "not-supported");
    let e = err(&mut md, req("pg_create_event_trigger", json!({"name": "t2", "table": "comment", "webhook": "http://h", "insert": {"columns": "*"}})));
    assert_eq!(e.code, "not-exists", "an untracked table: {}", e.to_json());
    let e = err(&mut md, req("pg_delete_event_trigger", json!({"name": "nope"})));
    assert_err(&e, "not-exists", "$.args.name", "event trigger with name \"nope\" does not exist");
    ok(&mut md, req("pg_delete_event_trigger", json!({"name": "t1"})));
    assert!(desired(&md).is_empty());
}

#[test]
fn cron_triggers_and_the_export() {
    let mut md = Metadata::default();
    let cron = |name: &str, include: bool| {
        req("create_cron_trigger", json!({"name": name, "webhook": "http://h", "schedule": "*/5 * * * *", "payload": {"a": 1}, "include_in_metadata": include}))
    };
    ok(&mut md, cron("shown", true));
    ok(&mut md, cron("hidden", false));
    assert_err(&err(&mut md, cron("shown", true)), "already-exists", "$.args", "cron trigger with name: shown already exists");
    let e = err(&mut md, req("create_cron_trigger", json!({"name": "c", "webhook": "http://h", "schedule": "* * * * * *", "include_in_metadata": true})));
    assert_eq!(e.code, "parse-failed");
    let e = err(&mut md, req("create_cron_trigger", json!({"name": "c", "webhook": "http://h", "schedule": "* * * * *"})));
    assert_err(&e, "parse-failed", "$.args", "key \"include_in_metadata\" not found");
    let exported = to_json(&md);
    let names: Vec<&str> = exported["cron_triggers"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shown"]);
    let listed = ok(&mut md, req("get_cron_triggers", json!({})));
    assert_eq!(listed["cron_triggers"].as_array().unwrap().len(), 2);
    // A replace_metadata keeps the triggers its document cannot carry.
    ok(&mut md, req("replace_metadata", exported));
    assert_eq!(ok(&mut md, req("get_cron_triggers", json!({})))["cron_triggers"].as_array().unwrap().len(), 2);
    ok(&mut md, req("delete_cron_trigger", json!({"name": "hidden"})));
    assert_err(&err(&mut md, req("delete_cron_trigger", json!({"name": "hidden"}))), "not-exists", "$.args.name", "cron trigger with name: hidden does not exist");
}

#[test]
fn event_log_requests_are_not_for_bulk() {
    let mut md = Metadata::default();
    let e = err(&mut md, req("bulk", json!([req("pg_get_event_logs", json!({"name": "x"}))])));
    assert_eq!(e.code, "not-supported");
}
