//! Authentication as Hasura does it: admin secret (compared in constant time), JWT, the
//! unauthorized role, and — with no secret configured — admin unless `X-Hasura-Role` says
//! otherwise. The result is the session passed to `graphql.resolve`.

use axum::http::HeaderMap;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A failed authentication: HTTP status, Hasura error code and message.
#[derive(Debug, PartialEq)]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn denied(status: u16, code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError { status, code, message: message.into() }
}

#[derive(Deserialize, Debug, Clone)]
pub struct JwtConfig {
    #[serde(rename = "type")]
    pub alg: String,
    pub key: String,
    #[serde(default)]
    pub claims_namespace: Option<String>,
    #[serde(default)]
    pub claims_format: Option<String>,
    #[serde(default)]
    pub audience: Option<Value>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub allowed_skew: Option<u64>,
}

pub struct Auth {
    secret_digest: Option<[u8; 32]>,
    jwt: Option<(JwtConfig, DecodingKey, Validation)>,
    unauthorized_role: Option<String>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `x-hasura-*` request headers, lower-cased, as session variables.
fn session_headers(h: &HeaderMap) -> Map<String, Value> {
    h.iter()
        .filter(|(k, _)| k.as_str().starts_with("x-hasura-") && k.as_str() != "x-hasura-admin-secret")
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), Value::String(v.to_string()))))
        .collect()
}

