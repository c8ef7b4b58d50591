//! JWT mode: Hasura's `HASURA_GRAPHQL_JWT_SECRET` (one config) or `HASURA_GRAPHQL_JWT_SECRETS`
//! (several, picked by the token's `iss`). A config has a static `key` or a `jwk_url`; the
//! claims live under `claims_namespace`, at `claims_namespace_path`, or are assembled by
//! `claims_map`; the token comes from `Authorization: Bearer`, a cookie or a custom header.

use std::sync::Arc;

use axum::http::HeaderMap;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jsonpath::JsonPath;
use super::jwk::JwkCache;
use super::{denied, AuthError, Session};

const DEFAULT_NAMESPACE: &str = "https://hasura.io/jwt/claims";

#[derive(Deserialize, Debug, Clone, Default)]
pub struct JwtConfig {
    #[serde(rename = "type", default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub jwk_url: Option<String>,
    #[serde(default)]
    pub claims_namespace: Option<String>,
    #[serde(default)]
    pub claims_namespace_path: Option<String>,
    #[serde(default)]
    pub claims_format: Option<String>,
    #[serde(default)]
    pub claims_map: Option<Map<String, Value>>,
    #[serde(default)]
    pub audience: Option<Value>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub allowed_skew: Option<u64>,
    #[serde(default)]
    pub header: Option<TokenSource>,
}

/// Where the token is read from.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type")]
pub enum TokenSource {
    Authorization,
    Cookie { name: String },
    CustomHeader { name: String },
}

/// Where the Hasura claims are.
enum ClaimsAt {
    Namespace(String),
    Path(JsonPath),
    /// Session variable → JSONPath (with an optional default) or literal value.
    Map(Vec<(String, ClaimSpec)>),
}

enum ClaimSpec {
    Path(JsonPath, Option<Value>),
    Literal(Value),
}

enum Keys {
    Static(Algorithm, DecodingKey),
    Jwks(Option<Algorithm>, Arc<JwkCache>),
}

struct Provider {
    keys: Keys,
    claims: ClaimsAt,
    stringified: bool,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    skew: u64,
    source: TokenSource,
    /// What `/v1alpha1/config` lists for this config (Hasura's `JWTInfo`).
    info: Value,
}

pub struct JwtAuth {
    providers: Vec<Provider>,
}

fn parse_alg(name: &str) -> Result<Algorithm, String> {
    if name == "Ed25519" {
        return Ok(Algorithm::EdDSA);
    }
    name.parse().map_err(|_| format!("unsupported JWT type {name:?}"))
}

/// The public key of an X.509 certificate (PEM): the `subjectPublicKey` bits of its
/// `subjectPublicKeyInfo` (PKCS#1 for RSA, the point for EC, the raw key for Ed25519).
fn cert_public_key(pem_text: &str) -> Result<Vec<u8>, String> {
    use simple_asn1::ASN1Block::{BitString, Explicit, Sequence, Unknown};
    let bad = |why: &str| format!("JWT key: not a usable X.509 certificate ({why})");
    let p = pem::parse(pem_text.trim()).map_err(|e| bad(&e.to_string()))?;
    if p.tag() != "CERTIFICATE" {
        return Err(bad("PEM block is not a CERTIFICATE"));
    }
    let blocks = simple_asn1::from_der(p.contents()).map_err(|e| bad(&e.to_string()))?;
    let Some(Sequence(_, cert)) = blocks.first() else { return Err(bad("no certificate sequence")) };
    let Some(Sequence(_, tbs)) = cert.first() else { return Err(bad("no tbsCertificate")) };
    // version [0] (optional), serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    let skip = usize::from(matches!(tbs.first(), Some(Explicit(..) | Unknown(..))));
    let Some(Sequence(_, spki)) = tbs.get(skip + 5) else { return Err(bad("no subjectPublicKeyInfo")) };
    match spki.get(1) {
        Some(BitString(_, _, bits)) => Ok(bits.clone()),
        _ => Err(bad("no subjectPublicKey")),
    }
}

/// Hasura refuses an HMAC key shorter than the hash (`parseHmacKey`, with its message): 32
/// bytes for HS256, 48 for HS384, 64 for HS512.
fn hmac_key_long_enough(alg: Algorithm, key: &str) -> Result<(), String> {
    let bits = match alg {
        Algorithm::HS384 => 384,
        Algorithm::HS512 => 512,
        _ => 256,
    };
    if key.len() < bits / 8 {
        return Err(format!("Invalid JWK: Key size too small; should be atleast {} characters", bits / 8));
    }
    Ok(())
}

