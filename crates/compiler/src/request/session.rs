//! Session variables of a request: `{"x-hasura-role": "user", "x-hasura-user-id": "42"}`,
//! keys case-insensitive (stored lower-cased). No role, or role `admin`, is the admin role.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::GqlError;

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub role: String,
    /// Lower-cased keys, string values.
    pub variables: IndexMap<String, String>,
    /// Response option of this request: `bigint`, `numeric`, `float8` and `money` values as JSON
    /// strings (`HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`, GUC `graft.stringify_numeric_types`).
    pub stringify_numeric: bool,
}

impl Session {
    pub fn admin() -> Session {
        Session { role: "admin".into(), variables: IndexMap::new(), stringify_numeric: false }
    }

    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Read a session JSON object. Non-string values are turned into their JSON text (arrays
    /// of ids stay usable for `_in`).
    pub fn from_json(v: Option<&Value>) -> Result<Session, GqlError> {
        let mut variables = IndexMap::new();
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let val = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => continue,
                        other => other.to_string(),
                    };
                    variables.insert(k.to_ascii_lowercase(), val);
                }
            }
            Some(_) => {
                return Err(GqlError::new("invalid-params", "$", "session must be a JSON object of session variables"))
            }
        }
        let role = variables.get("x-hasura-role").cloned().unwrap_or_else(|| "admin".into());
        Ok(Session { role, variables, stringify_numeric: false })
    }

    /// A session variable's value; `name` in any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables.get(&name.to_ascii_lowercase()).map(|s| s.as_str())
    }

    /// The session as a JSON object with lower-cased keys (what `hasura.user` holds).
    /// It always names the role, as Hasura's session does: a request without a session is the
    /// admin's, and an event it causes records `{"x-hasura-role": "admin"}`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if !self.variables.contains_key("x-hasura-role") {
            m.insert("x-hasura-role".into(), Value::String(self.role.clone()));
        }
        m.extend(self.variables.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_session_json_always_names_the_role() {
        assert_eq!(Session::from_json(None).unwrap().to_json(), json!({"x-hasura-role": "admin"}));
        assert_eq!(Session::admin().to_json(), json!({"x-hasura-role": "admin"}));
        let s = Session::from_json(Some(&json!({"X-Hasura-User-Id": "7", "x-hasura-role": "user"}))).unwrap();
        assert_eq!(s.to_json(), json!({"x-hasura-user-id": "7", "x-hasura-role": "user"}));
    }
}
