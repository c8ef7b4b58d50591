//! Authentication as Hasura does it: admin secrets (compared as sha256 digests in constant
//! time), JWT (`jwt`, keys from `jwk`), the auth webhook (`webhook`), the unauthorized role,
//! and — with no secret configured — admin unless `X-Hasura-Role` says otherwise. The result
//! is the session passed to `graphql.resolve`.

mod jsonpath;
pub mod jwk;
pub mod jwt;
pub mod webhook;

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub type Session = Map<String, Value>;

/// A failed authentication: HTTP status, Hasura error code and message.
#[derive(Debug, PartialEq)]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn denied(status: u16, code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError { status, code, message: message.into() }
}

pub struct Auth {
    secret_digests: Vec<[u8; 32]>,
    jwt: Option<jwt::JwtAuth>,
    webhook: Option<webhook::Webhook>,
    unauthorized_role: Option<String>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Credentials that are `x-hasura-*` headers but never session variables: Hasura's
/// `mkUserInfo` deletes both (`Session.hs`), so an admin secret cannot reach
/// `graphql.resolve`, `hasura.user`, triggers or event payloads.
const CREDENTIAL_HEADERS: [&str; 2] = ["x-hasura-admin-secret", "x-hasura-access-key"];

/// `x-hasura-*` request headers, lower-cased, as session variables.
fn session_headers(h: &HeaderMap) -> Session {
    h.iter()
        .filter(|(k, _)| k.as_str().starts_with("x-hasura-") && !CREDENTIAL_HEADERS.contains(&k.as_str()))
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), Value::String(v.to_string()))))
        .collect()
}

fn with_role(mut vars: Session, role: &str) -> Session {
    vars.entry("x-hasura-role".to_string()).or_insert(Value::String(role.into()));
    vars
}

impl Auth {
    pub fn new(
        admin_secrets: &[String],
        jwt: Option<jwt::JwtAuth>,
        webhook: Option<webhook::Webhook>,
        unauthorized_role: Option<String>,
    ) -> Result<Auth, String> {
        // Hasura's startup checks, with its messages.
        const NEEDS_SECRET: &str = " requires --admin-secret (HASURA_GRAPHQL_ADMIN_SECRET) to be set";
        if jwt.is_some() && webhook.is_some() {
            return Err("Fatal Error: Both webhook and JWT mode cannot be enabled at the same time".into());
        }
        if admin_secrets.is_empty() && webhook.is_some() {
            return Err(format!("Fatal Error: --auth-hook (HASURA_GRAPHQL_AUTH_HOOK){NEEDS_SECRET}"));
        }
        if admin_secrets.is_empty() && jwt.is_some() {
            return Err(format!("Fatal Error: --jwt-secret (HASURA_GRAPHQL_JWT_SECRET){NEEDS_SECRET}"));
        }
        if webhook.is_some() && unauthorized_role.is_some() {
            return Err("Fatal Error: --unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) is not allowed when --auth-hook (HASURA_GRAPHQL_AUTH_HOOK) is set".into());
        }
        Ok(Auth { secret_digests: admin_secrets.iter().map(|s| digest(s)).collect(), jwt, webhook, unauthorized_role })
    }

    pub fn jwt(&self) -> Option<&jwt::JwtAuth> {
        self.jwt.as_ref()
    }

    pub fn webhook_set(&self) -> bool {
        self.webhook.is_some()
    }

    pub fn admin_secret_set(&self) -> bool {
        !self.secret_digests.is_empty()
    }

    /// Whether `given` is one of the admin secrets (every digest is compared).
    pub fn secret_matches(&self, given: &str) -> bool {
        let d = digest(given);
        self.secret_digests.iter().fold(false, |acc, s| acc | bool::from(d.ct_eq(s)))
    }

    /// The session of a request, or why it is refused.
    pub async fn session(&self, h: &HeaderMap, request: Option<&Value>) -> Result<Session, AuthError> {
        self.authenticate(h, request).await.map(|g| g.session)
    }

