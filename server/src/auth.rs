//! Who is calling. End users send a bearer JWT whose `sub` is the user and whose
//! `groups` claim lists their groups (HS256 with a shared secret, or RS256 with an
//! identity provider's public key). Process applications send a token whose `app` claim
//! names the application; they may only touch their own application's aggregates.
//! In development mode a request without a token acts as the configured user.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use taskpool_core::query::{StaticUserDirectory, UserDirectory, Viewer};

use crate::config::AuthConfig;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An end user with their groups.
    User { user: String, groups: Vec<String> },
    /// A process application (ingestion API).
    Application { name: String },
}

impl Caller {
    /// The viewer for queries: applications see nothing through the tasklist API.
    pub fn viewer(&self) -> Option<Viewer> {
        match self {
            Caller::User { user, groups } => Some(Viewer::User {
                user: user.clone(),
                groups: groups.clone(),
            }),
            Caller::Application { .. } => None,
        }
    }
}

/// The claims of a Taskpool token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Set on process application tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("credentials are required: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header is not a bearer token")]
    NotBearer,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// Why the authenticator could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("secret file {path}: {source}")]
    Secret {
        path: String,
        source: std::io::Error,
    },
    #[error("RS256 public key {path}: {message}")]
    PublicKey { path: String, message: String },
    #[error("users file {path}: {message}")]
    Users { path: String, message: String },
    #[error("the configured HS256 secret has {0} bytes: at least 32 are needed (anyone could guess a shorter one)")]
    WeakSecret(usize),
    #[error("signing: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

/// The HS256 secret: configured, or the data directory's own (created on first start).
pub fn load_or_create_secret(
    data_dir: &Path,
    configured: Option<&str>,
) -> Result<Vec<u8>, AuthSetupError> {
    if let Some(s) = configured {
        if s.len() < MIN_SECRET_BYTES {
            return Err(AuthSetupError::WeakSecret(s.len()));
        }
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join("jwt-secret");
    let err = |source| AuthSetupError::Secret {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // Written to a temporary file created 0600 (never readable by others, not even
    // briefly) and renamed: two processes starting at once agree.
    let tmp = data_dir.join(format!("jwt-secret.{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(err)?;
        file.write_all(secret.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)?;
    }
    if path.exists() {
        let _ = std::fs::remove_file(&tmp);
        let text = std::fs::read_to_string(&path).map_err(err)?;
        return Ok(text.trim().as_bytes().to_vec());
    }
    std::fs::rename(&tmp, &path).map_err(err)?;
    tracing::info!(path = %path.display(), "generated a token secret for this data directory");
    Ok(secret.into_bytes())
}

/// The shortest HS256 secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}

/// Signs a user token (HS256).
pub fn user_token(
    secret: &[u8],
    user: &str,
    groups: &[String],
    ttl_secs: u64,
) -> Result<String, AuthSetupError> {
    sign(
        secret,
        &Claims {
            sub: user.to_string(),
            groups: groups.to_vec(),
            app: None,
            iat: now_secs(),
            exp: now_secs() + ttl_secs,
            iss: None,
        },
    )
}

/// Signs a process application token (HS256).
pub fn application_token(
    secret: &[u8],
    app: &str,
    ttl_secs: u64,
) -> Result<String, AuthSetupError> {
    sign(
        secret,
        &Claims {
            sub: format!("app:{app}"),
            groups: Vec::new(),
            app: Some(app.to_string()),
            iat: now_secs(),
            exp: now_secs() + ttl_secs,
            iss: None,
        },
    )
}

fn sign(secret: &[u8], claims: &Claims) -> Result<String, AuthSetupError> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )?)
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    secret: Arc<Vec<u8>>,
    hs256: DecodingKey,
    rs256: Option<DecodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
    hs256_user_tokens: bool,
    dev_user: Option<String>,
    users: Arc<StaticUserDirectory>,
}

