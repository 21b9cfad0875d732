//! `Idempotency-Key` on every `POST`: a client that retries a command it
//! never heard back from (a timeout, a dropped connection) sends the same
//! key, and gets the answer the first attempt got instead of a second
//! command. The same key with another body is refused.
//!
//! Keys belong to the caller who sent them (two callers may use the same
//! key) and are kept for [`RETENTION_SECONDS`]. A key is reserved before
//! the command runs, so two attempts racing with one key run it once: the
//! second is answered 409 `idempotency_key_in_flight` until the first has
//! answered. An answer of 5xx (the database was away) is not kept, so the
//! retry runs the command again. A reservation whose process died before
//! answering is taken over after [`ABANDONED_SECONDS`]; the command then
//! runs again, which the library makes harmless (a second request or
//! confirm is refused as being in the wrong state, and changes nothing).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::auth::Caller;
use crate::error::ServiceError;
use crate::store::{timestamp, Store};
use crate::App;

/// How long an answer is kept for replays.
pub const RETENTION_SECONDS: i64 = 24 * 3_600;
/// How long a reservation without an answer blocks its key.
pub const ABANDONED_SECONDS: i64 = 60;
/// The longest key taken.
pub const MAX_KEY_LENGTH: usize = 255;
/// The largest answer kept (a larger one is answered but not kept, and a
/// retry runs the command again).
const MAX_KEPT_ANSWER: usize = 8 * 1024 * 1024;

/// What a reservation found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reserved {
    /// The key is new (or abandoned): run the command.
    Run,
    /// The key answered before: replay this.
    Replay {
        /// The status of the first answer.
        status: u16,
        /// Its JSON body.
        body: String,
        /// Its ETag, if it had one.
        etag: Option<String>,
    },
    /// Another attempt with this key is running.
    InFlight,
    /// The key was used for another request.
    Reused,
}

impl Store {
    /// Reserves `key` for `caller`'s request with this `fingerprint`.
    pub async fn reserve_key(
        &self,
        caller: &str,
        key: &str,
        fingerprint: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reserved, ServiceError> {
        let now = timestamp(now);
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(now - RETENTION_SECONDS)
            .execute(&self.pool)
            .await?;
        // Twice at most: a row purged or freed between the two statements
        // makes the key new again.
        for _ in 0..2 {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (caller, key, fingerprint, status, response, etag, created_at)
                 VALUES ($1, $2, $3, NULL, NULL, NULL, $4) ON CONFLICT (caller, key) DO NOTHING",
            )
            .bind(caller)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(Reserved::Run);
            }
            let row = sqlx::query(
                "SELECT fingerprint, status, response, etag, created_at FROM idempotency_keys
                 WHERE caller = $1 AND key = $2",
            )
            .bind(caller)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            let stored: String = row.try_get(0)?;
            if stored != fingerprint {
                return Ok(Reserved::Reused);
            }
            let status: Option<i64> = row.try_get(1)?;
            if let Some(status) = status {
                return Ok(Reserved::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    body: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                    etag: row.try_get(3)?,
                });
            }
            let created: i64 = row.try_get(4)?;
            if created > now - ABANDONED_SECONDS {
                return Ok(Reserved::InFlight);
            }
            // Abandoned: take it over, unless another attempt just did.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET created_at = $1
                 WHERE caller = $2 AND key = $3 AND status IS NULL AND created_at = $4",
            )
            .bind(now)
            .bind(caller)
            .bind(key)
            .bind(created)
            .execute(&self.pool)
            .await?;
            return Ok(if taken.rows_affected() == 1 {
                Reserved::Run
            } else {
                Reserved::InFlight
            });
        }
        Ok(Reserved::InFlight)
    }

    /// Keeps the answer of a reserved key.
    pub async fn keep_answer(
        &self,
        caller: &str,
        key: &str,
        status: u16,
        body: &str,
        etag: Option<&str>,
    ) -> Result<(), ServiceError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, response = $2, etag = $3
             WHERE caller = $4 AND key = $5",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(etag)
        .bind(caller)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Frees a reserved key whose attempt did not answer for good.
    pub async fn forget_key(&self, caller: &str, key: &str) -> Result<(), ServiceError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status IS NULL",
        )
        .bind(caller)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The middleware: runs inside [`crate::api::authorize`], so the caller
/// is known.
pub async fn idempotent(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get("idempotency-key") else {
        return next.run(request).await;
    };
    let key = match value.to_str() {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY_LENGTH
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            key.to_owned()
        }
        _ => {
            return ServiceError::BadHeader(
                "Idempotency-Key",
                format!("1 to {MAX_KEY_LENGTH} visible ASCII characters"),
            )
            .into_response()
        }
    };
    let Some(caller) = request
        .extensions()
        .get::<Caller>()
        .map(|c| c.actor.id.to_string())
    else {
        // Only signed-in callers POST; without one there is nothing to key.
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, app.config.limits.body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let code = offboard::ErrorCode::InputTooLarge;
            let body = serde_json::json!({ "code": code.as_str(), "number": code.number(),
                "message": "the request body is larger than this service accepts" });
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response();
        }
    };
    let mut digest = Sha256::new();
    digest.update(parts.method.as_str());
    digest.update([0]);
    digest.update(parts.uri.path());
    digest.update([0]);
    digest.update(&bytes);
    let fingerprint = hex(&digest.finalize());
    let reserved = match app
        .store
        .reserve_key(&caller, &key, &fingerprint, app.clock.now())
        .await
    {
        Ok(reserved) => reserved,
        Err(e) => return e.into_response(),
    };
    match reserved {
        Reserved::Reused => return refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request: use a new key for a new request",
        ),
        Reserved::InFlight => {
            return refusal(
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still running: wait for it, then retry",
            )
        }
        Reserved::Replay { status, body, etag } => {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            let headers = response.headers_mut();
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
                headers.insert(header::ETAG, etag);
            }
            return response;
        }
        Reserved::Run => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    // Our own handlers' answer, already in memory: no limit to apply.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return ServiceError::Corrupt(format!("an answer could not be read: {e}"))
                .into_response()
        }
    };
    let kept = if parts.status.is_server_error() || body.len() > MAX_KEPT_ANSWER {
        app.store.forget_key(&caller, &key).await
    } else {
        let etag = parts
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok());
        app.store
            .keep_answer(
                &caller,
                &key,
                parts.status.as_u16(),
                &String::from_utf8_lossy(&body),
                etag,
            )
            .await
    };
    if let Err(e) = kept {
        // The command ran; only its replay is lost. Say so in the log.
        tracing::error!(idempotency_key = %key, error = %e, "the answer was not kept for replays");
    }
    Response::from_parts(parts, Body::from(body))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
