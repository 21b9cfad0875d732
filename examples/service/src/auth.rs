//! Who is calling: bearer tokens (JWTs as an OIDC provider issues them),
//! verified with the keys the configuration names.
//!
//! The token's `sub` is the actor's id; its `auth_time` (OIDC: when the
//! person last signed in) is the actor's `reauthenticated_at`, so the
//! library's rule that confirming needs a fresh sign-in is fed by the real
//! sign-in time; a token without `auth_time` can read but not confirm. A
//! claim the configuration names carries roles: the support operator role
//! makes the caller a support operator, the SSO super admin role lets a
//! person reach accounts other than their own (the library then checks that
//! they manage the account).
//!
//! Expiry (`exp`, required) and not-before (`nbf`, if present) are checked
//! against the service's clock, with a minute of leeway for clock skew; the
//! issuer (`iss`) and audience (`aud`) must be the configured ones. The
//! algorithm comes from the key, never from the token alone: an HMAC secret
//! accepts HS256/384/512, an RSA key RS* and PS*, an EC key ES256/384, and a
//! JWKS key with an `alg` only that one.

use std::collections::BTreeSet;

use axum::http::header;
/// The header types [`Authenticator::identify`] reads, for hosts built on
/// another HTTP stack.
pub use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use offboard::{Actor, ActorRole};
use serde::Deserialize;

/// How long past `exp` (and before `nbf`) a token is still taken, for
/// clocks that disagree a little.
pub const LEEWAY_SECONDS: i64 = 60;

/// Where verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file holding a shared HMAC secret (development; at least 32 bytes).
    Hs256SecretFile(String),
    /// A PEM file holding an RSA or EC public key.
    PublicKeyFile(String),
    /// A JSON Web Key Set file, as an OIDC provider publishes at `jwks_uri`.
    JwksFile(String),
}

/// The authentication settings a product sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The keys tokens may be signed with (at least one).
    pub keys: Vec<KeySource>,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// The `aud` every token must name.
    pub audience: String,
    /// The claim holding the caller's roles: a list of strings, or one
    /// space-separated string. Dots walk into objects
    /// (`realm_access.roles`).
    pub roles_claim: String,
    /// The role that makes a caller a support operator.
    pub operator_role: String,
    /// The role that lets a person act on the accounts their SSO
    /// organisation manages.
    pub sso_admin_role: String,
}

impl AuthConfig {
    /// The defaults for everything but keys, issuer and audience.
    pub fn new(issuer: &str, audience: &str) -> AuthConfig {
        AuthConfig {
            keys: Vec::new(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            roles_claim: "roles".to_owned(),
            operator_role: "offboard:support".to_owned(),
            sso_admin_role: "offboard:sso_super_admin".to_owned(),
        }
    }
}

/// How callers are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Nothing configured: every caller is anonymous, so only public
    /// endpoints answer. The service starts this way only on loopback.
    Unconfigured,
    /// Bearer tokens.
    Jwt(AuthConfig),
    /// The `x-offboard-actor` header, as the JSON of an `Actor`, is taken
    /// at its word (`--insecure-trust-actor-header`: local demos and tests).
    InsecureActorHeader,
}

/// A host's authentication flags, gathered as its parser meets them:
/// `--auth-hs256-secret-file`, `--auth-public-key`, `--auth-jwks` (keys,
/// repeatable), `--auth-issuer`, `--auth-audience`, `--auth-roles-claim`,
/// `--auth-operator-role`, `--auth-sso-admin-role`, and the switch
/// `--insecure-trust-actor-header`. The service and the Restate endpoint
/// take the same ones.
#[derive(Debug)]
pub struct AuthFlags {
    jwt: AuthConfig,
    insecure: bool,
    named: Vec<String>,
}

impl Default for AuthFlags {
    fn default() -> AuthFlags {
        AuthFlags {
            jwt: AuthConfig::new("", ""),
            insecure: false,
            named: Vec::new(),
        }
    }
}

impl AuthFlags {
    /// The switch among these flags, which takes no value.
    pub const SWITCH: &'static str = "--insecure-trust-actor-header";