impl Authenticator {
    pub fn new(data_dir: &Path, config: &AuthConfig) -> Result<Self, AuthSetupError> {
        let secret = load_or_create_secret(data_dir, config.hs256_secret.as_deref())?;
        let rs256 = match &config.rs256_public_key_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| AuthSetupError::PublicKey {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                Some(
                    DecodingKey::from_rsa_pem(&pem).map_err(|e| AuthSetupError::PublicKey {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let users = match &config.users_file {
            Some(path) => {
                let err = |message: String| AuthSetupError::Users {
                    path: path.display().to_string(),
                    message,
                };
                let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
                StaticUserDirectory::from_toml(&text).map_err(|e| err(e.to_string()))?
            }
            None => StaticUserDirectory::default(),
        };
        Ok(Self {
            hs256: DecodingKey::from_secret(&secret),
            secret: Arc::new(secret),
            rs256,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            hs256_user_tokens: config.hs256_user_tokens,
            dev_user: config.dev_user.clone(),
            users: Arc::new(users),
        })
    }

    /// The users file (development mode), for the development login.
    pub fn users(&self) -> &StaticUserDirectory {
        &self.users
    }

    /// Adds users to the development directory (the example application's users).
    pub fn with_users(mut self, users: StaticUserDirectory) -> Self {
        self.users = Arc::new(users);
        self
    }

    /// The HS256 secret (to sign development tokens).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The caller of a request with this `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(header) = authorization else {
            return match &self.dev_user {
                Some(user) => Ok(Caller::User {
                    user: user.clone(),
                    groups: self.users.groups_of(user),
                }),
                None => Err(AuthError::Missing),
            };
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(AuthError::NotBearer)?
            .trim();
        self.verify(token)
    }

    /// Verifies a token (also used for `?access_token=` on event streams, which browsers
    /// cannot send headers with).
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let (key, alg) = match header.alg {
            Algorithm::HS256 => (&self.hs256, Algorithm::HS256),
            Algorithm::RS256 => match &self.rs256 {
                Some(k) => (k, Algorithm::RS256),
                None => return Err(AuthError::Invalid("RS256 tokens are not configured".into())),
            },
            other => {
                return Err(AuthError::Invalid(format!(
                    "algorithm {other:?} is not accepted"
                )))
            }
        };
        let mut validation = Validation::new(alg);
        // A token not valid yet is not valid; `exp` is required (60 s of leeway for
        // clocks apart), `iss` and `aud` when configured.
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .claims;
        if claims.sub.trim().is_empty() {
            return Err(AuthError::Invalid("the `sub` claim is empty".into()));
        }
        Ok(match claims.app {
            Some(name) if !name.trim().is_empty() => Caller::Application { name },
            Some(_) => return Err(AuthError::Invalid("the `app` claim is empty".into())),
            None if alg == Algorithm::HS256 && !self.hs256_user_tokens => {
                return Err(AuthError::Invalid(
                    "user tokens must come from the identity provider (RS256)".into(),
                ))
            }
            None => Caller::User {
                user: claims.sub,
                groups: claims.groups,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(dev_user: Option<&str>) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = AuthConfig {
            dev_user: dev_user.map(String::from),
            ..Default::default()
        };
        let a = Authenticator::new(dir.path(), &config).expect("authenticator");
        (dir, a)
    }

    #[test]
    fn a_signed_user_token_names_the_user_and_groups() {
        let (_dir, a) = auth(None);
        let t = user_token(a.secret(), "alice", &["support".into()], 60).expect("sign");
        assert_eq!(
            a.authenticate(Some(&format!("Bearer {t}"))).expect("valid"),
            Caller::User {
                user: "alice".into(),
                groups: vec!["support".into()]
            }
        );
        let t = application_token(a.secret(), "example", 60).expect("sign");
        assert_eq!(
            a.verify(&t).expect("valid"),
            Caller::Application {
                name: "example".into()
            }
        );
    }

    #[test]
    fn missing_foreign_expired_and_tampered_tokens_are_refused() {
        let (_dir, a) = auth(None);
        assert!(matches!(a.authenticate(None), Err(AuthError::Missing)));
        assert!(matches!(
            a.authenticate(Some("Basic x")),
            Err(AuthError::NotBearer)
        ));
        let foreign = user_token(b"another secret", "alice", &[], 60).expect("sign");
        assert!(a.verify(&foreign).is_err());
        let expired = sign(
            a.secret(),
            &Claims {
                sub: "alice".into(),
                groups: vec![],
                app: None,
                iat: 0,
                exp: 1,
                iss: None,
            },
        )
        .expect("sign");
        assert!(a.verify(&expired).is_err());
        let good = user_token(a.secret(), "alice", &[], 60).expect("sign");
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"admin","groups":["managers"],"exp":99999999999}"#);
        parts[1] = &forged;
        assert!(a.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn the_secret_survives_a_restart_and_dev_mode_acts_as_its_user() {
        let (dir, a) = auth(Some("bob"));
        let t = user_token(a.secret(), "carol", &[], 60).expect("sign");
        let again = Authenticator::new(dir.path(), &AuthConfig::default()).expect("again");
        assert!(again.verify(&t).is_ok());
        assert_eq!(
            a.authenticate(None).expect("dev"),
            Caller::User {
                user: "bob".into(),
                groups: vec![]
            }
        );
    }

    /// Signs arbitrary claims with any HMAC algorithm (what an attacker could send).
    fn forge(secret: &[u8], alg: Algorithm, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .expect("sign")
    }

    #[test]
    fn the_token_matrix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = "a shared secret of at least thirty-two bytes";
        let with = |adjust: &dyn Fn(&mut AuthConfig)| {
            let mut config = AuthConfig {
                hs256_secret: Some(secret.into()),
                ..Default::default()
            };
            adjust(&mut config);
            Authenticator::new(dir.path(), &config).expect("authenticator")
        };
        let a = with(&|_| {});
        let now = now_secs();
        let hs = |claims: serde_json::Value| forge(secret.as_bytes(), Algorithm::HS256, claims);
        // Good.
        assert!(a
            .verify(&hs(serde_json::json!({"sub": "alice", "exp": now + 60})))
            .is_ok());
        // alg none: an unsigned token.
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"sub":"alice","exp":{}}}"#, now + 60));
        let head = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(a.verify(&format!("{head}.{body}.")).is_err(), "alg none");
        // Another HMAC: not accepted.
        let hs384 = forge(
            secret.as_bytes(),
            Algorithm::HS384,
            serde_json::json!({"sub": "alice", "exp": now + 60}),
        );
        assert!(a.verify(&hs384).is_err(), "HS384");
        // Not valid yet, expired beyond the leeway, no exp.
        assert!(
            a.verify(&hs(
                serde_json::json!({"sub": "alice", "exp": now + 90_000, "nbf": now + 86_400})
            ))
            .is_err(),
            "nbf a day ahead"
        );
        assert!(
            a.verify(&hs(serde_json::json!({"sub": "alice", "exp": now - 120})))
                .is_err(),
            "expired"
        );
        assert!(
            a.verify(&hs(serde_json::json!({"sub": "alice"}))).is_err(),
            "no exp"
        );
        // An identity provider's `aud`: not judged without an audience setting...
        assert!(
            a.verify(&hs(
                serde_json::json!({"sub": "alice", "exp": now + 60, "aud": "taskpool"})
            ))
            .is_ok(),
            "aud, none configured"
        );
        // ... and required to match with one.
        let aud = with(&|c| c.audience = Some("taskpool".into()));
        assert!(aud
            .verify(&hs(
                serde_json::json!({"sub": "alice", "exp": now + 60, "aud": "taskpool"})
            ))
            .is_ok());
        assert!(
            aud.verify(&hs(
                serde_json::json!({"sub": "alice", "exp": now + 60, "aud": "other"})
            ))
            .is_err(),
            "wrong aud"
        );
        assert!(
            aud.verify(&hs(serde_json::json!({"sub": "alice", "exp": now + 60})))
                .is_err(),
            "missing aud"
        );
        // An issuer setting requires `iss`.
        let iss = with(&|c| c.issuer = Some("https://idp".into()));
        assert!(
            iss.verify(&hs(serde_json::json!({"sub": "alice", "exp": now + 60})))
                .is_err(),
            "missing iss"
        );
        assert!(iss
            .verify(&hs(
                serde_json::json!({"sub": "alice", "exp": now + 60, "iss": "https://idp"})
            ))
            .is_ok());
        // HS256 off for users: applications still use it.
        let idp = with(&|c| c.hs256_user_tokens = false);
        assert!(
            idp.verify(&hs(serde_json::json!({"sub": "alice", "exp": now + 60})))
                .is_err(),
            "HS256 user token"
        );
        assert!(idp
            .verify(&hs(
                serde_json::json!({"sub": "app:shop", "app": "shop", "exp": now + 60})
            ))
            .is_ok());
        // An empty or short configured secret is refused at start.
        for weak in ["", "short", &"x".repeat(31)] {
            let config = AuthConfig {
                hs256_secret: Some(weak.to_string()),
                ..Default::default()
            };
            assert!(
                matches!(
                    Authenticator::new(dir.path(), &config),
                    Err(AuthSetupError::WeakSecret(_))
                ),
                "{weak:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_secret_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _a) = auth(None);
        let mode = std::fs::metadata(dir.path().join("jwt-secret"))
            .expect("secret")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