impl Auth {
    pub fn new(admin_secret: Option<&str>, jwt_secret: Option<&str>, unauthorized_role: Option<String>) -> Result<Auth, String> {
        let jwt = match jwt_secret {
            None => None,
            Some(text) => {
                let cfg: JwtConfig = serde_json::from_str(text).map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRET is not valid: {e}"))?;
                let alg: Algorithm = cfg.alg.parse().map_err(|_| format!("unsupported JWT type {:?}", cfg.alg))?;
                let key = match alg {
                    Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => DecodingKey::from_secret(cfg.key.as_bytes()),
                    Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
                        DecodingKey::from_rsa_pem(cfg.key.as_bytes()).map_err(|e| format!("JWT key: {e}"))?
                    }
                    Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(cfg.key.as_bytes()).map_err(|e| format!("JWT key: {e}"))?,
                    other => return Err(format!("unsupported JWT type {other:?}")),
                };
                // Hasura's semantics: exp/nbf checked only when present, zero skew unless
                // configured, aud/iss only when configured.
                let mut v = Validation::new(alg);
                v.required_spec_claims.clear();
                v.validate_exp = true;
                v.validate_nbf = true;
                v.leeway = cfg.allowed_skew.unwrap_or(0);
                match &cfg.audience {
                    Some(Value::String(a)) => v.set_audience(&[a]),
                    Some(Value::Array(a)) => v.set_audience(&a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>()),
                    _ => v.validate_aud = false,
                }
                if let Some(iss) = &cfg.issuer {
                    v.set_issuer(&[iss]);
                }
                Some((cfg, key, v))
            }
        };
        Ok(Auth { secret_digest: admin_secret.map(digest), jwt, unauthorized_role })
    }

    fn secret_matches(&self, given: &str) -> bool {
        match &self.secret_digest {
            Some(d) => bool::from(digest(given).ct_eq(d)),
            None => false,
        }
    }

    /// The session of a request, or why it is refused.
    pub fn session(&self, h: &HeaderMap) -> Result<Map<String, Value>, AuthError> {
        let mut vars = session_headers(h);
        let given = header(h, "x-hasura-admin-secret").or_else(|| header(h, "x-hasura-access-key"));
        // No secret configured: everyone is admin unless a role is asked for.
        if self.secret_digest.is_none() && self.jwt.is_none() {
            vars.entry("x-hasura-role".to_string()).or_insert(Value::String("admin".into()));
            return Ok(vars);
        }
        if let Some(g) = given {
            if self.secret_matches(g) {
                vars.entry("x-hasura-role".to_string()).or_insert(Value::String("admin".into()));
                return Ok(vars);
            }
            return Err(denied(401, "access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key"));
        }
        if let Some(jwt) = &self.jwt {
            if let Some(token) = header(h, "authorization").and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer "))) {
                return self.jwt_session(jwt, token.trim(), header(h, "x-hasura-role"));
            }
            if self.unauthorized_role.is_none() {
                return Err(denied(400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"));
            }
        }
        match &self.unauthorized_role {
            Some(role) => {
                let mut m = Map::new();
                m.insert("x-hasura-role".into(), Value::String(role.clone()));
                Ok(m)
            }
            None => Err(denied(401, "access-denied", "x-hasura-admin-secret/x-hasura-access-key required, but not found")),
        }
    }

    fn jwt_session(&self, jwt: &(JwtConfig, DecodingKey, Validation), token: &str, role_header: Option<&str>) -> Result<Map<String, Value>, AuthError> {
        let (cfg, key, validation) = jwt;
        let data = decode::<Value>(token, key, validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            let what = match e.kind() {
                ExpiredSignature => "JWTExpired".to_string(),
                InvalidIssuer => "JWTNotInIssuer".to_string(),
                InvalidAudience => "JWTNotInAudience".to_string(),
                InvalidSignature => "JWSError JWSInvalidSignature".to_string(),
                other => format!("{other:?}"),
            };
            denied(400, "invalid-jwt", format!("Could not verify JWT: {what}"))
        })?;
        let ns = cfg.claims_namespace.clone().unwrap_or_else(|| "https://hasura.io/jwt/claims".into());
        let mut claims = data.claims.get(&ns).cloned().ok_or_else(|| denied(400, "jwt-missing-role-claims", format!("claims key: '{ns}' not found")))?;
        if cfg.claims_format.as_deref() == Some("stringified_json") {
            if let Value::String(s) = &claims {
                claims = serde_json::from_str(s).map_err(|_| denied(400, "jwt-invalid-claims", "claims are not valid stringified JSON"))?;
            }
        }
        let claims = claims.as_object().cloned().ok_or_else(|| denied(400, "jwt-invalid-claims", "claims must be an object"))?;
        let lower: Map<String, Value> = claims.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let allowed: Vec<String> = lower
            .get("x-hasura-allowed-roles")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .ok_or_else(|| denied(400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles"))?;
        let default = lower
            .get("x-hasura-default-role")
            .and_then(|v| v.as_str())
            .ok_or_else(|| denied(400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role"))?;
        let role = match role_header {
            Some(r) if allowed.iter().any(|a| a == r) => r.to_string(),
            Some(_) => return Err(denied(400, "access-denied", "Your requested role is not in allowed roles")),
            None => default.to_string(),
        };
        let mut vars = Map::new();
        for (k, v) in lower {
            if k.starts_with("x-hasura-") && k != "x-hasura-allowed-roles" && k != "x-hasura-default-role" {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                vars.insert(k, Value::String(s));
            }
        }
        vars.insert("x-hasura-role".into(), Value::String(role));
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn no_secret_means_admin_unless_a_role_is_asked_for() {
        let a = Auth::new(None, None, None).unwrap();
        assert_eq!(a.session(&HeaderMap::new()).unwrap()["x-hasura-role"], "admin");
        let s = a.session(&headers(&[("x-hasura-role", "user"), ("x-hasura-user-id", "3")])).unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "3");
    }

    #[test]
    fn admin_secret() {
        let a = Auth::new(Some("s3cret"), None, None).unwrap();
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "s3cret")])).unwrap()["x-hasura-role"], "admin");
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "nope")])).unwrap_err().code, "access-denied");
        assert_eq!(a.session(&HeaderMap::new()).unwrap_err().status, 401);
        let a = Auth::new(Some("s3cret"), None, Some("anonymous".into())).unwrap();
        assert_eq!(a.session(&HeaderMap::new()).unwrap()["x-hasura-role"], "anonymous");
    }

    #[test]
    fn jwt_claims_and_role_switch() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let cfg = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#;
        let a = Auth::new(Some("admin"), Some(cfg), None).unwrap();
        let claims = serde_json::json!({"sub": "1", "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user", "editor"], "x-hasura-default-role": "user", "x-hasura-user-id": "42"}});
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
        let bearer = format!("Bearer {token}");
        let s = a.session(&headers(&[("authorization", &bearer)])).unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "42");
        let s = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "editor")])).unwrap();
        assert_eq!(s["x-hasura-role"], "editor");
        let e = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "admin")])).unwrap_err();
        assert_eq!(e.message, "Your requested role is not in allowed roles");
        let bad = format!("Bearer {}x", token);
        assert_eq!(a.session(&headers(&[("authorization", &bad)])).unwrap_err().code, "invalid-jwt");
        let expired = encode(
            &Header::default(),
            &serde_json::json!({"exp": 1, "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}}),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        let e = a.session(&headers(&[("authorization", &format!("Bearer {expired}"))])).unwrap_err();
        assert_eq!(e.message, "Could not verify JWT: JWTExpired");
        // alg none is refused.
        let none = format!("{}.{}.", b64("{\"alg\":\"none\"}"), b64(&claims.to_string()));
        assert_eq!(a.session(&headers(&[("authorization", &format!("Bearer {none}"))])).unwrap_err().code, "invalid-jwt");
    }

    fn b64(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (x as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
