//! # Offboard
//!
//! Close a customer's account *correctly*. This crate is the pure core:
//!
//! - [`model`]: the account snapshot the host hands in (account, tenants,
//!   subscriptions, domains, payment methods, invoices, legal holds);
//! - [`policy`]: the closure policy the host chooses, with two presets;
//! - [`assess()`]: every blocker at once with its remedy, warnings, and the
//!   consequences of closing, with counts;
//! - [`machine`]: the closure state machine (request, confirm, grace,
//!   execution, closed, purged), emitting [`plan`] effects and [`audit`] events;
//! - `schema` (the `schema` feature): JSON Schemas of every document
//!   crossing the boundary;
//! - [`error`]: one error enum with stable codes;
//! - [`prelude`]: the names a host needs, in one import.
//!
//! The core reads no clock, no randomness and no environment, and performs no
//! I/O: time and identities come in as arguments, results go out as data.
//!
//! The crate README's tours (assess an account, then drive its closure to
//! `purged`) run as doctests too.
//!
//! ```
//! use offboard::{assess, Actor, ClosurePolicy, Snapshot};
//! let snapshot = Snapshot::from_json(include_str!("../data/team-owner.json"))?;
//! let now = snapshot.taken_at;
//! let actor = Actor::holder(&snapshot.account, now);
//! let report = assess(&snapshot, &actor, &ClosurePolicy::cascade(), now)?;
//! for tenant in &report.consequences.tenants_deleted {
//!     println!("{} is deleted; members removed: {}", tenant.name, tenant.members_removed.len());
//! }
//! # Ok::<(), offboard::Error>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod assess;
pub mod audit;
#[cfg(feature = "canonical-writer")]
mod canonical;
pub mod error;
pub mod json;
pub mod machine;
pub mod model;
pub mod plan;
pub mod policy;
pub mod prelude;
#[cfg(feature = "schema")]
pub mod schema;
mod timestamp;

/// The date and time crate the core's types use (`DateTime<Utc>`,
/// `TimeDelta`), re-exported so a host needs no dependency of its own to
/// pass times in.
pub use chrono;

pub use assess::{
    assess, Assessment, Blocker, BlockerCode, Consequences, Remedy, Subject, Warning, WarningCode,
};
pub use error::{Error, ErrorCode, MAX_INPUT_BYTES};
pub use model::{Actor, ActorRole, Snapshot};
pub use policy::{ClosurePolicy, Rule};

/// The crate README's Rust code runs as a doctest so the tour cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
