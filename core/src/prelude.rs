//! The names a host needs to assess an account and drive its closure to the
//! end, in one import:
//!
//! ```
//! use offboard::prelude::*;
//! ```
//!
//! Everything else (the model's entities, the policy's rules, the audit
//! chain's checks) stays in its module.

pub use chrono::{DateTime, TimeDelta, Utc};

pub use crate::assess::{assess, Assessment, Blocker, BlockerCode, Consequences};
pub use crate::error::{Error, ErrorCode};
pub use crate::machine::{
    step, ClosureState, Command, Context, Driver, Host, Notice, Outcome, PhaseKind, Step, Waiting,
};
pub use crate::model::{Actor, Snapshot};
pub use crate::plan::{Action, Effect};
pub use crate::policy::ClosurePolicy;
