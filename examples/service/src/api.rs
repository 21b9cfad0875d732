//! The HTTP API. Every body in and out is JSON; every error is
//! `{"code", "message", "number"?, "blockers"?}` with the status from
//! [`ServiceError::status`].
//!
//! Every endpoint is in [`ENDPOINTS`] with who may call it, and one
//! middleware ([`authorize`]) enforces that table before any handler runs:
//! callers are identified by [`crate::auth`] (bearer tokens), a person
//! reaches only their own account (or one their SSO organisation manages),
//! and `/v1/ops/…` needs the support operator role. A refusal carries no
//! data of the account. The README's endpoint table is rendered from
//! [`ENDPOINTS`] (`offboard-service --endpoints`) and drift-checked.
//!
//! Browsers: with `--allow-origin`, pages from that origin may call every
//! endpoint (CORS, by `tower-http`), which is how the close-account page in
//! `examples/web` runs against the service.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use offboard::machine::{Command, ExitFeedback};
use offboard::model::{ActorRelation, LegalHold, LegalHoldId};
use offboard::{Actor, ActorRole};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::adapters::{Adapter, Mode};
use crate::auth::{AuthError, Caller};
use crate::error::ServiceError;
use crate::store::Lookup;
use crate::App;

type Shared = State<Arc<App>>;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Anyone,
    /// Any signed-in caller.
    SignedIn,
    /// The account holder, the SSO super admin who manages the account, or
    /// a support operator. (Which commands each may give is the library's
    /// authorization policy.)
    Account,
    /// Support operators only.
    Support,
}

impl Access {
    /// How the README's table says it.
    pub fn describe(self) -> &'static str {
        match self {
            Access::Anyone => "anyone",
            Access::SignedIn => "any signed-in caller",
            Access::Account => "the holder, its SSO super admin, support",
            Access::Support => "support",
        }
    }
}

/// One endpoint of the API.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The HTTP method.
    pub method: &'static str,
    /// The route, with `{account}`-style parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
}

const fn endpoint(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        summary,
    }
}

/// Every endpoint, with who may call it: the one table [`authorize`]
/// enforces. A route missing here is answered to nobody.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        "GET",
        "/health",
        Access::Anyone,
        "liveness and the backend in use",
    ),
    endpoint(
        "GET",
        "/v1/policy",
        Access::SignedIn,
        "the closure policy in force",
    ),
    endpoint(
        "GET",
        "/v1/accounts",
        Access::Support,
        "every account with its closure's phase",
    ),
    endpoint(
        "GET",
        "/v1/accounts/{account}/assessment",
        Access::Account,
        "blockers, warnings and consequences of closing now",
    ),
    endpoint(
        "POST",
        "/v1/accounts/{account}/closure",
        Access::Account,
        "request the closure",
    ),
    endpoint(
        "GET",
        "/v1/accounts/{account}/closure",
        Access::Account,
        "the closure: phase, schedule, effects",
    ),
    endpoint(
        "POST",
        "/v1/accounts/{account}/closure/confirm",
        Access::Account,
        "confirm (needs a fresh sign-in: the token's auth_time)",
    ),
    endpoint(
        "POST",
        "/v1/accounts/{account}/closure/cancel",
        Access::Account,
        "cancel during the grace period",
    ),
    endpoint(
        "GET",
        "/v1/accounts/{account}/closure/audit",
        Access::Account,
        "the audit events and their verification",
    ),
    endpoint(
        "PUT",
        "/v1/ops/accounts/{account}",
        Access::Support,
        "import (replace) an account's data",
    ),
    endpoint(
        "GET",
        "/v1/ops/accounts/{account}",
        Access::Support,
        "an account's stored data",
    ),
    endpoint(
        "PUT",
        "/v1/ops/accounts/{account}/billing-customer",
        Access::Support,
        "record the account's customer at the billing provider",
    ),
    endpoint(
        "GET",
        "/v1/ops/accounts/{account}/billing-customer",
        Access::Support,
        "the account's customer at the billing provider",
    ),
    endpoint(
        "POST",
        "/v1/ops/accounts/{account}/holds",
        Access::Support,
        "place a legal hold",
    ),
    endpoint(
        "DELETE",
        "/v1/ops/accounts/{account}/holds/{hold}",
        Access::Support,
        "release a legal hold",
    ),
    endpoint(
        "POST",
        "/v1/ops/accounts/{account}/closure/retry",
        Access::Support,
        "retry a halted closure",
    ),
    endpoint(
        "POST",
        "/v1/ops/accounts/{account}/closure/abort",
        Access::Support,
        "abort a halted closure",
    ),
    endpoint(
        "PUT",
        "/v1/ops/adapters/{adapter}",
        Access::Support,
        "set a fake adapter's mode",
    ),
    endpoint(
        "GET",
        "/v1/ops/clock",
        Access::Support,
        "the service's clock",
    ),
    endpoint(
        "POST",
        "/v1/ops/clock",
        Access::Support,
        "move the clock forward (only with --allow-time-travel)",
    ),
    endpoint(
        "GET",
        "/v1/ops/effects",
        Access::Support,
        "every outbox row with its downstream record",
    ),
    endpoint(
        "GET",
        "/v1/ops/stats",
        Access::Support,
        "counts by phase and outbox status",
    ),
    endpoint(
        "POST",
        "/v1/ops/sweeps/inactivity",
        Access::Support,
        "close inactive accounts as the system (where the policy allows it)",
    ),
];

