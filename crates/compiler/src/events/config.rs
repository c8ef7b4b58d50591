//! Event trigger and cron trigger definitions as the metadata stores them (Hasura's export
//! format), parsed into what the delivery side needs.

use serde_json::{json, Map, Value};

use crate::dbcatalog::QualifiedName;

/// Which columns: every one (`"*"`) or a list.
#[derive(Clone, Debug, PartialEq)]
pub enum Columns {
    All,
    Some(Vec<String>),
}

impl Columns {
    pub fn parse(v: Option<&Value>) -> Result<Columns, String> {
        match v {
            None | Some(Value::Null) => Ok(Columns::All),
            Some(Value::String(s)) if s == "*" => Ok(Columns::All),
            Some(Value::Array(items)) => items
                .iter()
                .map(|c| c.as_str().map(str::to_string).ok_or_else(|| "a column name must be a string".to_string()))
                .collect::<Result<Vec<_>, _>>()
                .map(Columns::Some),
            Some(other) => Err(format!("expected \"*\" or a list of columns, got {other}")),
        }
    }

    /// The trigger argument: `*` or a JSON array of names.
    pub fn as_trigger_arg(&self) -> String {
        match self {
            Columns::All => "*".into(),
            Columns::Some(cols) => Value::from(cols.clone()).to_string(),
        }
    }

    pub fn names(&self) -> &[String] {
        match self {
            Columns::All => &[],
            Columns::Some(c) => c,
        }
    }
}

/// One operation an event trigger listens to: `{columns, payload}`.
#[derive(Clone, Debug, PartialEq)]
pub struct OpSpec {
    /// For UPDATE: the columns whose change fires an event.
    pub columns: Columns,
    /// The columns delivered in `data.old` / `data.new`.
    pub payload: Columns,
}

impl OpSpec {
    fn parse(v: Option<&Value>) -> Result<Option<OpSpec>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(OpSpec {
                columns: Columns::parse(o.get("columns"))?,
                payload: Columns::parse(o.get("payload"))?,
            })),
            Some(other) => Err(format!("expected an object like {{\"columns\": \"*\"}}, got {other}")),
        }
    }
}

/// Where a webhook URL comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Webhook {
    /// A URL, possibly with `{{ENV_VAR}}` templates.
    Url(String),
    /// The name of an environment variable holding the URL.
    FromEnv(String),
}

impl Webhook {
    fn parse(o: &Map<String, Value>) -> Result<Webhook, String> {
        match (o.get("webhook").filter(|v| !v.is_null()), o.get("webhook_from_env").filter(|v| !v.is_null())) {
            (Some(Value::String(u)), None) => Ok(Webhook::Url(u.clone())),
            (None, Some(Value::String(e))) => Ok(Webhook::FromEnv(e.clone())),
            (Some(_), Some(_)) => Err("only one of webhook or webhook_from_env should be given".into()),
            (None, None) => Err("one of webhook or webhook_from_env is required".into()),
            _ => Err("webhook and webhook_from_env must be strings".into()),
        }
    }

    /// The URL to call, with environment variables looked up by `env`.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        match self {
            Webhook::FromEnv(var) => env(var).ok_or_else(|| format!("environment variable {var:?} is not set")),
            Webhook::Url(template) => expand_env_template(template, env),
        }
    }
}

/// Expand Hasura's `{{VAR}}` templates in a URL.
pub fn expand_env_template(template: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else { break };
        let var = rest[start + 2..start + 2 + len].trim();
        out.push_str(&rest[..start]);
        out.push_str(&env(var).ok_or_else(|| format!("environment variable {var:?} is not set"))?);
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A header sent with every delivery: a value or the name of an environment variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub name: String,
    pub value: HeaderValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HeaderValue {
    Value(String),
    FromEnv(String),
}

pub fn parse_headers(v: Option<&Value>) -> Result<Vec<Header>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(vec![]) };
    let items = v.as_array().ok_or("headers must be a list of {name, value} or {name, value_from_env}")?;
    items
        .iter()
        .map(|h| {
            let name = h.get("name").and_then(Value::as_str).ok_or("a header needs a string \"name\"")?;
            let value = match (h.get("value").and_then(Value::as_str), h.get("value_from_env").and_then(Value::as_str)) {
                (Some(v), None) => HeaderValue::Value(v.to_string()),
                (None, Some(e)) => HeaderValue::FromEnv(e.to_string()),
                _ => return Err(format!("header {name:?} needs exactly one of value or value_from_env")),
            };
            Ok(Header { name: name.to_string(), value })
        })
        .collect()
}