    /// The session and the cookies the auth webhook sets. `request` is the GraphQL request
    /// body (sent to a POST auth webhook).
    pub async fn authenticate(&self, h: &HeaderMap, request: Option<&Value>) -> Result<webhook::Granted, AuthError> {
        let granted = |session| webhook::Granted { session, set_cookies: Vec::new() };
        let vars = session_headers(h);
        // No secret configured: everyone is admin unless a role is asked for.
        if self.secret_digests.is_empty() {
            return Ok(granted(with_role(vars, "admin")));
        }
        let given = header(h, "x-hasura-admin-secret").or_else(|| header(h, "x-hasura-access-key"));
        if let Some(g) = given {
            if self.secret_matches(g) {
                return Ok(granted(with_role(vars, "admin")));
            }
            return Err(denied(401, "access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key"));
        }
        if let Some(hook) = &self.webhook {
            return hook.session(h, request).await;
        }
        if let Some(jwt) = &self.jwt {
            if let Some(s) = jwt.session(h, header(h, "x-hasura-role")).await? {
                return Ok(granted(s));
            }
            if self.unauthorized_role.is_none() {
                return Err(denied(400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"));
            }
        }
        match &self.unauthorized_role {
            Some(role) => {
                let mut m = Map::new();
                m.insert("x-hasura-role".into(), Value::String(role.clone()));
                Ok(granted(m))
            }
            None => Err(denied(401, "access-denied", "x-hasura-admin-secret/x-hasura-access-key required, but not found")),
        }
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

    #[tokio::test]
    async fn no_secret_means_admin_unless_a_role_is_asked_for() {
        let a = Auth::new(&[], None, None, None).unwrap();
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap()["x-hasura-role"], "admin");
        let s = a.session(&headers(&[("x-hasura-role", "user"), ("x-hasura-user-id", "3")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "3");
    }

    #[test]
    fn startup_checks() {
        let jwt = || jwt::JwtAuth::new(Some(r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#), None, &reqwest::Client::new()).unwrap();
        let hook = || Some(webhook::Webhook::new("http://127.0.0.1:1/".into(), crate::config::HookMode::Get, true, reqwest::Client::new()));
        let e = |r: Result<Auth, String>| r.err().unwrap_or_default();
        assert!(e(Auth::new(&[], jwt(), None, None)).contains("requires --admin-secret"));
        assert!(e(Auth::new(&[], None, hook(), None)).contains("requires --admin-secret"));
        assert!(e(Auth::new(&["s".into()], jwt(), hook(), None)).contains("cannot be enabled at the same time"));
        assert!(e(Auth::new(&["s".into()], None, hook(), Some("anon".into()))).contains("is not allowed"));
        assert!(Auth::new(&["s".into()], jwt(), None, Some("anon".into())).is_ok());
    }

    #[tokio::test]
    async fn credentials_are_not_session_variables() {
        let a = Auth::new(&["s3cret".into()], None, None, None).unwrap();
        for given in [&[("x-hasura-admin-secret", "s3cret")][..], &[("x-hasura-access-key", "s3cret")][..]] {
            let mut pairs = given.to_vec();
            pairs.extend([("x-hasura-access-key", "s3cret"), ("x-hasura-user-id", "9")]);
            let s = a.session(&headers(&pairs), None).await.unwrap();
            assert_eq!(s["x-hasura-role"], "admin");
            assert_eq!(s["x-hasura-user-id"], "9");
            assert!(!s.contains_key("x-hasura-admin-secret") && !s.contains_key("x-hasura-access-key"), "{s:?}");
        }
        // Without a secret configured (everyone is admin) they are dropped too.
        let a = Auth::new(&[], None, None, None).unwrap();
        let s = a.session(&headers(&[("x-hasura-access-key", "k"), ("x-hasura-admin-secret", "k")]), None).await.unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
    }

    #[tokio::test]
    async fn admin_secret() {
        let a = Auth::new(&["other".into(), "s3cret".into()], None, None, None).unwrap();
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "s3cret")]), None).await.unwrap()["x-hasura-role"], "admin");
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "nope")]), None).await.unwrap_err().code, "access-denied");
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap_err().status, 401);
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "other")]), None).await.unwrap()["x-hasura-role"], "admin");
        let a = Auth::new(&["s3cret".into()], None, None, Some("anonymous".into())).unwrap();
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap()["x-hasura-role"], "anonymous");
    }

    #[tokio::test]
    async fn jwt_claims_and_role_switch() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let cfg = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#;
        let a = Auth::new(&["admin".into()], jwt::JwtAuth::new(Some(cfg), None, &reqwest::Client::new()).unwrap(), None, None).unwrap();
        let claims = serde_json::json!({"sub": "1", "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user", "editor"], "x-hasura-default-role": "user", "x-hasura-user-id": "42"}});
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
        let bearer = format!("Bearer {token}");
        let s = a.session(&headers(&[("authorization", &bearer)]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "42");
        let s = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "editor")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "editor");
        let e = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "admin")]), None).await.unwrap_err();
        assert_eq!(e.message, "Your requested role is not in allowed roles");
        let bad = format!("Bearer {}x", token);
        assert_eq!(a.session(&headers(&[("authorization", &bad)]), None).await.unwrap_err().code, "invalid-jwt");
        let expired = encode(
            &Header::default(),
            &serde_json::json!({"exp": 1, "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}}),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        let e = a.session(&headers(&[("authorization", &format!("Bearer {expired}"))]), None).await.unwrap_err();
        assert_eq!(e.message, "Could not verify JWT: JWTExpired");
        // alg none is refused.
        let none = format!("{}.{}.", b64("{\"alg\":\"none\"}"), b64(&claims.to_string()));
        assert_eq!(a.session(&headers(&[("authorization", &format!("Bearer {none}"))]), None).await.unwrap_err().code, "invalid-jwt");
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
