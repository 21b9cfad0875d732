//! The closure state machine: pure, resumable, audited.
//!
//! The host keeps a [`ClosureState`] (as JSON) per account and drives it with
//! [`step`]: it passes the state, a [`Command`] and a [`Context`] (the time,
//! who is acting, the policy and, where the command needs it, a fresh
//! snapshot). An accepted command returns a [`Step`]: the new state to store,
//! the effects to perform and the audit events to append, which the host
//! should persist together. A refused command returns an [`Error`] and
//! nothing else; the stored state stays as it was.
//!
//! The order a host calls things in (the [`Driver`] runs this loop for it):
//! 1. `request` (with the snapshot) → `confirm` (with the snapshot);
//! 2. `tick` at [`ClosureState::next_tick`], with the snapshot until
//!    execution starts (and whenever the host still has one): reminders,
//!    execution when due, retries, purges;
//! 3. perform each effect, then `report_outcome`; the next stage is issued
//!    when the current one has fully succeeded;
//! 4. when a notice asks for an operator ([`Notice::EffectFailed`]), an
//!    operator sends `retry`. [`ClosureState::waiting`] says at any time what
//!    the closure waits for.
//!
//! **Legal holds.** The state carries one hold set ([`ClosureState::holds`]):
//! the holds of every snapshot a step receives are merged in, and those
//! placed with `place_hold` join them. A hold leaves the set only by
//! `release_hold`, so a hold keeps its records after the account (and its
//! snapshot) is gone. Purges, the checks before execution and `next_tick`
//! read that one set. Only a `purge` effect destroys records.
//!
//! **What was confirmed is what runs.** Confirmation freezes the plan the
//! person saw ([`ClosureState::confirmed`]): its stages, the time it runs
//! and the fingerprint of the policy. The check before execution assesses
//! the fresh snapshot with the confirmed schedule's dates and compares the
//! plan it gives with the frozen one item by item: a plan that grew halts
//! with a `scope_changed` blocker per new item (request and confirm again);
//! one that shrank runs, audited. From confirmation on, a step under another
//! policy is refused with `policy_changed` until an operator sends
//! [`Command::MigratePolicy`].
//!
//! **Authority follows the requester.** Who may confirm, cancel or replace a
//! request depends on the authority it was made on ([`Requester::relation`]):
//! support acts on anyone's, an SSO super admin on the holder's, everyone
//! else only on their own.
//!
//! **The point of no return** is the first irreversible effect issued
//! (deleting a tenant, or the account): [`ClosureState::point_of_no_return`].
//! Before it an operator may abort a failed closure; after it the closure
//! only goes forward, every failed effect can be retried, and it ends purged.
//!
//! One closure from request to purge, step by step (the [`Driver`] runs
//! the same loop for you):
//!
//! ```
//! use offboard::machine::{step, ClosureState, Command, Context, Outcome, PhaseKind};
//! use offboard::plan::Action;
//! use offboard::{Actor, ClosurePolicy, Snapshot};
//! let snapshot = Snapshot::from_json(include_str!("../../data/lone-user.json"))?;
//! let mut now = snapshot.taken_at;
//! let holder = Actor::holder(&snapshot.account, now);
//! let policy = ClosurePolicy::cascade();
//! let ctx = Context::new(now, &holder, &policy).with_snapshot(&snapshot);
//! let state = ClosureState::new("cl_1", snapshot.account.id.clone())?;
//! let requested = step(&state, &Command::request(), &ctx)?;
//! let phrase = policy.confirmation_phrase(&snapshot.account).unwrap_or_default();
//! let running = step(&requested.state, &Command::confirm(phrase), &ctx)?;
//! assert_eq!(running.state.phase.kind(), PhaseKind::Executing); // no grace period in the cascade preset
//!
//! // The host's worker: perform each effect (idempotently, keyed by its id)
//! // and report how it went; tick whenever the state names a time.
//! let worker = Actor::system();
//! let (mut state, mut due) = (running.state, running.effects);
//! let mut account_exists = true;
//! loop {
//!     while let Some(effect) = due.pop() {
//!         account_exists &= !matches!(effect.action, Action::DeleteAccount);
//!         let ctx = Context::new(now, &worker, &policy);
//!         let ctx = if account_exists { ctx.with_snapshot(&snapshot) } else { ctx };
//!         let next = step(&state, &Command::report(effect.id, Outcome::Succeeded), &ctx)?;
//!         state = next.state;
//!         due.extend(next.effects); // the next stage, once this one is done
//!     }
//!     let Some(at) = state.next_tick(&policy) else { break };
//!     now = now.max(at);
//!     let next = step(&state, &Command::Tick, &Context::new(now, &worker, &policy))?;
//!     (state, due) = (next.state, next.effects);
//! }
//! assert_eq!(state.phase.kind(), PhaseKind::Purged); // every record class purged when due
//! # Ok::<(), offboard::Error>(())
//! ```