/// The headers with their values, environment variables looked up by `env`.
pub fn resolve_headers(headers: &[Header], env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, String> {
    headers
        .iter()
        .map(|h| match &h.value {
            HeaderValue::Value(v) => Ok((h.name.clone(), v.clone())),
            HeaderValue::FromEnv(var) => env(var)
                .map(|v| (h.name.clone(), v))
                .ok_or_else(|| format!("environment variable {var:?} of header {:?} is not set", h.name)),
        })
        .collect()
}

/// Event triggers' `retry_conf`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryConf {
    pub num_retries: u32,
    pub interval_sec: u32,
    pub timeout_sec: u32,
}

impl Default for RetryConf {
    fn default() -> Self {
        RetryConf { num_retries: 0, interval_sec: 10, timeout_sec: 60 }
    }
}

fn uint(o: &Map<String, Value>, key: &str, default: u32) -> Result<u32, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("retry_conf.{key} must be a non-negative integer, got {v}")),
    }
}

impl RetryConf {
    pub fn parse(v: Option<&Value>) -> Result<RetryConf, String> {
        let d = RetryConf::default();
        match v {
            None | Some(Value::Null) => Ok(d),
            Some(Value::Object(o)) => {
                let conf = RetryConf {
                    num_retries: uint(o, "num_retries", d.num_retries)?,
                    interval_sec: uint(o, "interval_sec", d.interval_sec)?,
                    timeout_sec: uint(o, "timeout_sec", d.timeout_sec)?,
                };
                if conf.timeout_sec == 0 {
                    return Err("retry_conf.timeout_sec must be at least 1".into());
                }
                Ok(conf)
            }
            Some(other) => Err(format!("retry_conf must be an object, got {other}")),
        }
    }

    pub fn to_json(self) -> Value {
        json!({"num_retries": self.num_retries, "interval_sec": self.interval_sec, "timeout_sec": self.timeout_sec})
    }
}

/// Scheduled (cron and one-off) events' `retry_conf`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduledRetryConf {
    pub num_retries: u32,
    pub retry_interval_seconds: u32,
    pub timeout_seconds: u32,
    /// Events more than this late are marked `dead` instead of delivered.
    pub tolerance_seconds: u32,
}

impl Default for ScheduledRetryConf {
    fn default() -> Self {
        ScheduledRetryConf { num_retries: 0, retry_interval_seconds: 10, timeout_seconds: 60, tolerance_seconds: 21600 }
    }
}

impl ScheduledRetryConf {
    pub fn parse(v: Option<&Value>) -> Result<ScheduledRetryConf, String> {
        let d = ScheduledRetryConf::default();
        match v {
            None | Some(Value::Null) => Ok(d),
            Some(Value::Object(o)) => {
                let conf = ScheduledRetryConf {
                    num_retries: uint(o, "num_retries", d.num_retries)?,
                    retry_interval_seconds: uint(o, "retry_interval_seconds", d.retry_interval_seconds)?,
                    timeout_seconds: uint(o, "timeout_seconds", d.timeout_seconds)?,
                    tolerance_seconds: uint(o, "tolerance_seconds", d.tolerance_seconds)?,
                };
                if conf.timeout_seconds == 0 {
                    return Err("retry_conf.timeout_seconds must be at least 1".into());
                }
                Ok(conf)
            }
            Some(other) => Err(format!("retry_conf must be an object, got {other}")),
        }
    }

    pub fn to_json(self) -> Value {
        json!({
            "num_retries": self.num_retries,
            "retry_interval_seconds": self.retry_interval_seconds,
            "timeout_seconds": self.timeout_seconds,
            "tolerance_seconds": self.tolerance_seconds,
        })
    }
}

/// Hasura limits trigger names so that `notify_hasura_<name>_INSERT` fits in 63 bytes.
pub const MAX_TRIGGER_NAME: usize = 42;

/// A trigger name: 1–42 characters of letters, digits, `_` and `-`.
pub fn check_trigger_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_TRIGGER_NAME {
        return Err(format!("trigger name {name:?} must be 1 to {MAX_TRIGGER_NAME} characters long"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("trigger name {name:?} may only contain letters, digits, '_' and '-'"));
    }
    Ok(())
}