/// The endpoint table as the README shows it (Markdown).
pub fn endpoint_table() -> String {
    let mut out =
        String::from("| Method | Path | Who may call it | What it does |\n|---|---|---|---|\n");
    for e in ENDPOINTS {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            e.method,
            e.path,
            e.access.describe(),
            e.summary
        ));
    }
    out
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/v1/accounts", get(accounts))
        .route("/v1/policy", get(policy))
        .route("/v1/accounts/{account}/assessment", get(assessment))
        .route("/v1/accounts/{account}/closure", post(request).get(status))
        .route("/v1/accounts/{account}/closure/confirm", post(confirm))
        .route("/v1/accounts/{account}/closure/cancel", post(cancel))
        .route("/v1/accounts/{account}/closure/audit", get(audit))
        .route(
            "/v1/ops/accounts/{account}",
            put(import_account).get(account_data),
        )
        .route(
            "/v1/ops/accounts/{account}/billing-customer",
            put(set_billing_customer).get(billing_customer),
        )
        .route("/v1/ops/accounts/{account}/holds", post(place_hold))
        .route(
            "/v1/ops/accounts/{account}/holds/{hold}",
            axum::routing::delete(release_hold),
        )
        .route("/v1/ops/accounts/{account}/closure/retry", post(retry))
        .route("/v1/ops/accounts/{account}/closure/abort", post(abort))
        .route("/v1/ops/adapters/{adapter}", put(set_adapter))
        .route("/v1/ops/clock", get(clock).post(advance_clock))
        .route("/v1/ops/effects", get(effects))
        .route("/v1/ops/stats", get(stats))
        .route("/v1/ops/sweeps/inactivity", post(sweep))
        // Layers wrap what came before: authorize runs first, then the
        // Idempotency-Key check with the caller it identified.
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::idempotency::idempotent,
        ))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), authorize))
        .layer(axum::extract::DefaultBodyLimit::max(
            app.config.limits.body_bytes,
        ))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_only));
    let routes = match cors(&app.config) {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    routes
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            known_host,
        ))
        .layer(axum::middleware::from_fn_with_state(app.clone(), buffered))
        .layer(axum::middleware::from_fn(traced))
        .with_state(app)
}

