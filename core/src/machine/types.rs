//! The closure state the host stores, the commands it sends, and what a step returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assess::Blocker;
use crate::audit::{AuditCursor, AuditEvent};
use crate::model::{ActorRelation, ActorRole, LegalHold, LegalHoldId, RecordClass, UserId};
use crate::plan::{Action, AttemptId, Effect, EffectId};

/// The closure-state schema version this build reads and writes.
pub const STATE_VERSION: u32 = 3;

/// Everything the machine remembers about one account's closure. The host
/// stores it (as JSON) between steps and hands it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClosureState {
    /// Schema version of this document: [`STATE_VERSION`].
    pub schema_version: u32,
    /// The host's id for this closure (stable across steps).
    pub closure: String,
    /// The account being closed.
    pub account: UserId,
    /// Where the closure stands.
    pub phase: Phase,
    /// How many attempts (requests from idle, after a cancel or after an
    /// abort) this closure has had.
    pub generation: u32,
    /// The current attempt's identity, part of every effect key; new at each
    /// attempt, never repeated (see [`AttemptId`]).
    pub attempt: Option<AttemptId>,
    /// Who made the current request and on what authority, re-checked at
    /// execution; it decides who may confirm or cancel it.
    pub requester: Option<Requester>,
    /// What was confirmed: the plan the person saw, its dates and the policy
    /// it was confirmed under. Execution compares a fresh assessment with
    /// it and runs no more than it; steps under another policy are refused.
    pub confirmed: Option<ConfirmedPlan>,
    /// When the current request was received (the statutory clock starts here).
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub requested_at: Option<DateTime<Utc>>,
    /// The statutory response deadline of the current request, if any.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub response_due: Option<DateTime<Utc>>,
    /// Whether the deadline has been extended (allowed once per request).
    pub deadline_extended: bool,
    /// Optional exit feedback; never blocks.
    pub feedback: Option<ExitFeedback>,
    /// Every effect issued for the current request, with its progress.
    pub effects: Vec<EffectRecord>,
    /// The closure's one hold set: every legal hold that applies to the
    /// account, whether it came in a snapshot or was placed through the
    /// machine. A snapshot's holds are merged in by every step that carries
    /// one; a hold leaves the set only by `release_hold` (never because a
    /// later snapshot lacks it). Purges, the checks before execution and
    /// [`ClosureState::next_tick`] all read this set.
    pub holds: Vec<HoldEntry>,
    /// The latest `now` a step accepted; time may not go backwards.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub clock: Option<DateTime<Utc>>,
    /// The latest `now` a tick was applied at: whatever was due up to then
    /// has been dealt with, so [`ClosureState::next_tick`] names only later
    /// moments. Other commands advance `clock` but not this (a report at the
    /// very second a retry falls due must not hide the retry). Absent in
    /// states stored before it existed, which read as never ticked.
    #[serde(default, with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub ticked: Option<DateTime<Utc>>,
    /// The audit chain's cursor.
    pub audit: AuditCursor,
}

/// One legal hold in the closure's hold set, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HoldEntry {
    /// The hold. For one placed with `place_hold`, `placed_at` is the step's
    /// `now` (whatever the operator's tool wrote); for one from a snapshot,
    /// what the host's records say, as `assess` reads it.
    pub hold: LegalHold,
    /// Where the machine learnt of it.
    pub source: HoldSource,
}

/// Where a hold in the hold set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HoldSource {
    /// The account's snapshot listed it (the host's own records).
    Snapshot,
    /// An operator placed it with `place_hold`.
    Placed,
}

/// Who made the current request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Requester {
    /// Their user id.
    pub id: UserId,
    /// Their role.
    pub role: ActorRole,
    /// The authority they requested on: the holder, the account's SSO super
    /// admin, support, or the host's system. Only the same authority or a
    /// higher one (support over everyone, the SSO super admin over the
    /// holder) may confirm, cancel or replace the request.
    pub relation: ActorRelation,
    /// Why the closure was requested.
    pub reason: RequestReason,
}

/// Why a closure was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestReason {
    /// The holder asked, or someone with authority over the account asked
    /// for them (its SSO super admin, support).
    Requested,
    /// The account has been inactive: the host's system requests the
    /// closure, where the policy allows it
    /// (`authorization.inactivity_closure`).
    Inactivity,
}