/// An event trigger of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct EventTriggerConf {
    pub name: String,
    pub table: QualifiedName,
    pub insert: Option<OpSpec>,
    pub update: Option<OpSpec>,
    pub delete: Option<OpSpec>,
    pub enable_manual: bool,
    pub webhook: Webhook,
    pub headers: Vec<Header>,
    pub retry: RetryConf,
}

impl EventTriggerConf {
    /// Parse the stored form `{name, definition: {insert, update, delete, enable_manual},
    /// retry_conf, webhook | webhook_from_env, headers}`.
    pub fn parse(table: &QualifiedName, v: &Value) -> Result<EventTriggerConf, String> {
        let o = v.as_object().ok_or("an event trigger must be an object")?;
        let name = o.get("name").and_then(Value::as_str).ok_or("an event trigger needs a string \"name\"")?;
        check_trigger_name(name)?;
        let empty = Map::new();
        let def = match o.get("definition") {
            Some(Value::Object(d)) => d,
            None | Some(Value::Null) => &empty,
            Some(_) => return Err("definition must be an object".into()),
        };
        let conf = EventTriggerConf {
            name: name.to_string(),
            table: table.clone(),
            insert: OpSpec::parse(def.get("insert"))?,
            update: OpSpec::parse(def.get("update"))?,
            delete: OpSpec::parse(def.get("delete"))?,
            enable_manual: def.get("enable_manual").and_then(Value::as_bool).unwrap_or(false),
            webhook: Webhook::parse(o)?,
            headers: parse_headers(o.get("headers"))?,
            retry: RetryConf::parse(o.get("retry_conf"))?,
        };
        if conf.insert.is_none() && conf.update.is_none() && conf.delete.is_none() && !conf.enable_manual {
            return Err("atleast one amongst insert/update/delete/enable_manual spec must be provided".into());
        }
        Ok(conf)
    }

    /// Every column the definition names.
    pub fn named_columns(&self) -> impl Iterator<Item = &String> {
        [&self.insert, &self.update, &self.delete]
            .into_iter()
            .flatten()
            .flat_map(|s| s.columns.names().iter().chain(s.payload.names()))
    }
}

/// A cron trigger (metadata section `cron_triggers`).
#[derive(Clone, Debug, PartialEq)]
pub struct CronTriggerConf {
    pub name: String,
    pub webhook: Webhook,
    pub schedule: String,
    pub payload: Value,
    pub headers: Vec<Header>,
    pub retry: ScheduledRetryConf,
    pub include_in_metadata: bool,
    pub comment: Option<String>,
}

impl CronTriggerConf {
    pub fn parse(v: &Value) -> Result<CronTriggerConf, String> {
        let o = v.as_object().ok_or("a cron trigger must be an object")?;
        let name = o.get("name").and_then(Value::as_str).ok_or("a cron trigger needs a string \"name\"")?;
        check_trigger_name(name)?;
        let schedule = o.get("schedule").and_then(Value::as_str).ok_or("a cron trigger needs a string \"schedule\"")?;
        crate::events::cron::Schedule::parse(schedule)?;
        Ok(CronTriggerConf {
            name: name.to_string(),
            webhook: Webhook::parse(o)?,
            schedule: schedule.to_string(),
            payload: o.get("payload").cloned().unwrap_or(Value::Null),
            headers: parse_headers(o.get("headers"))?,
            retry: ScheduledRetryConf::parse(o.get("retry_conf"))?,
            include_in_metadata: o.get("include_in_metadata").and_then(Value::as_bool).unwrap_or(true),
            comment: o.get("comment").and_then(Value::as_str).map(str::to_string),
        })
    }
}

/// Every cron trigger of the metadata's `cron_triggers` section that parses; the others are
/// reported with their error.
pub fn cron_triggers(md: &crate::Metadata) -> Vec<Result<CronTriggerConf, (String, String)>> {
    md.other
        .get("cron_triggers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|v| {
                    CronTriggerConf::parse(v).map_err(|e| {
                        (v.get("name").and_then(Value::as_str).unwrap_or("?").to_string(), e)
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every event trigger of every table of every source.
pub fn event_triggers(md: &crate::Metadata) -> Vec<Result<EventTriggerConf, (String, String)>> {
    md.sources
        .iter()
        .flat_map(|s| s.tables.iter())
        .flat_map(|t| {
            t.event_triggers.iter().map(|v| {
                EventTriggerConf::parse(&t.table, v)
                    .map_err(|e| (v.get("name").and_then(Value::as_str).unwrap_or("?").to_string(), e))
            })
        })
        .collect()
}
