//! The precondition engine: [`assess`] an account snapshot for closure.
//!
//! It reports **every** blocker at once, each with the subject it concerns and
//! a remedy naming who can clear it, plus warnings and the consequences of
//! closing. Blockers are grouped by area, in this order: who is asking and the
//! account's standing, legal holds, tenants, subscriptions, domains, payment
//! methods, then invoices and balances; within an area they follow the
//! snapshot's order. The cost is linear in the size of the snapshot.
//!
//! ```
//! use offboard::{assess, Actor, ClosurePolicy, Snapshot};
//! let snapshot = Snapshot::from_json(r#"{
//!   "schema_version": 1, "taken_at": "2026-11-23T10:00:00Z",
//!   "account": {"id": "u_ada", "email": "ada@example.com", "display_name": "Ada",
//!               "kind": {"type": "self_serve"}, "identity": {"type": "password"},
//!               "status": "active"},
//!   "payment_methods": [{"id": "pm_1", "kind": "card"}]
//! }"#)?;
//! let now = snapshot.taken_at;
//! let actor = Actor::holder(&snapshot.account, now);
//! let report = assess(&snapshot, &actor, &ClosurePolicy::prerequisite(), now)?;
//! assert!(!report.can_close);
//! assert_eq!(report.blockers[0].code.as_str(), "payment_method_on_file");
//! let report = assess(&snapshot, &actor, &ClosurePolicy::cascade(), now)?;
//! assert!(report.can_close);
//! assert_eq!(report.consequences.counts.payment_methods_deleted, 1);
//! # Ok::<(), offboard::Error>(())
//! ```

pub(crate) mod names;
mod report;
mod rules;

pub(crate) use names::Names;

pub use report::{
    Assessment, Blocker, BlockerCode, ClassRetention, Consequences, Counts, CreditRefund,
    InvoiceArchive, OwnershipTransfer, Remedy, RemedyAction, Responsible, Subject,
    SubscriptionCancellation, TenantDeletion, Warning, WarningCode, ASSESSMENT_VERSION,
};

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::{Actor, Index, LegalHold, Snapshot};
use crate::policy::ClosurePolicy;

/// Assesses whether `actor` may close the account in `snapshot` under
/// `policy` at `now`, and what closing would do.
///
/// Pure and deterministic: the same inputs give the same assessment. Errors
/// only when the inputs cannot be used (an incoherent policy, a snapshot that
/// contradicts itself, times after `now`); blockers are part of a normal
/// [`Assessment`].
pub fn assess(
    snapshot: &Snapshot,
    actor: &Actor,
    policy: &ClosurePolicy,
    now: DateTime<Utc>,
) -> Result<Assessment, Error> {
    assess_with_holds(snapshot, actor, policy, now, &snapshot.legal_holds)
}

/// [`assess`] with the legal holds given instead of the snapshot's. The
/// machine passes its one hold set (the snapshot's holds merged with those
/// placed through it, [`ClosureState::hold_set`](crate::machine::ClosureState::hold_set)),
/// so a hold placed during the grace period counts at execution exactly as
/// one in the snapshot does; a host passes the same set to show the person
/// what those holds keep.
pub fn assess_with_holds(
    snapshot: &Snapshot,
    actor: &Actor,
    policy: &ClosurePolicy,
    now: DateTime<Utc>,
    holds: &[LegalHold],
) -> Result<Assessment, Error> {
    let closes_at = crate::policy::add_days(now, policy.grace_period_days).ok_or_else(|| {
        Error::invalid(
            "now",
            "the dates this assessment needs fall outside the supported range",
        )
    })?;
    assess_closing_at(snapshot, actor, policy, now, holds, closes_at)
}

/// [`assess_with_holds`] for a closure that runs at `closes_at` rather than
/// after a grace period from `now`: the machine's check at execution, whose
/// dates come from the confirmed schedule.
pub(crate) fn assess_closing_at(
    snapshot: &Snapshot,
    actor: &Actor,
    policy: &ClosurePolicy,
    now: DateTime<Utc>,
    holds: &[LegalHold],
    closes_at: DateTime<Utc>,
) -> Result<Assessment, Error> {
    policy.validate()?;
    let index = Index::build(snapshot)?;
    if snapshot.taken_at > now {
        return Err(Error::invalid(
            "snapshot.taken_at",
            format!(
                "the snapshot is dated {}, after the assessment time {now}",
                snapshot.taken_at
            ),
        ));
    }
    if actor.reauthenticated_at.is_some_and(|at| at > now) {
        return Err(Error::invalid(
            "actor.reauthenticated_at",
            "the actor cannot have re-authenticated after the assessment time",
        ));
    }
    rules::Assessor::new(snapshot, &index, policy, now, holds, closes_at)?.run(actor)
}

#[cfg(test)]
mod tests;