/// What the person confirmed: the frozen plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmedPlan {
    /// When it was confirmed.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub confirmed_at: DateTime<Utc>,
    /// When it runs, as shown: every date of the plan (the invoice window,
    /// the quarantine, immediate cancellations) counts from here.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub execute_at: DateTime<Utc>,
    /// [`ClosurePolicy::fingerprint`](crate::ClosurePolicy::fingerprint) of
    /// the policy it was confirmed under.
    pub policy: String,
    /// The plan's stages, as confirmed (ids only: no names, no free text).
    pub stages: Vec<Vec<Action>>,
}

/// Where a closure stands, with the data of that phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "phase", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Phase {
    /// Nothing requested yet.
    Idle,
    /// Requested; waiting for the person to confirm.
    AwaitingConfirmation {
        /// Wrong confirmations since the last lockout.
        failed_attempts: u32,
        /// Confirmations are refused until then.
        #[serde(with = "crate::timestamp::option")]
        #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
        locked_until: Option<DateTime<Utc>>,
        /// SHA-256 (hex) of the token the host sent, for the token method.
        token_digest: Option<String>,
        /// When the token stops being accepted.
        #[serde(with = "crate::timestamp::option")]
        #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
        token_expires_at: Option<DateTime<Utc>>,
    },
    /// Confirmed; the grace period runs until `execute_at`.
    Scheduled {
        /// When it was confirmed.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        confirmed_at: DateTime<Utc>,
        /// When it runs.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        execute_at: DateTime<Utc>,
        /// Reminders already sent (days before the end).
        reminders_sent: Vec<u32>,
    },
    /// Due, but the fresh snapshot shows new blockers, or a plan that grew
    /// since confirmation (`scope_changed` blockers: request and confirm
    /// again); ticks re-check.
    Halted {
        /// When it halted.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        halted_at: DateTime<Utc>,
        /// What stands in the way now.
        blockers: Vec<Blocker>,
    },
    /// Running the plan, stage by stage.
    Executing {
        /// When execution began.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        started_at: DateTime<Utc>,
        /// The stage being performed (index into the plan).
        stage: u32,
        /// Number of stages in the plan.
        stages: u32,
    },
    /// An effect failed for good; an operator retries or aborts.
    Failed {
        /// When.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        failed_at: DateTime<Utc>,
        /// The effect.
        effect: EffectId,
        /// Why, as the host reported it.
        reason: String,
        /// The stage it belongs to.
        stage: u32,
        /// Number of stages in the plan.
        stages: u32,
    },
    /// Given up by an operator.
    Aborted {
        /// When.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        aborted_at: DateTime<Utc>,
    },
    /// Cancelled by the holder (or on their behalf); a new request waits for the cooldown.
    Cancelled {
        /// When.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        cancelled_at: DateTime<Utc>,
        /// No new request before then.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        cooldown_until: DateTime<Utc>,
    },
    /// The account is gone; records await their purge dates.
    Closed {
        /// When the last plan effect succeeded.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        closed_at: DateTime<Utc>,
        /// The purge schedule of each record class.
        purges: Vec<PurgeStatus>,
        /// The non-personal record of what was done.
        receipt: Receipt,
    },
    /// Every record class purged.
    Purged {
        /// When the last purge succeeded.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        purged_at: DateTime<Utc>,
        /// The non-personal record of what was done.
        receipt: Receipt,
    },
}

/// The phase names, for the transition table, the diagram and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PhaseKind {
    /// See [`Phase::Idle`].
    Idle,
    /// See [`Phase::AwaitingConfirmation`].
    AwaitingConfirmation,
    /// See [`Phase::Scheduled`].
    Scheduled,
    /// See [`Phase::Halted`].
    Halted,
    /// See [`Phase::Executing`].
    Executing,
    /// See [`Phase::Failed`].
    Failed,
    /// See [`Phase::Aborted`].
    Aborted,
    /// See [`Phase::Cancelled`].
    Cancelled,
    /// See [`Phase::Closed`].
    Closed,
    /// See [`Phase::Purged`].
    Purged,
}