impl Provider {
    fn new(cfg: JwtConfig, client: &reqwest::Client) -> Result<Provider, String> {
        let keys = match (&cfg.key, &cfg.jwk_url) {
            (Some(_), Some(_)) => return Err("JWT config: use either `key` or `jwk_url`, not both".into()),
            (None, None) => return Err("JWT config: `key` or `jwk_url` is required".into()),
            (None, Some(url)) => Keys::Jwks(cfg.alg.as_deref().map(parse_alg).transpose()?, Arc::new(JwkCache::new(url.clone(), client.clone()))),
            (Some(key), None) => {
                let alg = parse_alg(cfg.alg.as_deref().ok_or("JWT config: `type` is required with `key`")?)?;
                let k = key.as_bytes();
                let cert = if key.contains("BEGIN CERTIFICATE") { Some(cert_public_key(key)?) } else { None };
                let dk = match (alg, cert) {
                    (Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512, _) => {
                        hmac_key_long_enough(alg, key)?;
                        DecodingKey::from_secret(k)
                    }
                    (Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512, c) => match c {
                        Some(der) => DecodingKey::from_rsa_der(&der),
                        None => DecodingKey::from_rsa_pem(k).map_err(|e| format!("JWT key: {e}"))?,
                    },
                    (Algorithm::ES256 | Algorithm::ES384, c) => match c {
                        Some(der) => DecodingKey::from_ec_der(&der),
                        None => DecodingKey::from_ec_pem(k).map_err(|e| format!("JWT key: {e}"))?,
                    },
                    (Algorithm::EdDSA, c) => match c {
                        Some(der) => DecodingKey::from_ed_der(&der),
                        None => DecodingKey::from_ed_pem(k).map_err(|e| format!("JWT key: {e}"))?,
                    },
                    (other, _) => return Err(format!("unsupported JWT type {other:?}")),
                };
                Keys::Static(alg, dk)
            }
        };
        let claims = if let Some(map) = cfg.claims_map {
            let mut specs = Vec::new();
            for (name, v) in map {
                let spec = match v.as_object().and_then(|o| o.get("path")).and_then(|p| p.as_str()) {
                    Some(path) => ClaimSpec::Path(JsonPath::parse(path)?, v.get("default").cloned()),
                    None => ClaimSpec::Literal(v),
                };
                specs.push((name.to_ascii_lowercase(), spec));
            }
            ClaimsAt::Map(specs)
        } else {
            match (cfg.claims_namespace, cfg.claims_namespace_path) {
                (Some(_), Some(_)) => return Err("JWT config: claims_namespace and claims_namespace_path are mutually exclusive".into()),
                (_, Some(path)) => ClaimsAt::Path(JsonPath::parse(&path)?),
                (ns, None) => ClaimsAt::Namespace(ns.unwrap_or_else(|| DEFAULT_NAMESPACE.into())),
            }
        };
        let stringified = match cfg.claims_format.as_deref() {
            None | Some("json") => false,
            Some("stringified_json") => true,
            Some(other) => return Err(format!("JWT config: unknown claims_format {other:?}")),
        };
        let info = config_info(&claims, stringified);
        let audience = match cfg.audience {
            None => None,
            Some(Value::String(a)) => Some(vec![a]),
            Some(Value::Array(a)) => Some(a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()),
            Some(_) => return Err("JWT config: audience must be a string or an array of strings".into()),
        };
        Ok(Provider {
            keys,
            claims,
            stringified,
            audience,
            issuer: cfg.issuer,
            skew: cfg.allowed_skew.unwrap_or(0),
            source: cfg.header.unwrap_or(TokenSource::Authorization),
            info,
        })
    }