mod closure;
mod driver;
mod execution;
mod lifecycle;
mod table;
mod types;

pub use closure::{Change, Closure};
pub use driver::{Driver, Host};
pub use table::{allowed, diagram, IN_EVERY_PHASE, TRANSITIONS};
pub use types::{
    ClosureState, Command, CommandKind, ConfirmedPlan, EffectRecord, EffectStatus, ExitFeedback,
    ExitReason, HoldEntry, HoldSource, Notice, Outcome, Phase, PhaseKind, PurgeStatus, Receipt,
    RequestReason, Requester, Step, Waiting, STATE_VERSION,
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::assess::{assess_with_holds, Assessment};
use crate::audit::{
    canonical_digest, AuditCursor, AuditEvent, AuditKey, AuditedEffect, Event, AUDIT_VERSION,
};
use crate::error::{Document, Error};
use crate::model::{
    parse_versioned, Actor, ActorRelation, ActorRole, LegalHold, LegalHoldId, RecordClass,
    Snapshot, UserId,
};
use crate::plan::{Action, AttemptId, Effect, EffectId};
use crate::policy::{add_days, ClosurePolicy};

/// What a step needs besides the state and the command.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The current time, from the host's clock.
    pub now: DateTime<Utc>,
    /// Who gives the command.
    pub actor: &'a Actor,
    /// The policy in force.
    pub policy: &'a ClosurePolicy,
    /// A fresh snapshot of the account; needed by `request`, `confirm` and by
    /// ticks that may start execution.
    pub snapshot: Option<&'a Snapshot>,
    /// The host's key for a keyed audit chain (see [`crate::audit`]), passed
    /// in like the time; `None` for a plain hash chain. A chain keeps the
    /// mode of its first event: every later step must pass the same key.
    pub audit_key: Option<&'a AuditKey>,
}