impl PhaseKind {
    /// The snake_case name, as in the JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Idle => "idle",
            PhaseKind::AwaitingConfirmation => "awaiting_confirmation",
            PhaseKind::Scheduled => "scheduled",
            PhaseKind::Halted => "halted",
            PhaseKind::Executing => "executing",
            PhaseKind::Failed => "failed",
            PhaseKind::Aborted => "aborted",
            PhaseKind::Cancelled => "cancelled",
            PhaseKind::Closed => "closed",
            PhaseKind::Purged => "purged",
        }
    }
}

impl CommandKind {
    /// Every command kind, in the order of [`Command`]'s variants.
    pub const ALL: [CommandKind; 11] = [
        CommandKind::Request,
        CommandKind::Confirm,
        CommandKind::Cancel,
        CommandKind::Tick,
        CommandKind::ReportOutcome,
        CommandKind::Retry,
        CommandKind::Abort,
        CommandKind::PlaceHold,
        CommandKind::ReleaseHold,
        CommandKind::ExtendDeadline,
        CommandKind::MigratePolicy,
    ];

    /// The snake_case name, as in the JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandKind::Request => "request",
            CommandKind::Confirm => "confirm",
            CommandKind::Cancel => "cancel",
            CommandKind::Tick => "tick",
            CommandKind::ReportOutcome => "report_outcome",
            CommandKind::Retry => "retry",
            CommandKind::Abort => "abort",
            CommandKind::PlaceHold => "place_hold",
            CommandKind::ReleaseHold => "release_hold",
            CommandKind::ExtendDeadline => "extend_deadline",
            CommandKind::MigratePolicy => "migrate_policy",
        }
    }
}

impl Phase {
    /// This phase's name.
    pub fn kind(&self) -> PhaseKind {
        match self {
            Phase::Idle => PhaseKind::Idle,
            Phase::AwaitingConfirmation { .. } => PhaseKind::AwaitingConfirmation,
            Phase::Scheduled { .. } => PhaseKind::Scheduled,
            Phase::Halted { .. } => PhaseKind::Halted,
            Phase::Executing { .. } => PhaseKind::Executing,
            Phase::Failed { .. } => PhaseKind::Failed,
            Phase::Aborted { .. } => PhaseKind::Aborted,
            Phase::Cancelled { .. } => PhaseKind::Cancelled,
            Phase::Closed { .. } => PhaseKind::Closed,
            Phase::Purged { .. } => PhaseKind::Purged,
        }
    }
}

/// One record class's purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PurgeStatus {
    /// The class.
    pub class: RecordClass,
    /// When its retention ends.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub due: DateTime<Utc>,
    /// The purge effect, once issued.
    pub effect: Option<EffectId>,
    /// When it was purged.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub purged_at: Option<DateTime<Utc>>,
}

/// A tombstone: what was done and when, with no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The closure.
    pub closure: String,
    /// The account, by id only.
    pub account: UserId,
    /// The policy applied.
    pub policy: String,
    /// When the request was received.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub requested_at: DateTime<Utc>,
    /// When the account was closed.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub closed_at: DateTime<Utc>,
    /// Plan effects performed.
    pub effects_performed: u64,
    /// The structured exit reason, if one was given (never the free text).
    pub exit_reason: Option<ExitReason>,
}

/// An effect issued by the machine and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EffectRecord {
    /// The effect.
    pub effect: Effect,
    /// The plan stage it belongs to; absent for notifications and locks.
    pub stage: Option<u32>,
    /// Attempts reported as failed so far.
    pub failures: u32,
    /// Where it stands.
    pub status: EffectStatus,
}

/// Progress of one effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EffectStatus {
    /// In the plan; issued when its stage comes.
    Planned,
    /// Issued; the host has not reported yet.
    Pending,
    /// Failed and will be issued again at `retry_at`.
    RetryScheduled {
        /// When a tick issues it again.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        retry_at: DateTime<Utc>,
    },
    /// Done.
    Succeeded {
        /// When the success was reported.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        at: DateTime<Utc>,
    },
    /// Failed for good.
    Failed {
        /// Why.
        reason: String,
    },
    /// No longer wanted: the closure was cancelled or aborted before this
    /// effect was reported. The host must not perform it (again); an outcome
    /// that still arrives is ignored.
    Withdrawn {
        /// When it was withdrawn.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        at: DateTime<Utc>,
    },
}