    /// The token this provider reads from the request, if it is there.
    fn token(&self, h: &HeaderMap) -> Result<Option<String>, AuthError> {
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        match &self.source {
            TokenSource::Authorization => match get("authorization") {
                None => Ok(None),
                Some(a) => {
                    let mut parts = a.trim().splitn(2, ' ');
                    match (parts.next(), parts.next()) {
                        (Some(scheme), Some(token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                            Ok(Some(token.trim().to_string()))
                        }
                        _ => Err(denied(400, "invalid-headers", "Malformed Authorization header")),
                    }
                }
            },
            TokenSource::CustomHeader { name } => Ok(get(&name.to_ascii_lowercase()).map(|t| t.trim().to_string())),
            TokenSource::Cookie { name } => Ok(h
                .get_all("cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().trim_matches('"').to_string())),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        // Hasura's semantics: exp/nbf checked only when present, zero skew unless configured,
        // aud/iss only when configured, exactly one algorithm.
        let mut v = Validation::new(alg);
        v.required_spec_claims.clear();
        v.validate_exp = true;
        v.validate_nbf = true;
        v.leeway = self.skew;
        match &self.audience {
            Some(a) => {
                v.set_audience(a);
                // jsonwebtoken accepts a token without `aud` even with an audience set; jose
                // (Hasura) answers JWTNotInAudience.
                v.required_spec_claims.insert("aud".into());
            }
            None => v.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
        }
        v
    }

    /// The verified payload, or the error and whether the signature itself was verified.
    async fn verify(&self, token: &str) -> Result<Value, (AuthError, bool)> {
        let parts = token.split('.').count();
        if parts != 3 {
            // jose's message; jsonwebtoken would report a base64 error for some counts.
            return Err((invalid_jwt(format!("JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got {parts})")), false));
        }
        match &self.keys {
            Keys::Static(alg, key) => decode::<Value>(token, key, &self.validation(*alg)).map(|d| d.claims).map_err(jwt_error),
            Keys::Jwks(configured, cache) => {
                let header = decode_header(token).map_err(jwt_error)?;
                if configured.is_some_and(|a| a != header.alg) {
                    return Err((invalid_jwt("JWSError JWSInvalidSignature".into()), false));
                }
                let keys = cache
                    .keys(header.kid.as_deref())
                    .await
                    .map_err(|e| (denied(400, "invalid-jwt", format!("Could not verify JWT: {e}")), false))?;
                if keys.is_empty() {
                    return Err((invalid_jwt("JWSError (JWKNotFound)".into()), false));
                }
                let mut last = (invalid_jwt("JWSError JWSInvalidSignature".into()), false);
                for jwk in keys {
                    if jwk.common.key_algorithm.is_some_and(|ka| ka.to_string() != format!("{:?}", header.alg)) {
                        continue;
                    }
                    let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
                    match decode::<Value>(token, &key, &self.validation(header.alg)) {
                        Ok(d) => return Ok(d.claims),
                        Err(e) => last = jwt_error(e),
                    }
                }
                Err(last)
            }
        }
    }

    /// The Hasura claims (lower-cased keys) of a verified payload.
    fn claims(&self, payload: &Value) -> Result<Map<String, Value>, AuthError> {
        let raw = match &self.claims {
            ClaimsAt::Map(specs) => {
                let mut out = Map::new();
                for (name, spec) in specs {
                    let v = match spec {
                        ClaimSpec::Literal(v) => v.clone(),
                        ClaimSpec::Path(path, default) => match path.get(payload).or(default.as_ref()) {
                            Some(v) => v.clone(),
                            None => {
                                return Err(denied(400, "jwt-invalid-claims", format!("JWT claim from claims_map, {name} not found")));
                            }
                        },
                    };
                    out.insert(name.clone(), v);
                }
                return Ok(out);
            }
            ClaimsAt::Namespace(ns) => {
                payload.get(ns).cloned().ok_or_else(|| denied(400, "jwt-missing-role-claims", format!("claims key: '{ns}' not found")))?
            }
            ClaimsAt::Path(path) => path
                .get(payload)
                .cloned()
                .ok_or_else(|| denied(400, "jwt-missing-role-claims", "claims not found at claims_namespace_path"))?,
        };
        let claims = match (self.stringified, raw) {
            (true, Value::String(s)) => {
                serde_json::from_str(&s).map_err(|_| denied(400, "jwt-invalid-claims", "Could not decode stringified claims"))?
            }
            (_, other) => other,
        };
        match claims {
            Value::Object(m) => Ok(m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()),
            _ => Err(denied(400, "jwt-invalid-claims", "Expected object for the Hasura claims")),
        }
    }
}

fn invalid_jwt(what: String) -> AuthError {
    denied(400, "invalid-jwt", format!("Could not verify JWT: {what}"))
}

/// Hasura's message for a jsonwebtoken error (jose's error names, which clients match on,
/// reference §2.5 and ecosystem §1.1), and whether the signature was verified before it (the
/// claims checks come after).
fn jwt_error(e: jsonwebtoken::errors::Error) -> (AuthError, bool) {
    use jsonwebtoken::errors::ErrorKind::*;
    let (what, checked) = match e.kind() {
        ExpiredSignature => ("JWTExpired".to_string(), true),
        ImmatureSignature => ("JWTNotYetValid".to_string(), true),
        InvalidIssuer => ("JWTNotInIssuer".to_string(), true),
        InvalidAudience => ("JWTNotInAudience".to_string(), true),
        MissingRequiredClaim(c) if c == "aud" => ("JWTNotInAudience".to_string(), true),
        MissingRequiredClaim(c) if c == "iss" => ("JWTNotInIssuer".to_string(), true),
        MissingRequiredClaim(c) | InvalidClaimFormat(c) => (format!("JWTClaimsSetDecodeError \"invalid {c} claim\""), true),
        InvalidSubject => ("JWTClaimsSetDecodeError \"invalid sub claim\"".to_string(), true),
        // An algorithm the key cannot verify (`none` included) is a signature that does not
        // verify, not a malformed token.
        Json(j) if j.to_string().contains("unknown variant") => ("JWSError JWSInvalidSignature".to_string(), false),
        Json(j) => (format!("JWSError (JSONDecodeError {:?})", j.to_string()), false),
        Base64(b) => (format!("JWSError (CompactDecodeError Invalid Base64: {b})"), false),
        Utf8(u) => (format!("JWSError (JSONDecodeError {:?})", u.to_string()), false),
        InvalidToken => ("JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)".to_string(), false),
        _ => ("JWSError JWSInvalidSignature".to_string(), false),
    };
    (invalid_jwt(what), checked)
}

/// Session variables from the Hasura claims and the requested role: the `X-Hasura-Role`
/// header, or the default role when there is none. Either way the role must be one of the
/// allowed roles (Hasura's `processJwt_`), so a token cannot name a default role it is not
/// allowed (`"x-hasura-default-role": "admin"` with `"x-hasura-allowed-roles": ["user"]`).
/// A claim `x-hasura-use-backend-only-permissions` is dropped: only the admin secret opens
/// backend-only permissions.
fn session_from_claims(claims: Map<String, Value>, role_header: Option<&str>) -> Result<Session, AuthError> {
    let allowed: Vec<String> = match claims.get("x-hasura-allowed-roles") {
        None => return Err(denied(400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()
        }
        Some(_) => return Err(denied(400, "jwt-invalid-claims", "invalid x-hasura-allowed-roles; should be a list of roles")),
    };
    let default = match claims.get("x-hasura-default-role") {
        None => return Err(denied(400, "jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(denied(400, "jwt-invalid-claims", "invalid x-hasura-default-role; should be a single role name")),
    };
    // An empty header names no role (Hasura's `mkRoleName`).
    let role = role_header.filter(|r| !r.is_empty()).map(str::to_string).unwrap_or(default);
    if !allowed.contains(&role) {
        return Err(denied(400, "access-denied", "Your requested role is not in allowed roles"));
    }
    let mut vars = Map::new();
    for (k, v) in claims {
        if k.starts_with("x-hasura-")
            && k != "x-hasura-allowed-roles"
            && k != "x-hasura-default-role"
            && k != super::BACKEND_ONLY
        {
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

/// Hasura's `JWTInfo` (`Server/API/Config.hs`): `claims_namespace` (the namespace, or the
/// namespace path as its `encodeJSONPath` prints it), `claims_format` and `claims_map`. With a
/// claims map Hasura reports the default namespace and format, and the map with the default
/// role first, then the allowed roles, then the other claims; a path entry is
/// `{"path", "default"?}`, a literal is itself.
fn config_info(claims: &ClaimsAt, stringified: bool) -> Value {
    let spec_json = |spec: &ClaimSpec| match spec {
        ClaimSpec::Path(p, default) => {
            let mut o = Map::new();
            o.insert("path".into(), Value::String(p.encode()));
            if let Some(d) = default {
                o.insert("default".into(), d.clone());
            }
            Value::Object(o)
        }
        ClaimSpec::Literal(v) => v.clone(),
    };
    let format = |s: bool| Value::String(if s { "stringified_json" } else { "json" }.into());
    let (namespace, format, map) = match claims {
        ClaimsAt::Namespace(ns) => (ns.clone(), format(stringified), Value::Null),
        ClaimsAt::Path(p) => (p.encode(), format(stringified), Value::Null),
        ClaimsAt::Map(specs) => {
            let mut o = Map::new();
            for first in ["x-hasura-default-role", "x-hasura-allowed-roles"] {
                if let Some((_, spec)) = specs.iter().find(|(n, _)| n == first) {
                    o.insert(first.into(), spec_json(spec));
                }
            }
            for (name, spec) in specs {
                if !o.contains_key(name) {
                    o.insert(name.clone(), spec_json(spec));
                }
            }
            (DEFAULT_NAMESPACE.to_string(), format(false), Value::Object(o))
        }
    };
    serde_json::json!({"claims_namespace": namespace, "claims_format": format, "claims_map": map})
}

/// The `iss` of a token, read without verifying it (only to pick a config).
fn unverified_issuer(token: &str) -> Option<String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(token).ok()?.claims;
    claims.get("iss").and_then(|i| i.as_str()).map(str::to_string)
}

impl JwtAuth {
    /// From `HASURA_GRAPHQL_JWT_SECRET` and/or `HASURA_GRAPHQL_JWT_SECRETS`; `None` if neither.
    pub fn new(single: Option<&str>, many: Option<&str>, client: &reqwest::Client) -> Result<Option<JwtAuth>, String> {
        let mut configs: Vec<JwtConfig> = Vec::new();
        if let Some(text) = single {
            configs.push(serde_json::from_str(text).map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRET is not valid: {e}"))?);
        }
        if let Some(text) = many {
            let more: Vec<JwtConfig> = serde_json::from_str(text).map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRETS is not valid: {e}"))?;
            configs.extend(more);
        }
        if configs.is_empty() {
            return Ok(None);
        }
        let providers = configs.into_iter().map(|c| Provider::new(c, client)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(JwtAuth { providers }))
    }

    /// Each configuration as `/v1alpha1/config` lists it, in the order given.
    pub fn config_info(&self) -> Vec<Value> {
        self.providers.iter().map(|p| p.info.clone()).collect()
    }

    /// The JWK caches, to prefetch at startup.
    pub fn jwk_caches(&self) -> Vec<Arc<JwkCache>> {
        self.providers
            .iter()
            .filter_map(|p| match &p.keys {
                Keys::Jwks(_, c) => Some(c.clone()),
                Keys::Static(..) => None,
            })
            .collect()
    }

    /// `Ok(None)`: the request carries no token.
    #[cfg(test)]
    pub async fn session(&self, h: &HeaderMap, role_header: Option<&str>) -> Result<Option<Session>, AuthError> {
        Ok(self.session_until(h, role_header).await?.map(|(s, _)| s))
    }

    /// The session and the token's `exp` (Unix seconds), if it has one.
    pub async fn session_until(&self, h: &HeaderMap, role_header: Option<&str>) -> Result<Option<(Session, Option<u64>)>, AuthError> {
        let mut found: Vec<(&Provider, String)> = Vec::new();
        for p in &self.providers {
            if let Some(t) = p.token(h)? {
                found.push((p, t));
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        // Several configs: the token's issuer picks them; a config without an issuer matches
        // any token, and a token without `iss` matches any config. Configs naming the issuer
        // are tried first; the first that verifies the token wins.
        if found.len() > 1 {
            let iss = unverified_issuer(&found[0].1);
            found.retain(|(p, _)| p.issuer.is_none() || iss.is_none() || p.issuer == iss);
            found.sort_by_key(|(p, _)| p.issuer.is_none());
        }
        let mut first_error: Option<AuthError> = None;
        for (provider, token) in found {
            match provider.verify(&token).await {
                Ok(payload) => {
                    // jose (Hasura) also refuses tokens issued in the future.
                    let now = jsonwebtoken::get_current_timestamp();
                    if payload.get("iat").and_then(|i| i.as_f64()).is_some_and(|iat| iat > (now + provider.skew) as f64) {
                        return Err(invalid_jwt("JWTIssuedAtFuture".into()));
                    }
                    let claims = provider.claims(&payload)?;
                    let exp = payload.get("exp").and_then(Value::as_f64).map(|e| e.max(0.0) as u64);
                    return session_from_claims(claims, role_header).map(|s| Some((s, exp)));
                }
                // A token this config's key verified but rejected (expired, wrong audience …)
                // is the error to report; a signature that did not verify lets the next try.
                Err((e, signature_checked)) => {
                    if signature_checked {
                        return Err(e);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| invalid_jwt("JWTNotInIssuer".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn auth(cfg: &str) -> JwtAuth {
        JwtAuth::new(Some(cfg), None, &reqwest::Client::new()).unwrap().unwrap()
    }

    fn token(claims: Value) -> String {
        encode(&Header::default(), &claims, &EncodingKey::from_secret(KEY.as_bytes())).unwrap()
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    async fn session(a: &JwtAuth, h: HeaderMap) -> Result<Option<Session>, AuthError> {
        a.session(&h, None).await
    }

    #[tokio::test]
    async fn namespace_path_and_stringified() {
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "claims_namespace_path": "$.hasura.claims"}}"#));
        let t = token(json!({"hasura": {"claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "X-Hasura-User-Id": 7}}}));
        let s = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "7");
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "claims_namespace_path": "$", "claims_format": "stringified_json"}}"#));
        let t = token(json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}));
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().is_some());
        assert!(JwtAuth::new(Some(r#"{"type": "HS256", "key": "k", "claims_namespace": "a", "claims_namespace_path": "$"}"#), None, &reqwest::Client::new()).is_err());
    }

    #[tokio::test]
    async fn issued_in_the_future() {
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}"}}"#));
        let c = |iat: u64| json!({"iat": iat, "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}});
        let now = jsonwebtoken::get_current_timestamp();
        assert!(session(&a, headers(&[("authorization", format!("Bearer {}", token(c(now - 5))))])).await.unwrap().is_some());
        let e = session(&a, headers(&[("authorization", format!("Bearer {}", token(c(now + 600))))])).await.unwrap_err();
        assert_eq!(e.message, "Could not verify JWT: JWTIssuedAtFuture");
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "allowed_skew": 900}}"#));
        assert!(session(&a, headers(&[("authorization", format!("Bearer {}", token(c(now + 600))))])).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn claims_map() {
        let a = auth(&format!(
            r#"{{"type": "HS256", "key": "{KEY}", "claims_map": {{
                "x-hasura-allowed-roles": {{"path": "$.roles"}},
                "x-hasura-default-role": {{"path": "$.roles[0]"}},
                "x-hasura-user-id": {{"path": "$.user.id", "default": "anon"}},
                "x-hasura-org": "acme"}}}}"#
        ));
        let t = token(json!({"roles": ["editor", "user"], "user": {"id": 42}}));
        let s = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().unwrap();
        assert_eq!(s["x-hasura-role"], "editor");
        assert_eq!(s["x-hasura-user-id"], "42");
        assert_eq!(s["x-hasura-org"], "acme");
        let t = token(json!({"roles": ["user"]}));
        let s = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().unwrap();
        assert_eq!(s["x-hasura-user-id"], "anon");
        let t = token(json!({"user": {}}));
        let e = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap_err();
        assert_eq!(e.code, "jwt-invalid-claims");
    }

    #[test]
    fn config_listing() {
        let many = format!(
            r#"[{{"type": "HS256", "key": "{KEY}"}},
                {{"type": "HS256", "key": "{KEY}", "claims_namespace": "https://x.io/c", "claims_format": "stringified_json"}},
                {{"type": "HS256", "key": "{KEY}", "claims_namespace_path": "$.['https://myapp.com/jwt/claims'].hasura"}},
                {{"type": "HS256", "key": "{KEY}", "claims_format": "stringified_json", "claims_map": {{
                    "X-Hasura-User-Id": {{"path": "$.user.id", "default": "anon"}},
                    "x-hasura-allowed-roles": {{"path": "$.roles"}},
                    "x-hasura-default-role": "user",
                    "x-hasura-org": "acme"}}}}]"#
        );
        let a = JwtAuth::new(None, Some(&many), &reqwest::Client::new()).unwrap().unwrap();
        let info = a.config_info();
        assert_eq!(info[0], json!({"claims_namespace": "https://hasura.io/jwt/claims", "claims_format": "json", "claims_map": null}));
        assert_eq!(info[1], json!({"claims_namespace": "https://x.io/c", "claims_format": "stringified_json", "claims_map": null}));
        assert_eq!(info[2], json!({"claims_namespace": "$[\"https://myapp.com/jwt/claims\"].hasura", "claims_format": "json", "claims_map": null}));
        let map = &info[3]["claims_map"];
        assert_eq!(info[3]["claims_namespace"], "https://hasura.io/jwt/claims");
        assert_eq!(info[3]["claims_format"], "json");
        let order: Vec<&str> = map.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(order, ["x-hasura-default-role", "x-hasura-allowed-roles", "x-hasura-user-id", "x-hasura-org"]);
        assert_eq!(map["x-hasura-user-id"], json!({"path": "$.user.id", "default": "anon"}));
        assert_eq!(map["x-hasura-allowed-roles"], json!({"path": "$.roles"}));
        assert_eq!(map["x-hasura-default-role"], "user");
    }

    #[tokio::test]
    async fn dot_before_bracket_in_claims_map() {
        let a = auth(&format!(
            r#"{{"type": "HS256", "key": "{KEY}", "claims_map": {{
                "x-hasura-allowed-roles": {{"path": "$.['https://myapp.com/jwt/claims'].roles"}},
                "x-hasura-default-role": {{"path": "$.['https://myapp.com/jwt/claims'].roles[0]"}},
                "x-hasura-user-id": {{"path": "$.['https://myapp.com/jwt/claims'].user.id"}}}}}}"#
        ));
        let t = token(json!({"https://myapp.com/jwt/claims": {"roles": ["user"], "user": {"id": "u1"}}}));
        let s = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().unwrap();
        assert_eq!((s["x-hasura-role"].as_str(), s["x-hasura-user-id"].as_str()), (Some("user"), Some("u1")));
    }

    #[tokio::test]
    async fn cookie_and_custom_header() {
        let claims = json!({"https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}});
        let t = token(claims);
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "header": {{"type": "Cookie", "name": "jwt"}}}}"#));
        let s = session(&a, headers(&[("cookie", format!("a=b; jwt={t}; c=d"))])).await.unwrap();
        assert!(s.is_some());
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().is_none());
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "header": {{"type": "CustomHeader", "name": "X-Token"}}}}"#));
        assert!(session(&a, headers(&[("x-token", t.clone())])).await.unwrap().is_some());
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}"}}"#));
        let e = session(&a, headers(&[("authorization", format!("Basic {t}"))])).await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("invalid-headers", "Malformed Authorization header"));
    }

    /// A self-signed certificate (`openssl req -x509 -newkey rsa:2048 -subj /CN=graft-test`).
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIDCzCCAfOgAwIBAgIUe3v8thcV/blG/Wrj0KJOO0R6v8cwDQYJKoZIhvcNAQEL\nBQAwFTETMBEGA1UEAwwKZ3JhZnQtdGVzdDAeFw0yNjExMjUxMDE0NTBaFw0zNjEx\nMjIxMDE0NTBaMBUxEzARBgNVBAMMCmdyYWZ0LXRlc3QwggEiMA0GCSqGSIb3DQEB\nAQUAA4IBDwAwggEKAoIBAQCl++1ipRNuJvRP7c+LrxxPXtJX5VKXXwAI8+AO2999\n9o5ZD5kQShmA0eoY7zcEckN47D0bTkGHBUoq4s2tmoS2wy/hIKX1DaZDAuQII4ua\n4g+Cd5GmCeIlzaRgbiS7TXSJKfj2XHcQ4Wo8/8nkgexV0PSS1cra1NbxrTmsVQPZ\nsf4J0Mk/DPwGTkl+5BgPIXG5FM/K02maKzcP+YnEZsL7soS7sN8mFResUY/SRxIZ\nldE9OoE/31Enw0M83XmopIQhwoG69+ItxE/+m0WgZUY460TKTtDjWk9lULLqJkpK\nZSL23lsf3xR0SJ33KkMRpxEPqnAg40/6qN9e4dLmq3pFAgMBAAGjUzBRMB0GA1Ud\nDgQWBBSx66xACDY2uNBnsZUaeuunIh38KTAfBgNVHSMEGDAWgBSx66xACDY2uNBn\nsZUaeuunIh38KTAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQAw\n34XaieZBy6Uz3rGAJIMAQW1WKHB8OWSkZ5s5YzhOLvMGCss+cfxt0emirXa+IhPR\nFquFLp6LpXwz8X7QA51g9tY1Y2YCMG939isuLB/99i+WU/2v6JRDzA1hxDsEEV60\n9Sm7UmSIGbRbuaj5Tg/Q4JrrbWMBOq1xk3+FG6DWN+neIxhGvsCZ/S9+s2huXkIA\nAO4U95PfMspR+tgKH7z93OhflhnxjD2RyTt8zStARSS91mRcXZevEsoDcLEseTJ4\n6KEDb2BLe5qQqDrnyjIUA7++a9KhF4+G96NoNLYJ7E3FwJHFEQma0ZMj+TU1aeMw\nGKCJWH47x0g4KbREaLGv\n-----END CERTIFICATE-----";

    #[test]
    fn x509_certificate_keys() {
        let der = cert_public_key(CERT).unwrap();
        // PKCS#1 RSAPublicKey: SEQUENCE { modulus (2048 bits), exponent 65537 }.
        assert_eq!(der[0], 0x30);
        assert!(der.len() > 256 && der.ends_with(&[0x02, 0x03, 0x01, 0x00, 0x01]), "{der:?}");
        let cfg = serde_json::json!({"type": "RS256", "key": CERT}).to_string();
        assert!(JwtAuth::new(Some(&cfg), None, &reqwest::Client::new()).is_ok());
        let not_cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----";
        assert!(cert_public_key(not_cert).is_err());
    }

    #[tokio::test]
    async fn several_configs_by_issuer() {
        let other = "fedcba9876543210fedcba9876543210";
        let many = format!(r#"[{{"type": "HS256", "key": "{KEY}", "issuer": "one"}}, {{"type": "HS256", "key": "{other}", "issuer": "two"}}]"#);
        let a = JwtAuth::new(None, Some(&many), &reqwest::Client::new()).unwrap().unwrap();
        let claims = |iss: &str| json!({"iss": iss, "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}});
        let t2 = encode(&Header::default(), &claims("two"), &EncodingKey::from_secret(other.as_bytes())).unwrap();
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t2}"))])).await.unwrap().is_some());
        let t1 = token(claims("one"));
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t1}"))])).await.unwrap().is_some());
        let t3 = token(claims("three"));
        assert_eq!(session(&a, headers(&[("authorization", format!("Bearer {t3}"))])).await.unwrap_err().code, "invalid-jwt");
        // An issuer-less config matches every token; each candidate is tried in turn, and a
        // verified-but-rejected token reports its own error.
        let many = format!(r#"[{{"type": "HS256", "key": "{KEY}"}}, {{"type": "HS256", "key": "{other}", "issuer": "two"}}]"#);
        let a = JwtAuth::new(None, Some(&many), &reqwest::Client::new()).unwrap().unwrap();
        let no_iss = json!({"https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}});
        let t = encode(&Header::default(), &no_iss, &EncodingKey::from_secret(other.as_bytes())).unwrap();
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap().is_some());
        assert!(session(&a, headers(&[("authorization", format!("Bearer {t2}"))])).await.unwrap().is_some());
        let mut expired = no_iss.clone();
        expired["exp"] = json!(1);
        let t = token(expired);
        let e = session(&a, headers(&[("authorization", format!("Bearer {t}"))])).await.unwrap_err();
        assert_eq!(e.message, "Could not verify JWT: JWTExpired");
    }

    fn user_claims() -> Value {
        json!({"https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}})
    }

    async fn message(a: &JwtAuth, token: &str) -> String {
        match session(a, headers(&[("authorization", format!("Bearer {token}"))])).await {
            Ok(_) => "accepted".into(),
            Err(e) => {
                assert_eq!(e.code, "invalid-jwt", "{e:?}");
                e.message
            }
        }
    }

    #[tokio::test]
    async fn hasura_messages() {
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}"}}"#));
        assert_eq!(message(&a, "abc").await, "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)");
        assert_eq!(message(&a, "a.b.c.d").await, "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 4)");
        let t = token(user_claims());
        let wrong_key = encode(&Header::default(), &user_claims(), &EncodingKey::from_secret(b"another-key-0123456789abcdef012345")).unwrap();
        assert_eq!(message(&a, &wrong_key).await, "Could not verify JWT: JWSError JWSInvalidSignature");
        let hs384 = encode(&Header::new(Algorithm::HS384), &user_claims(), &EncodingKey::from_secret(KEY.as_bytes())).unwrap();
        assert_eq!(message(&a, &hs384).await, "Could not verify JWT: JWSError JWSInvalidSignature");
        assert_eq!(message(&a, &t).await, "accepted");
        let mut garbled = t.clone();
        garbled.insert(3, '*');
        assert!(message(&a, &garbled).await.starts_with("Could not verify JWT: JWSError ("));
    }

    #[tokio::test]
    async fn audience_and_issuer() {
        let a = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "audience": ["app", "other"], "issuer": "me"}}"#));
        let with = |extra: Value| {
            let mut c = user_claims();
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            token(c)
        };
        assert_eq!(message(&a, &with(json!({"aud": "app", "iss": "me"}))).await, "accepted");
        assert_eq!(message(&a, &with(json!({"aud": ["x", "other"], "iss": "me"}))).await, "accepted");
        assert_eq!(message(&a, &with(json!({"aud": "nope", "iss": "me"}))).await, "Could not verify JWT: JWTNotInAudience");
        assert_eq!(message(&a, &with(json!({"iss": "me"}))).await, "Could not verify JWT: JWTNotInAudience");
        assert_eq!(message(&a, &with(json!({"aud": "app", "iss": "you"}))).await, "Could not verify JWT: JWTNotInIssuer");
        // A token without `iss` matches a config naming one (reference §3.1).
        assert_eq!(message(&a, &with(json!({"aud": "app"}))).await, "accepted");
    }

    #[tokio::test]
    async fn allowed_skew_on_exp() {
        let expired = {
            let mut c = user_claims();
            c["exp"] = json!(jsonwebtoken::get_current_timestamp() - 5);
            token(c)
        };
        let strict = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}"}}"#));
        assert_eq!(message(&strict, &expired).await, "Could not verify JWT: JWTExpired");
        let lenient = auth(&format!(r#"{{"type": "HS256", "key": "{KEY}", "allowed_skew": 10}}"#));
        assert_eq!(message(&lenient, &expired).await, "accepted");
    }

    #[test]
    fn short_hmac_keys_are_refused() {
        let cfg = |alg: &str, len: usize| format!(r#"{{"type": "{alg}", "key": "{}"}}"#, "k".repeat(len));
        let new = |c: String| JwtAuth::new(Some(&c), None, &reqwest::Client::new()).map(|_| ());
        assert_eq!(new(cfg("HS256", 31)), Err("Invalid JWK: Key size too small; should be atleast 32 characters".into()));
        assert!(new(cfg("HS256", 32)).is_ok());
        assert_eq!(new(cfg("HS384", 47)), Err("Invalid JWK: Key size too small; should be atleast 48 characters".into()));
        assert!(new(cfg("HS384", 48)).is_ok());
        assert_eq!(new(cfg("HS512", 63)), Err("Invalid JWK: Key size too small; should be atleast 64 characters".into()));
        assert!(new(cfg("HS512", 64)).is_ok());
    }
}