    /// Whether `flag` is one of these that takes a value.
    pub fn takes_value(flag: &str) -> bool {
        matches!(
            flag,
            "--auth-hs256-secret-file"
                | "--auth-public-key"
                | "--auth-jwks"
                | "--auth-issuer"
                | "--auth-audience"
                | "--auth-roles-claim"
                | "--auth-operator-role"
                | "--auth-sso-admin-role"
        )
    }

    /// Takes `flag` with its `value` (none for [`AuthFlags::SWITCH`]).
    pub fn set(&mut self, flag: &str, value: Option<String>) -> Result<(), String> {
        if flag == Self::SWITCH {
            self.insecure = true;
            return Ok(());
        }
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        let jwt = &mut self.jwt;
        match flag {
            "--auth-hs256-secret-file" => jwt.keys.push(KeySource::Hs256SecretFile(value)),
            "--auth-public-key" => jwt.keys.push(KeySource::PublicKeyFile(value)),
            "--auth-jwks" => jwt.keys.push(KeySource::JwksFile(value)),
            named => {
                match named {
                    "--auth-issuer" => jwt.issuer = value,
                    "--auth-audience" => jwt.audience = value,
                    "--auth-roles-claim" => jwt.roles_claim = value,
                    "--auth-operator-role" => jwt.operator_role = value,
                    "--auth-sso-admin-role" => jwt.sso_admin_role = value,
                    other => return Err(format!("`{other}` is not an authentication flag")),
                }
                self.named.push(named.to_owned());
            }
        }
        Ok(())
    }

    /// The mode the flags name; see [`AuthMode::from_flags`].
    pub fn mode(self) -> Result<AuthMode, String> {
        AuthMode::from_flags(self.jwt, self.insecure, &self.named)
    }
}

impl AuthMode {
    /// The mode a host's flags name: token keys (with `jwt`'s issuer and
    /// audience), the insecure actor header, or neither. `named` lists the
    /// token flags given, which without a key are a mistake to report.
    pub fn from_flags(
        jwt: AuthConfig,
        insecure: bool,
        named: &[String],
    ) -> Result<AuthMode, String> {
        match (jwt.keys.is_empty(), insecure) {
            (false, true) => Err(
                "--insecure-trust-actor-header and token keys exclude each other: choose one"
                    .into(),
            ),
            (false, false) => {
                if jwt.issuer.is_empty() || jwt.audience.is_empty() {
                    return Err("token keys need --auth-issuer and --auth-audience".into());
                }
                Ok(AuthMode::Jwt(jwt))
            }
            (true, _) if !named.is_empty() => Err(format!(
                "{} without a key: add --auth-hs256-secret-file, --auth-public-key or --auth-jwks",
                named.join(", ")
            )),
            (true, true) => Ok(AuthMode::InsecureActorHeader),
            (true, false) => Ok(AuthMode::Unconfigured),
        }
    }
}

/// A caller the service has identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who they are, as the library sees them.
    pub actor: Actor,
    /// Whether they may reach accounts other than their own, for the
    /// library to check that they are those accounts' SSO super admin.
    pub sso_admin: bool,
}

/// Why a caller could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials at all.
    #[error("this endpoint needs a signed-in caller: send `Authorization: Bearer <token>`")]
    Missing,
    /// The token has expired (or is not valid yet).
    #[error("the token has expired; sign in again")]
    Expired,
    /// The token is not one this service accepts.
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

impl AuthError {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "authentication_required",
            AuthError::Expired => "token_expired",
            AuthError::Invalid(_) => "token_invalid",
        }
    }
}