impl<'a> Context<'a> {
    /// A context for `actor` at `now` under `policy`, with no snapshot and a
    /// plain audit chain; add them with [`Context::with_snapshot`] and
    /// [`Context::with_audit_key`].
    pub fn new(now: DateTime<Utc>, actor: &'a Actor, policy: &'a ClosurePolicy) -> Context<'a> {
        Context {
            now,
            actor,
            policy,
            snapshot: None,
            audit_key: None,
        }
    }

    /// The same context with a fresh snapshot of the account.
    pub fn with_snapshot(self, snapshot: &'a Snapshot) -> Context<'a> {
        Context {
            snapshot: Some(snapshot),
            ..self
        }
    }

    /// The same context with the host's key for a keyed audit chain.
    pub fn with_audit_key(self, key: &'a AuditKey) -> Context<'a> {
        Context {
            audit_key: Some(key),
            ..self
        }
    }
}

impl ClosureState {
    /// A new, idle closure for `account`, under the host's id `closure`.
    pub fn new(closure: impl Into<String>, account: UserId) -> Result<ClosureState, Error> {
        let closure = closure.into();
        if closure.trim().is_empty() {
            return Err(Error::invalid("closure", "a closure needs a non-empty id"));
        }
        // The same rule as every other id (no control or invisible format
        // characters), so effect keys never rest on a look-alike.
        crate::model::check_id(&closure).map_err(|e| Error::invalid("closure", e.to_string()))?;
        Ok(ClosureState {
            schema_version: STATE_VERSION,
            closure,
            account,
            phase: Phase::Idle,
            generation: 0,
            attempt: None,
            requester: None,
            confirmed: None,
            requested_at: None,
            response_due: None,
            deadline_extended: false,
            feedback: None,
            effects: Vec::new(),
            holds: Vec::new(),
            clock: None,
            ticked: None,
            audit: AuditCursor::default(),
        })
    }

    /// Whether the next tick needs a fresh snapshot: until execution starts
    /// (and while halted) the machine re-checks the account's facts.
    /// Afterwards a snapshot is still welcome but no longer needed, and a
    /// tick or an outcome report reads only its `account` and its
    /// `legal_holds` (merged into the hold set): a host may hand in a
    /// snapshot holding just those, rather than assemble every record of a
    /// large account for each report.
    pub fn needs_snapshot(&self) -> bool {
        match self.phase {
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Scheduled { .. }
            | Phase::Halted { .. } => true,
            Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => false,
        }
    }

    /// The fingerprint of the policy the closure is pinned to: the one it
    /// was confirmed under, from confirmation until it ends (purged,
    /// cancelled or aborted). Steps under another policy are refused with
    /// `policy_changed` until an operator sends [`Command::MigratePolicy`];
    /// only `cancel` is let through (it stops the closure, and restores what
    /// this attempt locked whatever the policy says).
    pub fn pinned_policy(&self) -> Option<&str> {
        let live = match self.phase {
            Phase::Scheduled { .. }
            | Phase::Halted { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Closed { .. } => true,
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Purged { .. } => false,
        };
        self.confirmed
            .as_ref()
            .filter(|_| live)
            .map(|c| c.policy.as_str())
    }

    /// When the host should next send [`Command::Tick`], if anything is
    /// waiting on time: the end of the grace period or a reminder, a retry,
    /// a purge date, or the end of a hold in the hold set (whatever its
    /// source) while the closure is halted or closed. A halted closure
    /// otherwise waits on the account's facts, not on time: tick it when they
    /// change (or periodically). The time may already have passed (a retry
    /// fell due while other commands came in): tick at once then. Moments up
    /// to the last tick are never named again.
    pub fn next_tick(&self, policy: &ClosurePolicy) -> Option<DateTime<Utc>> {
        let seen = self.ticked;
        let retries = self.effects.iter().filter_map(|r| match r.status {
            EffectStatus::RetryScheduled { retry_at } => Some(retry_at),
            EffectStatus::Planned
            | EffectStatus::Pending
            | EffectStatus::Succeeded { .. }
            | EffectStatus::Failed { .. }
            | EffectStatus::Withdrawn { .. } => None,
        });
        let phase: Vec<DateTime<Utc>> = match &self.phase {
            Phase::Scheduled {
                execute_at,
                reminders_sent,
                ..
            } => policy
                .lifecycle
                .reminder_days_before
                .iter()
                .filter(|d| !reminders_sent.contains(d))
                .filter_map(|d| execute_at.checked_sub_signed(TimeDelta::days(i64::from(*d))))
                .chain([*execute_at])
                .collect(),
            Phase::Halted { .. } => self.hold_ends().collect(),
            Phase::Closed { purges, .. } => purges
                .iter()
                .filter(|p| p.effect.is_none())
                .map(|p| p.due)
                .chain(self.hold_ends())
                .collect(),
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Purged { .. } => Vec::new(),
        };
        // The second after the statutory deadline, while it is unanswered:
        // the tick then tells the host it has passed.
        let overdue = self
            .response_due
            .filter(|_| self.response_open(policy))
            .and_then(|due| due.checked_add_signed(TimeDelta::seconds(1)));
        retries
            .chain(phase)
            .chain(overdue)
            .filter(|at| seen.is_none_or(|seen| *at > seen))
            .min()
    }

    /// Whether the erasure request still awaits its statutory answer: from
    /// the request until personal data is purged, or until the account is
    /// closed where the policy names a legal basis for keeping it longer
    /// (the answer is then the closure and that basis). A cancelled request
    /// is withdrawn; an aborted one is still unanswered.
    pub fn response_open(&self, policy: &ClosurePolicy) -> bool {
        match &self.phase {
            Phase::Closed { purges, .. } => {
                let purged = purges
                    .iter()
                    .any(|p| p.class == RecordClass::PersonalData && p.purged_at.is_some());
                !purged && policy.retention.personal_data_basis.is_none()
            }
            Phase::Idle | Phase::Purged { .. } | Phase::Cancelled { .. } => false,
            Phase::AwaitingConfirmation { .. }
            | Phase::Scheduled { .. }
            | Phase::Halted { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. } => true,
        }
    }

    /// The holds of the hold set, as [`LegalHold`]s (what
    /// [`assess_with_holds`](crate::assess::assess_with_holds) takes, to show
    /// the person what the holds the closure knows of keep).
    pub fn hold_set(&self) -> Vec<LegalHold> {
        self.holds.iter().map(|e| e.hold.clone()).collect()
    }

    fn hold_ends(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.holds.iter().filter_map(|entry| entry.hold.until)
    }

    /// The holds of the hold set in force at `now` that cover `class`.
    pub fn holds_on(&self, class: RecordClass, now: DateTime<Utc>) -> Vec<LegalHoldId> {
        self.holds
            .iter()
            .filter(|entry| entry.hold.in_force(now) && entry.hold.covers(class))
            .map(|entry| entry.hold.id.clone())
            .collect()
    }

    /// The record classes some hold of the hold set in force at `now` covers.
    pub fn held_classes(&self, now: DateTime<Utc>) -> Vec<RecordClass> {
        RecordClass::ALL
            .into_iter()
            .filter(|c| !self.holds_on(*c, now).is_empty())
            .collect()
    }

    /// The first irreversible effect this attempt has issued (deleting a
    /// tenant or the account), if any: the closure's **point of no return**.
    /// Past it the closure only goes forward: `cancel` and `abort` are
    /// refused, and every failed effect can be retried by an operator until
    /// the account is closed and every record class purged.
    pub fn point_of_no_return(&self) -> Option<&EffectId> {
        self.effects
            .iter()
            .find(|r| {
                r.stage.is_some()
                    && r.effect.action.is_irreversible()
                    && r.status != EffectStatus::Planned
            })
            .map(|r| &r.effect.id)
    }

    /// Everything the closure is waiting for, as of the latest time it has
    /// seen. Empty once it has ended (idle, cancelled or aborted with nothing
    /// in flight, or purged). A host that acts on every item (performs the
    /// effects, ticks at the time named, retries what an operator is asked
    /// to) drives every confirmed closure to `purged`, but for what only a
    /// person can give: a confirmation, cleared blockers, the release of an
    /// open-ended hold.
    pub fn waiting(&self, policy: &ClosurePolicy) -> Vec<Waiting> {
        let mut out = Vec::new();
        match &self.phase {
            Phase::AwaitingConfirmation { .. } => out.push(Waiting::Confirmation),
            Phase::Halted { .. } => out.push(Waiting::Blockers),
            Phase::Idle
            | Phase::Scheduled { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => {}
        }
        let with = |wanted: fn(&EffectStatus) -> bool| -> Vec<EffectId> {
            self.effects
                .iter()
                .filter(|r| wanted(&r.status))
                .map(|r| r.effect.id.clone())
                .collect()
        };
        let pending = with(|s| *s == EffectStatus::Pending);
        if !pending.is_empty() {
            out.push(Waiting::Outcomes { effects: pending });
        }
        let failed: Vec<EffectId> = self
            .effects
            .iter()
            .filter(|r| self.operator_can_retry(r))
            .map(|r| r.effect.id.clone())
            .collect();
        if !failed.is_empty() {
            out.push(Waiting::Operator { effects: failed });
        }
        if let Some(at) = self.next_tick(policy) {
            out.push(Waiting::Time { at });
        }
        if let (Phase::Closed { purges, .. }, Some(now)) = (&self.phase, self.clock) {
            let mut holds: Vec<LegalHoldId> = Vec::new();
            // A due purge not yet done, whether never issued or waiting for a
            // retry, waits for the holds that cover its class.
            for purge in purges
                .iter()
                .filter(|p| p.purged_at.is_none() && p.due <= now)
            {
                for id in self.holds_on(purge.class, now) {
                    if !holds.contains(&id) {
                        holds.push(id);
                    }
                }
            }
            if !holds.is_empty() {
                out.push(Waiting::Holds { holds });
            }
        }
        out
    }

    /// Whether `record` failed for good and an operator's `retry` would
    /// issue it again: any failed effect outside the plan, and the plan's own
    /// only while the closure is failed (an aborted attempt's plan stays
    /// given up).
    pub(crate) fn operator_can_retry(&self, record: &EffectRecord) -> bool {
        matches!(record.status, EffectStatus::Failed { .. })
            && (record.stage.is_none() || matches!(self.phase, Phase::Failed { .. }))
    }

    /// Parses a stored state and checks its schema version.
    pub fn from_json(text: &str) -> Result<ClosureState, Error> {
        parse_versioned(text, Document::State, STATE_VERSION, |s: &ClosureState| {
            s.schema_version
        })
    }

    /// The state as the JSON [`ClosureState::from_json`] reads back: what a
    /// host stores between steps.
    pub fn to_json(&self) -> String {
        crate::json::to_json(self)
    }
}

/// Applies `command` to `state`. See the [module docs](self).
pub fn step(state: &ClosureState, command: &Command, ctx: &Context<'_>) -> Result<Step, Error> {
    step_prepared(state, command, ctx, None)
}

/// The policy's fingerprint, worked out at most once per policy: it is a
/// digest of the whole policy, and a step needs it up to three times (the
/// pin check, the confirmed plan, a migration). A [`Closure`] keeps one for
/// its policy across steps.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fingerprint(std::cell::OnceCell<String>);

impl Fingerprint {
    /// The fingerprint of `policy`, known already.
    pub(crate) fn of(policy: &ClosurePolicy) -> Fingerprint {
        Fingerprint(std::cell::OnceCell::from(policy.fingerprint()))
    }

    fn get(&self, policy: &ClosurePolicy) -> &str {
        self.0.get_or_init(|| policy.fingerprint())
    }
}

/// [`step`]; with `prepared`, the policy is one already validated and this
/// is its fingerprint.
pub(crate) fn step_prepared(
    state: &ClosureState,
    command: &Command,
    ctx: &Context<'_>,
    prepared: Option<&Fingerprint>,
) -> Result<Step, Error> {
    if state.schema_version != STATE_VERSION {
        return Err(Error::UnsupportedVersion {
            document: Document::State,
            found: state.schema_version.to_string(),
            supported: STATE_VERSION,
        });
    }
    let fresh;
    let fingerprint = match prepared {
        Some(known) => known,
        None => {
            ctx.policy.validate()?;
            fresh = Fingerprint::default();
            &fresh
        }
    };
    // Who is asking comes first: someone who may not act learns nothing more.
    authorize(state, command.kind(), ctx)?;
    // A cancel is always let through: it only stops the closure, and what it
    // restores follows the locks this attempt issued, not the policy.
    if !matches!(
        command.kind(),
        CommandKind::MigratePolicy | CommandKind::Cancel
    ) {
        if let Some(pinned) = state.pinned_policy() {
            let given = fingerprint.get(ctx.policy);
            if given != pinned {
                return Err(Error::PolicyChanged {
                    pinned: pinned.to_owned(),
                    given: given.to_owned(),
                });
            }
        }
    }
    if let Some(seen) = state.clock {
        if ctx.now < seen {
            return Err(Error::TimeWentBackwards { now: ctx.now, seen });
        }
    }
    let given = ctx.audit_key.map(AuditKey::id);
    let started = state.audit.next_sequence > 0;
    let same_secret = match (ctx.audit_key, &state.audit.key_check) {
        (Some(key), Some(check)) => key.check() == *check,
        // A keyed chain without its check cannot be trusted with any secret.
        (Some(_), None) => state.audit.key.is_none(),
        (None, _) => true,
    };
    if (started || state.audit.key.is_some())
        && (state.audit.key.as_deref() != given || !same_secret)
    {
        return Err(Error::AuditKeyMismatch {
            chain: state.audit.key.clone(),
            given: given.map(str::to_owned),
        });
    }
    if let Some(snapshot) = ctx.snapshot {
        if snapshot.account.id != state.account {
            return Err(Error::WrongAccount {
                closure: state.account.to_string(),
                snapshot: snapshot.account.id.to_string(),
            });
        }
    }
    let mut machine = Machine {
        ctx,
        fingerprint,
        before: state,
        kind: command.kind(),
        next: state.clone(),
        effects: Vec::new(),
        events: Vec::new(),
        command_digest: command_digest(command),
        notices: Vec::new(),
    };
    machine.apply(command)?;
    machine.finish()
}

fn command_name(kind: CommandKind) -> String {
    kind.as_str().to_owned()
}

fn phase_name(kind: PhaseKind) -> String {
    kind.as_str().to_owned()
}

/// The digest of a command for the audit log, with what the person typed
/// withheld: the confirmation value (an email or a name) and the exit
/// comment are personal data, and the log outlives their purge. Every other
/// field (a hold, an outcome and its reason, a token digest) is covered.
fn command_digest(command: &Command) -> String {
    let mut covered = command.clone();
    match &mut covered {
        Command::Confirm { value } => value.clear(),
        Command::Request {
            feedback: Some(feedback),
            ..
        } => feedback.comment = None,
        _ => {}
    }
    canonical_digest(&covered)
}

/// How the actor stands towards the closure's account.
fn relation_of(state: &ClosureState, ctx: &Context<'_>) -> ActorRelation {
    // The requester keeps the authority it requested on over its request,
    // snapshot or not (an SSO super admin is otherwise recognised only from
    // the account's facts). A confirmation still re-assesses the fresh
    // snapshot as the actor, so one who lost that authority cannot confirm.
    if let Some(requester) = &state.requester {
        if requester.id == ctx.actor.id && requester.role == ctx.actor.role {
            return requester.relation;
        }
    }
    match ctx.actor.role {
        ActorRole::User if ctx.actor.id == state.account => ActorRelation::Holder,
        _ => match ctx.snapshot {
            Some(snapshot) => ctx.actor.relation_to(&snapshot.account),
            None => match ctx.actor.role {
                ActorRole::SupportOperator => ActorRelation::SupportOperator,
                ActorRole::System => ActorRelation::System,
                ActorRole::User => ActorRelation::Unrelated,
            },
        },
    }
}

/// Whether `actor` may confirm, cancel or replace a request made on the
/// authority of `requester`: the same authority, or a higher one (support
/// over everyone; the SSO super admin over the holder it manages). So a
/// holder cannot undo what support, its SSO super admin or the system
/// requested on its behalf.
pub(crate) fn may_act_on(requester: ActorRelation, actor: ActorRelation) -> bool {
    actor == ActorRelation::SupportOperator
        || actor == requester
        || (actor == ActorRelation::SsoSuperAdmin && requester == ActorRelation::Holder)
}

/// Who may give which command.
fn authorize(state: &ClosureState, kind: CommandKind, ctx: &Context<'_>) -> Result<(), Error> {
    let relation = relation_of(state, ctx);
    use ActorRelation as R;
    let system_requests = ctx.policy.authorization.inactivity_closure;
    let (ok, who) = match kind {
        CommandKind::Request => (
            matches!(relation, R::Holder | R::SsoSuperAdmin | R::SupportOperator)
                || (relation == R::System && system_requests),
            "only the account holder, its SSO super admin or support can (and the system, for inactivity, where the policy allows it)",
        ),
        CommandKind::Confirm | CommandKind::Cancel => (
            matches!(
                relation,
                R::Holder | R::SsoSuperAdmin | R::SupportOperator | R::System
            ),
            "only the account holder, its SSO super admin, support or the system can",
        ),
        CommandKind::Tick | CommandKind::ReportOutcome => (
            matches!(relation, R::System | R::SupportOperator),
            "only the host's system or support can",
        ),
        CommandKind::Retry
        | CommandKind::MigratePolicy
        | CommandKind::Abort
        | CommandKind::PlaceHold
        | CommandKind::ReleaseHold
        | CommandKind::ExtendDeadline => (
            relation == R::SupportOperator,
            "only a support operator can",
        ),
    };
    let not_allowed = |reason: String| Error::NotAllowed {
        actor: ctx.actor.id.to_string(),
        command: command_name(kind),
        reason,
    };
    if !ok {
        return Err(not_allowed(who.to_owned()));
    }
    // A live request belongs to whoever made it, on their authority.
    let live = matches!(
        state.phase,
        Phase::AwaitingConfirmation { .. } | Phase::Scheduled { .. } | Phase::Halted { .. }
    );
    let on_request = matches!(
        kind,
        CommandKind::Request | CommandKind::Confirm | CommandKind::Cancel
    );
    if let (true, true, Some(requester)) = (live, on_request, &state.requester) {
        if !may_act_on(requester.relation, relation) {
            return Err(not_allowed(format!(
                "the closure was requested by {} {}; only they, or someone with authority over them, can",
                requester.relation, requester.id
            )));
        }
    }
    Ok(())
}

struct Machine<'a> {
    ctx: &'a Context<'a>,
    fingerprint: &'a Fingerprint,
    before: &'a ClosureState,
    kind: CommandKind,
    next: ClosureState,
    effects: Vec<Effect>,
    events: Vec<(Event, Vec<EffectId>)>,
    /// The command's canonical digest, for the audit events.
    command_digest: String,
    notices: Vec<Notice>,
}

impl Machine<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    /// How the actor stands towards the account.
    fn relation(&self) -> ActorRelation {
        relation_of(self.before, self.ctx)
    }

    fn policy(&self) -> &ClosurePolicy {
        self.ctx.policy
    }

    /// The policy's fingerprint.
    fn fingerprint(&self) -> String {
        self.fingerprint.get(self.ctx.policy).to_owned()
    }

    fn wrong_state(&self) -> Error {
        Error::WrongState {
            command: command_name(self.kind),
            phase: phase_name(self.before.phase.kind()),
        }
    }

    fn record(&mut self, event: Event, effects: Vec<EffectId>) {
        self.events.push((event, effects));
    }

    fn snapshot(&self) -> Result<&Snapshot, Error> {
        let snapshot = self.ctx.snapshot.ok_or_else(|| {
            Error::invalid(
                "context.snapshot",
                format!(
                    "`{}` needs a fresh snapshot of the account",
                    command_name(self.kind)
                ),
            )
        })?;
        if snapshot.account.id != self.next.account {
            return Err(Error::WrongAccount {
                closure: self.next.account.to_string(),
                snapshot: snapshot.account.id.to_string(),
            });
        }
        Ok(snapshot)
    }

    fn later(&self, days: u32) -> Result<DateTime<Utc>, Error> {
        add_days(self.now(), days)
            .ok_or_else(|| Error::date_out_of_range("the end of the grace period"))
    }

    /// `now` plus `delta`, or a typed error naming `what` past the range.
    fn after(&self, delta: TimeDelta, what: &str) -> Result<DateTime<Utc>, Error> {
        self.now()
            .checked_add_signed(delta)
            .ok_or_else(|| Error::date_out_of_range(what))
    }

    /// Adds `action` to the state's effects (pending, or planned for a later
    /// stage) and returns its id, and whether it is new. An action already
    /// issued in this attempt keeps its record: keys are never issued twice.
    fn add(&mut self, action: Action, stage: Option<u32>, planned: bool) -> (EffectId, bool) {
        let attempt = self.next.attempt.clone().unwrap_or_else(|| {
            // Every effect is issued after a request, which sets the attempt.
            AttemptId::derive(
                &self.next.account,
                &self.next.closure,
                None,
                0,
                DateTime::<Utc>::UNIX_EPOCH,
            )
        });
        let id = EffectId::derive(&self.next.account, &self.next.closure, &attempt, &action);
        if self.next.effects.iter().any(|r| r.effect.id == id) {
            return (id, false);
        }
        let effect = Effect {
            id: id.clone(),
            action,
        };
        let status = if planned {
            EffectStatus::Planned
        } else {
            EffectStatus::Pending
        };
        if !planned {
            self.effects.push(effect.clone());
        }
        self.next.effects.push(EffectRecord {
            effect,
            stage,
            failures: 0,
            status,
        });
        (id, true)
    }

    /// Issues `action` now; its id when it is new in this attempt (the audit
    /// lists only what a step really issued).
    fn issue(&mut self, action: Action) -> Option<EffectId> {
        let (id, new) = self.add(action, None, false);
        new.then_some(id)
    }

    /// Moves the planned effects of `stage` to pending and emits them.
    fn issue_stage(&mut self, stage: u32) -> Vec<EffectId> {
        let mut ids = Vec::new();
        for record in &mut self.next.effects {
            if record.stage == Some(stage) && record.status == EffectStatus::Planned {
                record.status = EffectStatus::Pending;
                self.effects.push(record.effect.clone());
                ids.push(record.effect.id.clone());
            }
        }
        ids
    }

    fn apply(&mut self, command: &Command) -> Result<(), Error> {
        self.merge_snapshot_holds();
        match command {
            Command::Request {
                feedback,
                token_digest,
                reason,
            } => self.request(feedback.as_ref(), token_digest.as_deref(), *reason),
            Command::Confirm { value } => self.confirm(value),
            Command::Cancel => self.cancel(),
            Command::Tick => self.tick(),
            Command::ReportOutcome { effect, outcome } => self.report(effect, outcome),
            Command::Retry => self.retry(),
            Command::Abort => self.abort(),
            Command::PlaceHold { hold } => self.place_hold(hold),
            Command::ReleaseHold { hold } => self.release_hold(hold),
            Command::ExtendDeadline => self.extend_deadline(),
            Command::MigratePolicy { from } => self.migrate_policy(from),
        }
    }

    /// Merges the holds of the step's snapshot into the hold set: a new
    /// one is recorded, a known one widened (more classes, a later end),
    /// never narrowed; one known from an earlier snapshot and missing from
    /// this one stays, with a notice. Purged closures keep no holds.
    fn merge_snapshot_holds(&mut self) {
        let Some(snapshot) = self.ctx.snapshot else {
            return;
        };
        if self.before.phase.kind() == PhaseKind::Purged {
            return;
        }
        let now = self.now();
        let mut recorded = Vec::new();
        let mut widened = Vec::new();
        for hold in &snapshot.legal_holds {
            // As the host's records say it (a hold they date in the future
            // starts then, for `assess` and the machine alike).
            let incoming = hold.clone();
            match self.next.holds.iter_mut().find(|e| e.hold.id == hold.id) {
                None => {
                    self.next.holds.push(HoldEntry {
                        hold: incoming,
                        source: HoldSource::Snapshot,
                    });
                    recorded.push(hold.id.clone());
                }
                Some(entry) => {
                    let merged = widen(&entry.hold, &incoming);
                    if merged != entry.hold {
                        entry.hold = merged;
                        widened.push(hold.id.clone());
                    }
                }
            }
        }
        let changed = !recorded.is_empty() || !widened.is_empty();
        if !recorded.is_empty() {
            self.record(Event::HoldRecorded { holds: recorded }, Vec::new());
        }
        if !widened.is_empty() {
            self.record(Event::HoldWidened { holds: widened }, Vec::new());
        }
        if changed {
            self.recall_held_purges();
        }
        for entry in &self.next.holds {
            let listed = snapshot.legal_holds.iter().any(|h| h.id == entry.hold.id);
            if entry.source == HoldSource::Snapshot && !listed && entry.hold.in_force(now) {
                self.notices.push(Notice::HoldNotInSnapshot {
                    hold: entry.hold.id.clone(),
                });
            }
        }
    }

    /// Assesses the fresh snapshot as `actor`, with the closure's hold set;
    /// blockers refuse the command.
    fn assess_clear(&self, actor: &Actor) -> Result<Assessment, Error> {
        let report = self.assess_as(actor)?;
        if report.can_close {
            Ok(report)
        } else {
            Err(Error::Blocked {
                blockers: report.blockers,
            })
        }
    }

    /// Assesses the fresh snapshot as `actor` with the closure's hold set.
    fn assess_as(&self, actor: &Actor) -> Result<Assessment, Error> {
        let holds = self.next.hold_set();
        assess_with_holds(self.snapshot()?, actor, self.policy(), self.now(), &holds)
    }

    fn finish(mut self) -> Result<Step, Error> {
        let now = self.now();
        // The current request's deadline (a new request brings its own).
        if let Some(due) = self.next.response_due {
            if self.next.response_open(self.ctx.policy) && now > due {
                self.notices.push(Notice::ResponseOverdue { due });
            }
        }
        if self.events.is_empty() {
            // Nothing happened (an idle tick, a duplicate outcome): nothing to
            // log, and the state is the same but for the time it has now seen.
            // Recording the tick keeps `next_tick` from naming, again and
            // again, a moment that produced nothing (such as a purge under a hold).
            let mut state = self.before.clone();
            state.clock = Some(now);
            if self.kind == CommandKind::Tick {
                state.ticked = Some(now);
            }
            return Ok(Step {
                state,
                effects: Vec::new(),
                audit: Vec::new(),
                notices: self.notices,
            });
        }
        let from = self.before.phase.kind();
        let to = self.next.phase.kind();
        if !allowed(from, self.kind, to) {
            // A bug in the machine, refused rather than stored.
            return Err(Error::WrongState {
                command: command_name(self.kind),
                phase: phase_name(from),
            });
        }
        self.next.clock = Some(now);
        if self.kind == CommandKind::Tick {
            self.next.ticked = Some(now);
        }
        let mut audit = Vec::with_capacity(self.events.len());
        let key = self.ctx.audit_key;
        for (event, effects) in std::mem::take(&mut self.events) {
            let effects = effects
                .iter()
                .map(|id| {
                    let action = self
                        .next
                        .effects
                        .iter()
                        .chain(&self.before.effects)
                        .find(|r| r.effect.id == *id)
                        .map(|r| &r.effect.action);
                    match action {
                        Some(action) => AuditedEffect::of(id, action),
                        None => AuditedEffect {
                            id: id.clone(),
                            action: String::new(),
                            digest: String::new(),
                        },
                    }
                })
                .collect();
            let mut entry = AuditEvent {
                schema_version: AUDIT_VERSION,
                sequence: self.next.audit.next_sequence,
                at: now,
                closure: self.next.closure.clone(),
                account: self.next.account.clone(),
                actor: self.ctx.actor.id.clone(),
                actor_role: self.ctx.actor.role,
                command: self.kind,
                command_digest: self.command_digest.clone(),
                from,
                to,
                event,
                effects,
                key: None,
                previous: self.next.audit.head.clone(),
                hash: String::new(),
            };
            entry.seal(key);
            let next_sequence = entry.sequence.checked_add(1).ok_or_else(|| {
                Error::invalid("state.audit.next_sequence", "the audit log is full")
            })?;
            self.next.audit = AuditCursor {
                next_sequence,
                head: entry.hash.clone(),
                key: entry.key.clone(),
                key_check: key.map(AuditKey::check),
            };
            audit.push(entry);
        }
        Ok(Step {
            state: self.next,
            effects: self.effects,
            audit,
            notices: self.notices,
        })
    }
}

/// `known` widened by `incoming`: the union of their classes, the earlier
/// start and the later end (open-ended if either is). A snapshot can extend
/// a hold, never shorten it.
fn widen(known: &LegalHold, incoming: &LegalHold) -> LegalHold {
    let mut merged = known.clone();
    for class in &incoming.classes {
        if !merged.classes.contains(class) {
            merged.classes.push(*class);
        }
    }
    merged.placed_at = merged.placed_at.min(incoming.placed_at);
    merged.until = match (known.until, incoming.until) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (None, _) | (_, None) => None,
    };
    merged
}

#[cfg(test)]
mod tests;