/// Reads the whole request body (up to `--max-body-bytes`) before anything
/// answers. Every refusal can then come early (a wrong host, a stranger, a
/// bad header) and the connection still serve the client's next request: a
/// response sent while the client is still writing a body it will never
/// have read would otherwise cut the connection under it. A body over the
/// limit is answered 413 `input_too_large` with `Connection: close`, once
/// the rest of it is read and dropped (up to [`DRAINED_BYTES`] more): closing
/// with unread bytes resets the connection, and the client, still writing,
/// would see a broken pipe instead of the answer.
async fn buffered(State(app): Shared, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match read_body(body, app.config.limits.body_bytes).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(()) => {
            let code = offboard::ErrorCode::InputTooLarge;
            let mut response = refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                code.as_str(),
                Some(code.number()),
                "the request body is larger than this service accepts",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// How much of a body over the limit is read and dropped before the 413.
pub const DRAINED_BYTES: usize = 16 * 1024 * 1024;

/// The body, if it is at most `limit` bytes; `Err` if it is larger (the rest
/// read and dropped, up to [`DRAINED_BYTES`] beyond the limit) or broken off.
async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, ()> {
    use axum::body::HttpBody;
    let mut kept = Vec::new();
    let mut seen: usize = 0;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let Some(frame) = frame else { break };
        let Ok(data) = frame.map_err(|_| ())?.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > limit.saturating_add(DRAINED_BYTES) {
            return Err(());
        } else {
            kept = Vec::new();
        }
    }
    if seen > limit {
        return Err(());
    }
    Ok(kept.into())
}

/// The request id header, read from the caller (a gateway's) and answered.
pub const REQUEST_ID: &str = "x-request-id";

/// Gives every request an id (the caller's `x-request-id` when it is 1 to
/// 64 visible ASCII characters, else a new one), answers it in the same
/// header, and logs the request in a span carrying it: what the handlers
/// and the library's errors log is tied to the request.
async fn traced(mut request: Request, next: Next) -> Response {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:x}-{n}", std::process::id())
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        caller = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let status = response.status();
    span.in_scope(|| {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), ms, "answered");
        } else {
            tracing::info!(status = status.as_u16(), ms, "answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Enforces [`ENDPOINTS`]: identifies the caller, refuses those the
/// endpoint's row does not name (401 for no or bad credentials, 403 for the
/// wrong person), and hands the handler the [`Caller`]. Nothing of the
/// account is read for a refusal but, for a person who claims the SSO super
/// admin role, whether they manage it.
pub async fn authorize(
    State(app): Shared,
    matched: MatchedPath,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    // HEAD runs the GET handler: it is admitted as that GET would be.
    let method = match *request.method() {
        Method::HEAD => "GET",
        ref other => other.as_str(),
    };
    let Some(endpoint) = ENDPOINTS
        .iter()
        .find(|e| e.path == matched.as_str() && e.method == method)
    else {
        // A method this route does not take: the router answers 405.
        return next.run(request).await;
    };
    if endpoint.access == Access::Anyone {
        // Credentials, good or bad, do not matter here.
        return next.run(request).await;
    }
    let caller = match admit(&app, endpoint, &params, request.headers()).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    if let Some(caller) = caller {
        tracing::Span::current().record("caller", tracing::field::display(&caller.actor.id));
        request.extensions_mut().insert(caller);
    }
    next.run(request).await
}

/// Who the caller is, if the endpoint's row admits them; the refusal to
/// answer otherwise.
async fn admit(
    app: &App,
    endpoint: &Endpoint,
    params: &RawPathParams,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Response> {
    let caller = match app.auth.identify(headers, app.clock.now()) {
        Ok(caller) => caller,
        Err(e) => return Err(unauthenticated(&e)),
    };
    let refuse = |caller: &Caller, reason: &str| {
        ServiceError::Forbidden(format!(
            "{} may not call {} {}: {reason}",
            caller.actor.id, endpoint.method, endpoint.path
        ))
        .into_response()
    };
    match (endpoint.access, &caller) {
        (Access::Anyone, _) => {}
        (_, None) => return Err(unauthenticated(&AuthError::Missing)),
        (Access::SignedIn, Some(_)) => {}
        (Access::Support, Some(c)) => {
            if c.actor.role != ActorRole::SupportOperator {
                return Err(refuse(c, "only support operators may call this"));
            }
        }
        (Access::Account, Some(c)) => {
            let account = params
                .iter()
                .find(|(name, _)| *name == "account")
                .map(|(_, value)| value.to_owned())
                .unwrap_or_default();
            let allowed = match c.actor.role {
                ActorRole::SupportOperator => true,
                ActorRole::User if c.actor.id.as_str() == account => true,
                ActorRole::User if c.sso_admin => manages(app, &c.actor, &account).await,
                ActorRole::User | ActorRole::System => false,
            };
            if !allowed {
                return Err(refuse(
                    c,
                    "a person may reach only their own account, or one their SSO organisation manages",
                ));
            }
        }
    }
    Ok(caller)
}

/// Whether `actor` is the SSO super admin of the stored account `id`.
async fn manages(app: &App, actor: &offboard::Actor, id: &str) -> bool {
    // The library's rule, on the account's row (not its whole snapshot).
    let Ok(Some(account)) = app.store.account_row(id).await else {
        return false;
    };
    actor.relation_to(&account) == ActorRelation::SsoSuperAdmin
}

/// 401, with the `WWW-Authenticate` challenge RFC 6750 describes.
fn unauthenticated(error: &AuthError) -> Response {
    let mut response = refusal(
        StatusCode::UNAUTHORIZED,
        error.code(),
        None,
        &error.to_string(),
    );
    let challenge = match error {
        AuthError::Missing => "Bearer",
        AuthError::Expired | AuthError::Invalid(_) => "Bearer error=\"invalid_token\"",
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Cross-origin calls from the one origin `--allow-origin` names (or any,
/// for `*`), by `tower-http`'s CORS layer. Without the flag no CORS header is
/// ever sent, so browsers keep other sites' pages from reading answers.
fn cors(config: &crate::Config) -> Option<CorsLayer> {
    let origin = config.allow_origin.as_deref()?;
    let allow = if origin == "*" {
        AllowOrigin::any()
    } else {
        // Named back only to that origin: any other gets no CORS header.
        let origin = origin.to_owned();
        AllowOrigin::predicate(move |asked: &HeaderValue, _| asked.as_bytes() == origin.as_bytes())
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-offboard-actor"),
                HeaderName::from_static(REQUEST_ID),
            ])
            .expose_headers([
                header::ETAG,
                HeaderName::from_static("idempotent-replayed"),
                HeaderName::from_static(REQUEST_ID),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Answers only requests that name a host it serves: the loopback names,
/// the listening address, and each `--allow-host`. A page on a hostile
/// domain that re-points its DNS at this machine (DNS rebinding) sends its
/// own domain as `Host` and is refused with 421 before anything runs.
async fn known_host(State(app): Shared, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(host_name);
    let known = host.as_deref().is_some_and(|name| {
        matches!(name, "localhost" | "127.0.0.1" | "[::1]")
            || app.config.allow_hosts.iter().any(|h| h == name)
            || app
                .config
                .listen
                .is_some_and(|addr| listen_name(addr) == name)
    });
    if known {
        next.run(request).await
    } else {
        refusal(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            None,
            "this service does not answer to that host name (see --allow-host)",
        )
    }
}

/// The host name of a `Host` header, without its port, in lower case.
fn host_name(value: &str) -> String {
    let value = value.trim().to_ascii_lowercase();
    if value.starts_with('[') {
        // An IPv6 literal: `[::1]:8080`.
        return value
            .split_once(']')
            .map_or(value.clone(), |(addr, _)| format!("{addr}]"));
    }
    value
        .rsplit_once(':')
        .map_or(value.clone(), |(name, _)| name.to_owned())
}

/// The listening address as a `Host` would name it.
fn listen_name(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(v4) => v4.ip().to_string(),
        std::net::SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    }
}

/// Writes must say they are JSON, and every refusal answers JSON.
///
/// A `POST`, `PUT` or `DELETE` without `Content-Type: application/json` is
/// refused with 415 before it reaches a route: a page on another site can
/// send a "simple" cross-site `POST` (`text/plain`, no CORS preflight), but
/// never one that claims JSON, so no hostile page can request or confirm a
/// closure. The framework's own refusals (405 for a method a route does not
/// take, 413 for a body over the limit) are answered with the same JSON
/// error document as the library's, `input_too_large` for the latter.
async fn json_only(request: Request, next: Next) -> Response {
    let writes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if writes && !is_json {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
            "commands take a JSON body: send `Content-Type: application/json` (an empty body may be `{}`)",
        );
    }
    let response = next.run(request).await;
    let answered_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if answered_json {
        return response;
    }
    match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
            "this path does not take that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            let code = offboard::ErrorCode::InputTooLarge;
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                code.as_str(),
                Some(code.number()),
                "the request body is larger than this service accepts",
            )
        }
        _ => response,
    }
}

/// A JSON error answer shaped like the library's error report.
fn refusal(status: StatusCode, code: &str, number: Option<u32>, message: &str) -> Response {
    let body = match number {
        Some(number) => serde_json::json!({ "code": code, "number": number, "message": message }),
        None => serde_json::json!({ "code": code, "message": message }),
    };
    json(status, &body)
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Reads a JSON body; an empty body reads as `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ServiceError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ServiceError::BadBody(e.to_string()))
}

/// The closure version an `If-Match` names: `"7"` (also `W/"7"` or a bare
/// 7); `*` or no header is no condition.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ServiceError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ServiceError::BadHeader("If-Match", "not text".into()))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    tag.parse::<i64>().map(Some).map_err(|_| {
        ServiceError::BadHeader(
            "If-Match",
            format!("`{text}` is not a closure version such as \"3\" (the ETag of the closure)"),
        )
    })
}

/// The ETag of a closure at `version`.
fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

async fn run(
    app: &Arc<App>,
    account: &str,
    command: Command,
    actor: &Actor,
    created: bool,
    expected_version: Option<i64>,
) -> Result<Response, ServiceError> {
    // The step runs as a task of its own, so a client that hangs up cannot
    // cancel it halfway through a transaction (see `worker::perform`).
    let task = {
        let (app, account, actor) = (app.clone(), account.to_owned(), actor.clone());
        tokio::spawn(async move {
            app.store
                .apply(
                    Lookup::Account(&account),
                    &command,
                    &actor,
                    &app.policy,
                    app.clock.now(),
                    app.config.halted_recheck_seconds,
                    expected_version,
                )
                .await
        })
    };
    let applied = task
        .await
        .map_err(|e| ServiceError::Corrupt(format!("a command task ended abnormally: {e}")))??;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json(status, &applied);
    response
        .headers_mut()
        .insert(header::ETAG, etag(applied.closure.version));
    Ok(response)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Health {
    ok: bool,
    backend: crate::store::Backend,
    name: String,
}

async fn health(State(app): Shared) -> Response {
    json(
        StatusCode::OK,
        &Health {
            ok: true,
            backend: app.store.backend(),
            name: app.config.name.clone(),
        },
    )
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &crate::error::ErrorBody {
            code: "no_such_endpoint",
            number: None,
            message: "no such endpoint; see examples/service/README.md".into(),
            blockers: None,
        },
    )
}

/// The most items one page of a list holds.
pub const MAX_PAGE: i64 = 1_000;
/// The items a page holds when `limit` is not given.
pub const DEFAULT_PAGE: i64 = 100;

/// A page of a list endpoint: `?limit=N&after=CURSOR`.
#[derive(Debug)]
struct PageQuery {
    limit: i64,
    after: Option<String>,
}

/// One page of a list: its items, and the cursor of the next page (`null`
/// on the last).
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

/// A cursor is opaque to callers: the hex of the last item's key.
fn cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn uncursor(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}

fn page_query(uri: &axum::http::Uri) -> Result<PageQuery, ServiceError> {
    let mut page = PageQuery {
        limit: DEFAULT_PAGE,
        after: None,
    };
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                page.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ServiceError::BadQuery(format!("limit: 1 to {MAX_PAGE}, not `{value}`"))
                    })?;
            }
            "after" => {
                page.after = Some(uncursor(value).ok_or_else(|| {
                    ServiceError::BadQuery(format!(
                        "after: `{value}` is not a cursor this service gave"
                    ))
                })?);
            }
            other => {
                return Err(ServiceError::BadQuery(format!(
                    "no parameter `{other}` (limit, after)"
                )))
            }
        }
    }
    Ok(page)
}

/// The page of `items` (fetched one beyond the limit, to know whether a
/// next page exists).
fn paged<T: Serialize>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> &str) -> Response {
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more {
        items.last().map(|last| cursor(key(last)))
    } else {
        None
    };
    json(StatusCode::OK, &Page { items, next })
}

async fn accounts(State(app): Shared, uri: axum::http::Uri) -> Result<Response, ServiceError> {
    let page = page_query(&uri)?;
    let items = app
        .store
        .accounts(page.after.as_deref(), page.limit + 1)
        .await?;
    Ok(paged(items, page.limit, |a| a.id.as_str()))
}

async fn policy(State(app): Shared) -> Response {
    json(StatusCode::OK, &app.policy)
}

async fn assessment(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let report = app
        .store
        .assess(&account, &actor, &app.policy, app.clock.now())
        .await?;
    // Someone who may not close the account learns nothing of it: no
    // consequences (tenant names, member ids, plans), only the refusal.
    if matches!(
        report.actor_relation,
        offboard::model::ActorRelation::Unrelated | offboard::model::ActorRelation::System
    ) {
        return Err(ServiceError::Core(offboard::Error::NotAllowed {
            actor: actor.id.to_string(),
            command: "assess".to_owned(),
            reason: "only the account holder, its SSO super admin or support can see what closing it would do".to_owned(),
        }));
    }
    Ok(json(StatusCode::OK, &report))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestBody {
    #[serde(default)]
    feedback: Option<ExitFeedback>,
    #[serde(default)]
    token_digest: Option<String>,
}

async fn request(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let RequestBody {
        feedback,
        token_digest,
    } = body(&bytes)?;
    let command = Command::Request {
        feedback,
        token_digest,
        reason: None,
    };
    run(&app, &account, command, &actor, true, if_match(&headers)?).await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmBody {
    value: String,
}

async fn confirm(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let ConfirmBody { value } = body(&bytes)?;
    // Confirming is the step that cannot be taken back: it must say which
    // closure it was decided on, so a confirm racing a cancel and a new
    // request cannot confirm the new one.
    let expected = if_match(&headers)?.ok_or(ServiceError::PreconditionRequired("confirm"))?;
    run(
        &app,
        &account,
        Command::Confirm { value },
        &actor,
        false,
        Some(expected),
    )
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

async fn cancel(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let Empty {} = body(&bytes)?;
    run(
        &app,
        &account,
        Command::Cancel,
        &actor,
        false,
        if_match(&headers)?,
    )
    .await
}

async fn status(State(app): Shared, Path(account): Path<String>) -> Result<Response, ServiceError> {
    let view = app.store.closure(&account).await?;
    let mut response = json(StatusCode::OK, &view);
    response
        .headers_mut()
        .insert(header::ETAG, etag(view.version));
    Ok(response)
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct AuditBody {
    events: Vec<serde_json::Value>,
    verification: serde_json::Value,
}

async fn audit(State(app): Shared, Path(account): Path<String>) -> Result<Response, ServiceError> {
    let (events, head) = app.store.audit(&account).await?;
    let text = format!("[{}]", events.join(","));
    let verification = offboard::json::verify(&text, Some(&head))?;
    let parse = |t: &str| {
        serde_json::from_str(t).map_err(|e| ServiceError::Corrupt(format!("audit event: {e}")))
    };
    Ok(json(
        StatusCode::OK,
        &AuditBody {
            events: events.iter().map(|e| parse(e)).collect::<Result<_, _>>()?,
            verification: parse(&verification)?,
        },
    ))
}

async fn import_account(
    State(app): Shared,
    Path(account): Path<String>,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ServiceError::BadBody("the snapshot is not UTF-8".into()))?;
    app.store
        .put_account(&account, text, app.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn account_data(
    State(app): Shared,
    Path(account): Path<String>,
) -> Result<Response, ServiceError> {
    let snapshot = app.store.account(&account, app.clock.now()).await?;
    Ok(json(StatusCode::OK, &snapshot))
}

/// The account's customer at its billing provider.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BillingCustomer {
    /// The provider: `stripe`.
    provider: String,
    /// The provider's customer id (`cus_…`): letters, digits and `_`, at
    /// most 255 (it is put in the provider's URLs).
    customer: String,
}

async fn set_billing_customer(
    State(app): Shared,
    Path(account): Path<String>,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let BillingCustomer { provider, customer } = body(&bytes)?;
    if provider != crate::stripe::PROVIDER {
        return Err(ServiceError::BadBody(format!(
            "provider `{provider}`: the one billing provider this service speaks is `{}`",
            crate::stripe::PROVIDER
        )));
    }
    let well_formed = !customer.is_empty()
        && customer.len() <= 255
        && customer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(ServiceError::BadBody(
            "customer: letters, digits and _, 1 to 255 of them".into(),
        ));
    }
    app.store
        .set_billing_customer(&account, &provider, &customer)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn billing_customer(
    State(app): Shared,
    Path(account): Path<String>,
) -> Result<Response, ServiceError> {
    let (provider, customer) = app
        .store
        .billing_customer(&account)
        .await?
        .ok_or(ServiceError::NoBillingCustomer(account))?;
    Ok(json(
        StatusCode::OK,
        &BillingCustomer { provider, customer },
    ))
}

/// At most this many accounts per sweep request.
const SWEEP_ACCOUNTS: usize = 1000;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SweepBody {
    /// The inactive accounts to close (at most 1 000 per request).
    accounts: Vec<String>,
}

/// What a sweep did with each account.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct SweepAnswer {
    /// Accounts whose closure was requested and confirmed, in order.
    requested: Vec<String>,
    /// Accounts the library or the service refused, with why.
    refused: Vec<SweepRefusal>,
}

/// One account a sweep left alone.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct SweepRefusal {
    account: String,
    code: &'static str,
    message: String,
}

/// Closes each account for inactivity as the service's system actor: one
/// transaction per account holding the request and its confirmation. The
/// policy must allow system requests (`authorization.inactivity_closure`),
/// or each account is refused with `not_allowed`.
async fn sweep(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let SweepBody { accounts } = body(&bytes)?;
    if accounts.len() > SWEEP_ACCOUNTS {
        return Err(ServiceError::BadBody(format!(
            "a sweep takes at most {SWEEP_ACCOUNTS} accounts, not {}",
            accounts.len()
        )));
    }
    let system = Actor {
        id: crate::error::user_id("sweep", "system:inactivity-sweep")?,
        role: ActorRole::System,
        reauthenticated_at: None,
    };
    tracing::info!(caller = %caller.actor.id, accounts = accounts.len(), "inactivity sweep");
    // A task of its own, as `run` does: a client that hangs up cannot cut a
    // transaction short.
    let task = tokio::spawn(async move {
        let mut answer = SweepAnswer {
            requested: Vec::new(),
            refused: Vec::new(),
        };
        for account in accounts {
            let result = app
                .store
                .sweep_inactive(
                    &account,
                    &system,
                    &app.policy,
                    app.clock.now(),
                    app.config.halted_recheck_seconds,
                )
                .await;
            match result {
                Ok(_) => answer.requested.push(account),
                Err(e) => answer.refused.push(SweepRefusal {
                    account,
                    code: e.code(),
                    message: e.to_string(),
                }),
            }
        }
        answer
    });
    let answer = task
        .await
        .map_err(|e| ServiceError::Corrupt(format!("a sweep task ended abnormally: {e}")))?;
    Ok(json(StatusCode::OK, &answer))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoldBody {
    hold: LegalHold,
}

async fn place_hold(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let HoldBody { hold } = body(&bytes)?;
    run(
        &app,
        &account,
        Command::PlaceHold { hold },
        &actor,
        false,
        if_match(&headers)?,
    )
    .await
}

async fn release_hold(
    State(app): Shared,
    Path((account, hold)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    let hold: LegalHoldId = serde_json::from_value(serde_json::Value::String(hold))
        .map_err(|e| ServiceError::BadBody(format!("hold id: {e}")))?;
    run(
        &app,
        &account,
        Command::ReleaseHold { hold },
        &actor,
        false,
        if_match(&headers)?,
    )
    .await
}

async fn retry(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    run(
        &app,
        &account,
        Command::Retry,
        &actor,
        false,
        if_match(&headers)?,
    )
    .await
}

async fn abort(
    State(app): Shared,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let actor = caller.actor;
    run(
        &app,
        &account,
        Command::Abort,
        &actor,
        false,
        if_match(&headers)?,
    )
    .await
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct AdapterBody {
    adapter: Adapter,
    #[serde(flatten)]
    mode: Mode,
}

async fn set_adapter(
    State(app): Shared,
    Path(adapter): Path<String>,
    bytes: Bytes,
) -> Result<Response, ServiceError> {
    let adapter: Adapter = adapter
        .parse()
        .map_err(|_| ServiceError::UnknownAdapter(adapter))?;
    let mode: Mode = body(&bytes)?;
    app.adapters.set_mode(adapter, mode);
    Ok(json(StatusCode::OK, &AdapterBody { adapter, mode }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct ClockBody {
    now: String,
    offset_seconds: i64,
    /// Whether `POST /v1/ops/clock` may move it (`--allow-time-travel`).
    time_travel: bool,
}

fn clock_body(app: &App) -> ClockBody {
    ClockBody {
        now: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        offset_seconds: app.clock.offset_seconds(),
        time_travel: app.config.allow_time_travel,
    }
}

async fn clock(State(app): Shared) -> Result<Response, ServiceError> {
    app.clock
        .set_offset_seconds(app.store.clock_offset().await?);
    Ok(json(StatusCode::OK, &clock_body(&app)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdvanceBody {
    advance_seconds: u32,
}

async fn advance_clock(State(app): Shared, bytes: Bytes) -> Result<Response, ServiceError> {
    if !app.config.allow_time_travel {
        return Err(ServiceError::TimeTravelDisabled);
    }
    let AdvanceBody { advance_seconds } = body(&bytes)?;
    let offset = app.store.advance_clock(i64::from(advance_seconds)).await?;
    app.clock.set_offset_seconds(offset);
    Ok(json(StatusCode::OK, &clock_body(&app)))
}

async fn effects(State(app): Shared, uri: axum::http::Uri) -> Result<Response, ServiceError> {
    let page = page_query(&uri)?;
    let items = app
        .store
        .effects(page.after.as_deref(), page.limit + 1)
        .await?;
    Ok(paged(items, page.limit, |e| e.key.as_str()))
}

async fn stats(State(app): Shared) -> Result<Response, ServiceError> {
    Ok(json(StatusCode::OK, &app.store.stats().await?))
}
