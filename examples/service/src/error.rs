//! The service's errors, with the HTTP status and JSON body each one gets.

use axum::http::StatusCode;
use offboard::ErrorCode;
use serde::Serialize;

/// Everything that can go wrong in a request or a worker step.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The library refused the command or the input (blocked, wrong phase, bad JSON …).
    #[error(transparent)]
    Core(#[from] offboard::Error),
    /// A request body that is not the JSON the endpoint takes.
    #[error("the request body is not valid: {0}")]
    BadBody(String),
    /// The service cannot start: a bad database URL or schema, an address in use.
    #[error("cannot start: {0}")]
    Startup(String),
    /// No account with that id.
    #[error("no account `{0}`")]
    UnknownAccount(String),
    /// No billing customer is recorded for the account.
    #[error("account `{0}` has no billing customer recorded")]
    NoBillingCustomer(String),
    /// The account has never been asked to close.
    #[error("account `{0}` has no closure")]
    NoClosure(String),
    /// An adapter name that does not exist.
    #[error("no adapter `{0}` (billing, registrar, identity or mail)")]
    UnknownAdapter(String),
    /// The closure kept changing under us (another writer won every time).
    #[error("the closure was changed by another request {0} times in a row; try again")]
    Conflict(u32),
    /// An import that would take records from another account, or leave
    /// another account's snapshot invalid; nothing was written.
    #[error("the import is refused: {0}")]
    ImportConflict(String),
    /// The caller is signed in but is not one the endpoint's row names (a
    /// person on another's account, anyone but support on `/v1/ops/…`).
    #[error("{0}")]
    Forbidden(String),
    /// `If-Match` named a version the closure is no longer (or not yet) at.
    #[error("the closure is at version {current}, not {expected}: read it again, then decide")]
    PreconditionFailed {
        /// The version the caller named.
        expected: i64,
        /// The closure's version now (0: it has none).
        current: i64,
    },
    /// A command that must name the version it was decided on did not.
    #[error("{0} needs `If-Match` with the closure version it was decided on (its ETag)")]
    PreconditionRequired(&'static str),
    /// A query parameter the endpoint reads is not in its form.
    #[error("the query is not valid: {0}")]
    BadQuery(String),
    /// A header the endpoint reads is not in its form.
    #[error("the {0} header is not valid: {1}")]
    BadHeader(&'static str, String),
    /// A request asks more of the service than its limits allow.
    #[error("{what}: {actual}, more than this service's limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        actual: usize,
        /// The limit (see `--max-snapshot-entities`, `--max-plan-effects`).
        limit: usize,
    },
    /// The clock endpoint is off unless the service was started for testing.
    #[error("time travel is disabled; start the service with --allow-time-travel")]
    TimeTravelDisabled,
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// A stored document no longer parses (someone edited the database by hand).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// An id from outside (a path, a flag), refused as the library refuses a bad id.
pub fn user_id(path: &str, text: &str) -> Result<offboard::model::UserId, ServiceError> {
    offboard::model::UserId::new(text).map_err(|e| {
        ServiceError::Core(offboard::Error::InvalidValue {
            path: path.into(),
            reason: e.to_string(),
        })
    })
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Stable code: the library's code for its errors, or one of the service's own.
    pub code: &'static str,
    /// The library's stable number, for its errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// A sentence for people.
    pub message: String,
    /// For `blocked`: every blocker with its remedy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<offboard::Blocker>>,
}

impl ServiceError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Core(e) => e.code().as_str(),
            ServiceError::BadBody(_) => "bad_request_body",
            ServiceError::Startup(_) => "startup_failed",
            ServiceError::UnknownAccount(_) => "unknown_account",
            ServiceError::NoBillingCustomer(_) => "no_billing_customer",
            ServiceError::NoClosure(_) => "no_closure",
            ServiceError::UnknownAdapter(_) => "unknown_adapter",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::ImportConflict(_) => "import_conflict",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::PreconditionFailed { .. } => "version_mismatch",
            ServiceError::PreconditionRequired(_) => "version_required",
            ServiceError::BadHeader(..) => "bad_header",
            ServiceError::BadQuery(_) => "bad_query",
            ServiceError::LimitExceeded { .. } => "limit_exceeded",
            ServiceError::TimeTravelDisabled => "time_travel_disabled",
            ServiceError::Storage(_) => "storage_unavailable",
            ServiceError::Corrupt(_) => "corrupt_record",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Core(e) => match e.code() {
                ErrorCode::MalformedJson
                | ErrorCode::SchemaMismatch
                | ErrorCode::UnsupportedVersion => StatusCode::BAD_REQUEST,
                ErrorCode::DuplicateId
                | ErrorCode::DanglingReference
                | ErrorCode::InvalidValue
                | ErrorCode::InvalidPolicy => StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::NotAllowed => StatusCode::FORBIDDEN,
                ErrorCode::WrongState | ErrorCode::Blocked => StatusCode::CONFLICT,
                ErrorCode::ConfirmationExpired => StatusCode::GONE,
                ErrorCode::LockedOut => StatusCode::LOCKED,
                ErrorCode::Cooldown => StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::UnknownEffect => StatusCode::NOT_FOUND,
                // The host's clock is behind what the closure saw: our fault, not the caller's.
                ErrorCode::TimeWentBackwards => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::InputTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                // A code newer than this service: refuse, without blaming the server.
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ServiceError::BadBody(_) | ServiceError::BadHeader(..) | ServiceError::BadQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            ServiceError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ServiceError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ServiceError::LimitExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::UnknownAccount(_)
            | ServiceError::NoBillingCustomer(_)
            | ServiceError::NoClosure(_)
            | ServiceError::UnknownAdapter(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) | ServiceError::ImportConflict(_) => StatusCode::CONFLICT,
            ServiceError::TimeTravelDisabled | ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Corrupt(_) | ServiceError::Startup(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The JSON body: the library's own report for its errors.
    pub fn body(&self) -> ErrorBody {
        match self {
            ServiceError::Core(e) => {
                let report = offboard::json::ErrorReport::from(e);
                ErrorBody {
                    code: self.code(),
                    number: Some(report.number),
                    message: report.message,
                    blockers: report.blockers,
                }
            }
            _ => ErrorBody {
                code: self.code(),
                number: None,
                message: self.to_string(),
                blockers: None,
            },
        }
    }
}

impl axum::response::IntoResponse for ServiceError {
    fn into_response(self) -> axum::response::Response {
        let body = serde_json::to_string(&self.body()).unwrap_or_default();
        (
            self.status(),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}