#[derive(Debug)]
struct Key {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// Verifies bearer tokens: built once at start from an [`AuthConfig`].
#[derive(Debug)]
pub struct Verifier {
    keys: Vec<Key>,
    config: AuthConfig,
}

fn family_algorithms(family: AlgorithmFamily) -> Vec<Algorithm> {
    family.algorithms().to_vec()
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

impl Verifier {
    /// Loads the keys; an unreadable or unusable key is an error, so a
    /// service never starts believing it checks tokens it cannot check.
    pub fn new(config: &AuthConfig) -> Result<Verifier, String> {
        if config.keys.is_empty() {
            return Err("authentication needs at least one key (--auth-hs256-secret-file, --auth-public-key or --auth-jwks)".into());
        }
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err("authentication needs --auth-issuer and --auth-audience".into());
        }
        let mut keys = Vec::new();
        for source in &config.keys {
            match source {
                KeySource::Hs256SecretFile(path) => {
                    let bytes = read(path)?;
                    let secret = bytes.trim_ascii();
                    if secret.len() < 32 {
                        return Err(format!(
                            "`{path}`: an HMAC secret must be at least 32 bytes (this one is {})",
                            secret.len()
                        ));
                    }
                    keys.push(Key {
                        kid: None,
                        algorithms: family_algorithms(AlgorithmFamily::Hmac),
                        key: DecodingKey::from_secret(secret)
                            .map_err(|e| format!("`{path}`: {e}"))?,
                    });
                }
                KeySource::PublicKeyFile(path) => {
                    let pem = read(path)?;
                    let key = DecodingKey::from_rsa_pem(&pem)
                        .or_else(|_| DecodingKey::from_ec_pem(&pem))
                        .map_err(|_| format!("`{path}` is not a PEM RSA or EC public key"))?;
                    keys.push(Key {
                        kid: None,
                        algorithms: family_algorithms(key.family()),
                        key,
                    });
                }
                KeySource::JwksFile(path) => {
                    let text = read(path)?;
                    let set: JwkSet = serde_json::from_slice(&text)
                        .map_err(|e| format!("`{path}` is not a JWKS document: {e}"))?;
                    if set.keys.is_empty() {
                        return Err(format!("`{path}` holds no keys"));
                    }
                    for jwk in &set.keys {
                        let key = DecodingKey::from_jwk(jwk)
                            .map_err(|e| format!("`{path}`: a key cannot be used: {e}"))?;
                        let algorithms = match jwk.common.key_algorithm {
                            Some(alg) => {
                                let alg: Algorithm = alg.to_string().parse().map_err(|_| {
                                    format!("`{path}`: key algorithm {alg} cannot sign tokens")
                                })?;
                                vec![alg]
                            }
                            None => family_algorithms(key.family()),
                        };
                        if key.family() == AlgorithmFamily::Hmac {
                            return Err(format!(
                                "`{path}`: a JWKS file holds public keys, not shared secrets"
                            ));
                        }
                        keys.push(Key {
                            kid: jwk.common.key_id.clone(),
                            algorithms,
                            key,
                        });
                    }
                }
            }
        }
        Ok(Verifier {
            keys,
            config: config.clone(),
        })
    }

    /// Identifies the caller of a token, at the service's `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(format!("not a JWT ({e})")))?;
        let candidates: Vec<&Key> = self
            .keys
            .iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(wanted), Some(kid)) => wanted == kid,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(AuthError::Invalid(format!(
                "no configured key verifies {:?} tokens{}",
                header.alg,
                header
                    .kid
                    .as_deref()
                    .map(|k| format!(" with key id `{k}`"))
                    .unwrap_or_default()
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is the service's own clock, checked below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut last = AuthError::Invalid("no key verified it".into());
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return self.caller(data.claims, now),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = AuthError::Invalid(match e.kind() {
                        ErrorKind::InvalidIssuer => "it was issued by someone else".into(),
                        ErrorKind::InvalidAudience => "it is meant for another audience".into(),
                        ErrorKind::InvalidSignature => "its signature does not verify".into(),
                        ErrorKind::MissingRequiredClaim(claim) => {
                            format!("it has no `{claim}` claim")
                        }
                        other => format!("{other:?}"),
                    });
                    // A wrong issuer or audience is wrong under every key.
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn caller(&self, claims: Claims, now: DateTime<Utc>) -> Result<Caller, AuthError> {
        let now = now.timestamp();
        if claims.exp.saturating_add(LEEWAY_SECONDS) < now {
            return Err(AuthError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf.saturating_sub(LEEWAY_SECONDS) > now)
        {
            return Err(AuthError::Expired);
        }
        let id = offboard::model::UserId::new(&claims.sub)
            .map_err(|e| AuthError::Invalid(format!("its `sub` is not a user id: {e}")))?;
        // An identity provider's clock a little ahead is no reason to refuse;
        // a sign-in further in the future than the leeway is not one.
        let auth_time = match claims.auth_time {
            Some(t) if t > now.saturating_add(LEEWAY_SECONDS) => {
                return Err(AuthError::Invalid(
                    "its `auth_time` is in the future".into(),
                ))
            }
            Some(t) => Some(t.min(now)),
            None => None,
        };
        let reauthenticated_at = match auth_time {
            None => None,
            Some(t) => Some(
                DateTime::from_timestamp(t, 0)
                    .ok_or_else(|| AuthError::Invalid("its `auth_time` is out of range".into()))?,
            ),
        };
        let roles = roles(&claims.other, &self.config.roles_claim);
        let role = if roles.contains(self.config.operator_role.as_str()) {
            ActorRole::SupportOperator
        } else {
            ActorRole::User
        };
        Ok(Caller {
            sso_admin: roles.contains(self.config.sso_admin_role.as_str()),
            actor: Actor {
                id,
                role,
                reauthenticated_at,
            },
        })
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The roles in the claim at `path` (dots walk into objects): a list of
/// strings, or one space-separated string. Anything else is no roles.
fn roles<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> BTreeSet<&'a str> {
    let mut parts = path.split('.');
    let first = parts.next().and_then(|p| claims.get(p));
    let value = parts.fold(first, |value, part| value.and_then(|v| v.get(part)));
    match value {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        Some(serde_json::Value::String(text)) => text.split_whitespace().collect(),
        _ => BTreeSet::new(),
    }
}

/// How the running service identifies callers: built once at start from
/// the configured [`AuthMode`].
#[derive(Debug)]
pub enum Authenticator {
    /// Every caller is anonymous.
    Unconfigured,
    /// The `x-offboard-actor` header is taken at its word.
    InsecureActorHeader,
    /// Bearer tokens, checked by this verifier.
    Jwt(Verifier),
}

impl Authenticator {
    /// Loads the keys the mode names.
    pub fn new(mode: &AuthMode) -> Result<Authenticator, String> {
        Ok(match mode {
            AuthMode::Unconfigured => Authenticator::Unconfigured,
            AuthMode::InsecureActorHeader => Authenticator::InsecureActorHeader,
            AuthMode::Jwt(config) => Authenticator::Jwt(Verifier::new(config)?),
        })
    }

    /// Identifies the caller of a request: `Ok(None)` is an anonymous
    /// caller (no credentials sent); bad credentials are an error, never
    /// anonymous.
    pub fn identify(
        &self,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, AuthError> {
        match self {
            Authenticator::Unconfigured => Ok(None),
            Authenticator::InsecureActorHeader => {
                let Some(value) = headers.get("x-offboard-actor") else {
                    return Ok(None);
                };
                let text = value
                    .to_str()
                    .map_err(|_| AuthError::Invalid("x-offboard-actor is not text".into()))?;
                let actor: Actor = serde_json::from_str(text)
                    .map_err(|e| AuthError::Invalid(format!("x-offboard-actor: {e}")))?;
                // The header is taken at its word; the library still checks
                // that a person acting on someone else's account manages it.
                Ok(Some(Caller {
                    actor,
                    sso_admin: true,
                }))
            }
            Authenticator::Jwt(verifier) => {
                let Some(value) = headers.get(header::AUTHORIZATION) else {
                    return Ok(None);
                };
                let text = value.to_str().map_err(|_| {
                    AuthError::Invalid("the Authorization header is not text".into())
                })?;
                let token = text
                    .split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token.trim())
                    .ok_or_else(|| {
                        AuthError::Invalid(
                            "the Authorization header is not `Bearer <token>`".into(),
                        )
                    })?;
                verifier.verify(token, now).map(Some)
            }
        }
    }
}

/// Signs an HS256 token for development and load tests: `sub` signed in
/// at `now`, good for `ttl_seconds`, with `roles` in the `roles` claim. A
/// product's tokens come from its identity provider, never from this.
pub fn sign_dev_token(
    secret: &[u8],
    issuer: &str,
    audience: &str,
    sub: &str,
    roles: &[&str],
    now: DateTime<Utc>,
    ttl_seconds: i64,
) -> Result<String, String> {
    let claims = serde_json::json!({
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "iat": now.timestamp(),
        "exp": now.timestamp().saturating_add(ttl_seconds),
        "auth_time": now.timestamp(),
        "roles": roles,
    });
    let key =
        jsonwebtoken::EncodingKey::from_secret(secret.trim_ascii()).map_err(|e| e.to_string())?;
    jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|e| e.to_string())
}