/// Optional feedback from the person leaving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExitFeedback {
    /// The main reason.
    pub reason: ExitReason,
    /// Free text (may be personal; never copied into the receipt or the audit log).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Structured exit reasons (Stripe's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExitReason {
    /// Unhappy with customer service.
    CustomerService,
    /// Quality was too low.
    LowQuality,
    /// Features are missing.
    MissingFeatures,
    /// Switched to another service.
    SwitchedService,
    /// Too complex.
    TooComplex,
    /// Too expensive.
    TooExpensive,
    /// Not used.
    Unused,
    /// Another reason.
    Other,
}

/// What the host asks the machine to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Command {
    /// Ask to close the account. Re-assesses; refused with every blocker if any remain.
    Request {
        /// Optional exit feedback.
        #[serde(default)]
        feedback: Option<ExitFeedback>,
        /// For the token method: SHA-256 (hex) of the token the host sends the person.
        #[serde(default)]
        token_digest: Option<String>,
        /// Why; absent means [`RequestReason::Requested`]. The system actor
        /// requests only for [`RequestReason::Inactivity`].
        #[serde(default)]
        reason: Option<RequestReason>,
    },
    /// Confirm with the typed phrase or the token.
    Confirm {
        /// What the person typed, or the token they presented.
        value: String,
    },
    /// Cancel before execution begins. Only the requester's authority, or a
    /// higher one, may cancel; a cancel passes even under a policy other
    /// than the one confirmed.
    Cancel,
    /// Let time pass: reminders, execution when due, retries, purges.
    Tick,
    /// Report how an effect went.
    ReportOutcome {
        /// The effect.
        effect: EffectId,
        /// How it went.
        outcome: Outcome,
    },
    /// Operator: retry a failed closure from the failed effect.
    Retry,
    /// Operator: give up a failed or halted closure.
    Abort,
    /// Operator: place a legal hold.
    PlaceHold {
        /// The hold.
        hold: LegalHold,
    },
    /// Operator: release a legal hold.
    ReleaseHold {
        /// The hold's id.
        hold: LegalHoldId,
    },
    /// Operator: extend the statutory response deadline once, before it
    /// passes, telling the person (GDPR Art. 12(3), CCPA).
    ExtendDeadline,
    /// Operator: carry a confirmed closure over to the policy passed with
    /// this step (audited). Without it, a step whose policy differs from the
    /// one the closure was confirmed under is refused with `policy_changed`.
    MigratePolicy {
        /// The fingerprint the closure is pinned to now, as a check that
        /// the operator migrates what they think they migrate.
        from: String,
    },
}

/// The command names, for the transition table, the diagram and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandKind {
    /// See [`Command::Request`].
    Request,
    /// See [`Command::Confirm`].
    Confirm,
    /// See [`Command::Cancel`].
    Cancel,
    /// See [`Command::Tick`].
    Tick,
    /// See [`Command::ReportOutcome`].
    ReportOutcome,
    /// See [`Command::Retry`].
    Retry,
    /// See [`Command::Abort`].
    Abort,
    /// See [`Command::PlaceHold`].
    PlaceHold,
    /// See [`Command::ReleaseHold`].
    ReleaseHold,
    /// See [`Command::ExtendDeadline`].
    ExtendDeadline,
    /// See [`Command::MigratePolicy`].
    MigratePolicy,
}

impl Command {
    /// A plain request: no feedback, no token, the holder's own reason.
    pub fn request() -> Command {
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        }
    }

    /// A confirmation with what the person typed (see
    /// [`ClosurePolicy::confirmation_phrase`](crate::ClosurePolicy::confirmation_phrase))
    /// or the token they presented.
    pub fn confirm(value: impl Into<String>) -> Command {
        Command::Confirm {
            value: value.into(),
        }
    }

    /// How `effect` went, as the host reports it.
    pub fn report(effect: EffectId, outcome: Outcome) -> Command {
        Command::ReportOutcome { effect, outcome }
    }

    /// This command's name.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Request { .. } => CommandKind::Request,
            Command::Confirm { .. } => CommandKind::Confirm,
            Command::Cancel => CommandKind::Cancel,
            Command::Tick => CommandKind::Tick,
            Command::ReportOutcome { .. } => CommandKind::ReportOutcome,
            Command::Retry => CommandKind::Retry,
            Command::Abort => CommandKind::Abort,
            Command::PlaceHold { .. } => CommandKind::PlaceHold,
            Command::ReleaseHold { .. } => CommandKind::ReleaseHold,
            Command::ExtendDeadline => CommandKind::ExtendDeadline,
            Command::MigratePolicy { .. } => CommandKind::MigratePolicy,
        }
    }
}

/// How an effect went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// Done (or already done: effects are idempotent).
    Succeeded,
    /// Failed in a way worth retrying (timeout, rate limit, 5xx).
    RetryableFailure {
        /// What went wrong.
        reason: String,
    },
    /// Failed for good (refused, invalid); an operator must look.
    PermanentFailure {
        /// What went wrong.
        reason: String,
    },
}

/// What one accepted step produced.
#[must_use = "the host must store the state, perform the effects and append the audit events"]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The new state, to store in place of the old.
    pub state: ClosureState,
    /// Effects to perform now.
    pub effects: Vec<Effect>,
    /// Events to append to the audit log.
    pub audit: Vec<AuditEvent>,
    /// Things the host should tell the person or an operator.
    pub notices: Vec<Notice>,
}

/// Things worth telling the person or an operator about a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "notice", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Notice {
    /// The confirmation was wrong.
    ConfirmationRejected {
        /// Attempts left before a lockout (0 when this one locked).
        attempts_left: u32,
        /// Set when this attempt caused a lockout.
        #[serde(with = "crate::timestamp::option")]
        #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
        locked_until: Option<DateTime<Utc>>,
    },
    /// The closure halted: something changed since it was confirmed.
    Halted {
        /// What stands in the way now.
        blockers: Vec<Blocker>,
    },
    /// An outcome arrived for an effect already settled, withdrawn, or
    /// waiting for its retry (a late copy of a failure); it was ignored.
    DuplicateOutcome {
        /// The effect.
        effect: EffectId,
    },
    /// The statutory response deadline has passed.
    ResponseOverdue {
        /// The deadline.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        due: DateTime<Utc>,
    },
    /// An effect failed for good (or ran out of retries): nothing happens
    /// to it until an operator sends `retry`, which issues it again.
    EffectFailed {
        /// The effect.
        effect: EffectId,
        /// Its action's `type` tag, e.g. `purge`.
        action: String,
        /// Why, as the host reported it.
        reason: String,
    },
    /// A hold the machine learnt from an earlier snapshot is missing from
    /// this one. It stays in force: only `release_hold` ends it.
    HoldNotInSnapshot {
        /// The hold.
        hold: LegalHoldId,
    },
    /// A record class is due for purge but a legal hold keeps it.
    PurgeHeld {
        /// The class.
        class: RecordClass,
        /// The holds keeping it.
        holds: Vec<LegalHoldId>,
    },
}

/// Something a closure is waiting for before it can move on; see
/// [`ClosureState::waiting`]. A closure that waits for nothing has ended
/// (idle, cancelled, aborted or purged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "for", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Waiting {
    /// The person must confirm the request (or it simply lapses).
    Confirmation,
    /// The host must perform these effects and report their outcomes.
    Outcomes {
        /// The effects issued and not yet reported.
        effects: Vec<EffectId>,
    },
    /// Time must pass: tick at `at` (a grace period's end, a reminder, a
    /// retry, a purge date or the end of a hold).
    Time {
        /// When to tick.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        at: DateTime<Utc>,
    },
    /// The account's facts: the halted closure's blockers must be cleared
    /// (tick again when they change).
    Blockers,
    /// An operator: these effects failed for good; `retry` issues them again.
    Operator {
        /// The failed effects.
        effects: Vec<EffectId>,
    },
    /// Legal holds in force keep a due purge waiting; open-ended ones end
    /// only by `release_hold`, the others at their end (also named as
    /// [`Waiting::Time`]).
    Holds {
        /// The holds.
        holds: Vec<LegalHoldId>,
    },
}
