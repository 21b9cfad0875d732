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
//! The order a host calls things in:
//! 1. `request` (with the snapshot) → `confirm` (with the snapshot);
//! 2. `tick` on a schedule (with the snapshot until the account is closed):
//!    reminders, execution when due, retries, purges;
//! 3. perform each effect, then `report_outcome`; the next stage is issued
//!    when the current one has fully succeeded.
//!
//! ```
//! use offboard::machine::{step, ClosureState, Command, Context, PhaseKind};
//! use offboard::{Actor, ClosurePolicy, Snapshot};
//! let snapshot = Snapshot::from_json(include_str!("../../../examples/data/lone-user.json"))?;
//! let now = snapshot.taken_at;
//! let holder = Actor::holder(&snapshot.account, now);
//! let policy = ClosurePolicy::cascade();
//! let ctx = Context { now, actor: &holder, policy: &policy, snapshot: Some(&snapshot) };
//! let state = ClosureState::new("cl_1", snapshot.account.id.clone())?;
//! let requested = step(&state, &Command::Request { feedback: None, token_digest: None }, &ctx)?;
//! let confirm = Command::Confirm { value: "lena@example.org".into() };
//! let running = step(&requested.state, &confirm, &ctx)?;
//! assert_eq!(running.state.phase.kind(), PhaseKind::Executing); // no grace period in the cascade preset
//! assert!(!running.effects.is_empty());
//! # Ok::<(), offboard::Error>(())
//! ```

mod table;
mod types;

pub use table::{allowed, diagram, IN_EVERY_PHASE, TRANSITIONS};
pub use types::{
    ClosureState, Command, CommandKind, EffectRecord, EffectStatus, ExitFeedback, ExitReason,
    Notice, Outcome, Phase, PhaseKind, PurgeStatus, Receipt, Requester, Step, STATE_VERSION,
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::assess::{assess, Assessment};
use crate::audit::{sha256_hex, AuditCursor, AuditEvent};
use crate::error::{Document, EntityKind, Error};
use crate::model::{parse_versioned, Actor, ActorRelation, RecordClass, Snapshot, UserId};
use crate::plan::{execution_stages, Action, Effect, EffectId, Message, Recipient};
use crate::policy::{add_days, ClosurePolicy, ConfirmationMethod, Phrase};

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
}

impl ClosureState {
    /// A new, idle closure for `account`, under the host's id `closure`.
    pub fn new(closure: impl Into<String>, account: UserId) -> Result<ClosureState, Error> {
        let closure = closure.into();
        if closure.trim().is_empty() {
            return Err(Error::invalid("closure", "a closure needs a non-empty id"));
        }
        Ok(ClosureState {
            schema_version: STATE_VERSION,
            closure,
            account,
            phase: Phase::Idle,
            generation: 0,
            requester: None,
            requested_at: None,
            response_due: None,
            feedback: None,
            effects: Vec::new(),
            holds: Vec::new(),
            clock: None,
            audit: AuditCursor::default(),
        })
    }

    /// When the host should next send [`Command::Tick`], if anything is
    /// waiting on time: the end of the grace period or a reminder, a retry,
    /// a purge date, or the end of a hold that keeps a purge waiting. A halted
    /// closure waits on the account's facts, not on time: tick it when they
    /// change (or periodically).
    pub fn next_tick(&self, policy: &ClosurePolicy) -> Option<DateTime<Utc>> {
        let seen = self.clock;
        let retries = self.effects.iter().filter_map(|r| match r.status {
            EffectStatus::RetryScheduled { retry_at } => Some(retry_at),
            EffectStatus::Planned
            | EffectStatus::Pending
            | EffectStatus::Succeeded { .. }
            | EffectStatus::Failed { .. } => None,
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
                .map(|d| *execute_at - TimeDelta::days(i64::from(*d)))
                .chain([*execute_at])
                .collect(),
            Phase::Closed { purges, .. } => purges
                .iter()
                .filter(|p| p.effect.is_none())
                .map(|p| p.due)
                .chain(self.holds.iter().filter_map(|h| h.until))
                .collect(),
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Halted { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Purged { .. } => Vec::new(),
        };
        retries
            .chain(phase)
            .filter(|at| seen.is_none_or(|seen| *at > seen))
            .min()
    }

    /// Parses a stored state and checks its schema version.
    pub fn from_json(text: &str) -> Result<ClosureState, Error> {
        parse_versioned(text, Document::State, STATE_VERSION, |s: &ClosureState| {
            s.schema_version
        })
    }
}

/// Applies `command` to `state`. See the [module docs](self).
pub fn step(state: &ClosureState, command: &Command, ctx: &Context<'_>) -> Result<Step, Error> {
    if state.schema_version != STATE_VERSION {
        return Err(Error::UnsupportedVersion {
            document: Document::State,
            found: state.schema_version.to_string(),
            supported: STATE_VERSION,
        });
    }
    ctx.policy.validate()?;
    if let Some(seen) = state.clock {
        if ctx.now < seen {
            return Err(Error::TimeWentBackwards { now: ctx.now, seen });
        }
    }
    authorize(state, command.kind(), ctx)?;
    let mut machine = Machine {
        ctx,
        before: state,
        kind: command.kind(),
        next: state.clone(),
        effects: Vec::new(),
        events: Vec::new(),
        notices: Vec::new(),
    };
    machine.apply(command)?;
    machine.finish()
}

fn command_name(kind: CommandKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn phase_name(kind: PhaseKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Who may give which command.
fn authorize(state: &ClosureState, kind: CommandKind, ctx: &Context<'_>) -> Result<(), Error> {
    let relation = match ctx.actor.role {
        crate::model::ActorRole::User if ctx.actor.id == state.account => ActorRelation::Holder,
        _ => match ctx.snapshot {
            Some(snapshot) => ctx.actor.relation_to(&snapshot.account),
            None => match ctx.actor.role {
                crate::model::ActorRole::SupportOperator => ActorRelation::SupportOperator,
                crate::model::ActorRole::System => ActorRelation::System,
                crate::model::ActorRole::User => ActorRelation::Unrelated,
            },
        },
    };
    use ActorRelation as R;
    let (ok, who) = match kind {
        CommandKind::Request | CommandKind::Confirm | CommandKind::Cancel => (
            matches!(relation, R::Holder | R::SsoSuperAdmin | R::SupportOperator),
            "only the account holder, its SSO super admin or support can",
        ),
        CommandKind::Tick | CommandKind::ReportOutcome => (
            matches!(relation, R::System | R::SupportOperator),
            "only the host's system or support can",
        ),
        CommandKind::Retry
        | CommandKind::Abort
        | CommandKind::PlaceHold
        | CommandKind::ReleaseHold => (
            relation == R::SupportOperator,
            "only a support operator can",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::NotAllowed {
            actor: ctx.actor.id.to_string(),
            command: command_name(kind),
            reason: who.to_owned(),
        })
    }
}

struct Machine<'a> {
    ctx: &'a Context<'a>,
    before: &'a ClosureState,
    kind: CommandKind,
    next: ClosureState,
    effects: Vec<Effect>,
    events: Vec<(String, Vec<EffectId>)>,
    notices: Vec<Notice>,
}

impl Machine<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    fn policy(&self) -> &ClosurePolicy {
        self.ctx.policy
    }

    fn wrong_state(&self) -> Error {
        Error::WrongState {
            command: command_name(self.kind),
            phase: phase_name(self.before.phase.kind()),
        }
    }

    fn record(&mut self, event: &str, effects: Vec<EffectId>) {
        self.events.push((event.to_owned(), effects));
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
            return Err(Error::invalid(
                "context.snapshot.account.id",
                format!(
                    "the snapshot is of `{}`, but this closure is for `{}`",
                    snapshot.account.id, self.next.account
                ),
            ));
        }
        Ok(snapshot)
    }

    fn later(&self, days: u32) -> Result<DateTime<Utc>, Error> {
        add_days(self.now(), days)
            .ok_or_else(|| Error::invalid("now", "the date falls outside the supported range"))
    }

    /// Adds `action` to the state's effects (pending, or planned for a later
    /// stage) and returns its id. An action already issued in this generation
    /// keeps its record: keys are never issued twice.
    fn add(&mut self, action: Action, stage: Option<u32>, planned: bool) -> EffectId {
        let id = EffectId::derive(&self.next.closure, self.next.generation, &action);
        if self.next.effects.iter().any(|r| r.effect.id == id) {
            return id;
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
        id
    }

    fn issue(&mut self, action: Action) -> EffectId {
        self.add(action, None, false)
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
        match command {
            Command::Request {
                feedback,
                token_digest,
            } => self.request(feedback.as_ref(), token_digest.as_deref()),
            Command::Confirm { value } => self.confirm(value),
            Command::Cancel => self.cancel(),
            Command::Tick => self.tick(),
            Command::ReportOutcome { effect, outcome } => self.report(effect, outcome),
            Command::Retry => self.retry(),
            Command::Abort => self.abort(),
            Command::PlaceHold { hold } => self.place_hold(hold),
            Command::ReleaseHold { hold } => self.release_hold(hold),
        }
    }

    /// Assesses the fresh snapshot as `actor`; blockers refuse the command.
    fn assess_clear(&self, actor: &Actor) -> Result<Assessment, Error> {
        let report = assess(self.snapshot()?, actor, self.policy(), self.now())?;
        if report.can_close {
            Ok(report)
        } else {
            Err(Error::Blocked {
                blockers: report.blockers,
            })
        }
    }

    fn request(
        &mut self,
        feedback: Option<&ExitFeedback>,
        token_digest: Option<&str>,
    ) -> Result<(), Error> {
        let now = self.now();
        let again = match &self.before.phase {
            Phase::Idle => false,
            Phase::AwaitingConfirmation { .. } => true,
            Phase::Cancelled { cooldown_until, .. } if now < *cooldown_until => {
                return Err(Error::Cooldown {
                    until: *cooldown_until,
                })
            }
            Phase::Cancelled { .. } => false,
            Phase::Scheduled { .. }
            | Phase::Halted { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => return Err(self.wrong_state()),
        };
        self.assess_clear(self.ctx.actor)?;
        let (token_digest, token_expires_at) =
            match (&self.policy().confirmation.method, token_digest) {
                (ConfirmationMethod::Token { valid_minutes }, Some(digest)) => {
                    let valid = digest.len() == 64
                        && digest
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                    if !valid {
                        return Err(Error::invalid(
                        "command.token_digest",
                        "a token digest is the lower-case hex SHA-256 of the token (64 characters)",
                    ));
                    }
                    (
                        Some(digest.to_owned()),
                        Some(now + TimeDelta::minutes(i64::from(*valid_minutes))),
                    )
                }
                (ConfirmationMethod::Token { .. }, None) => {
                    return Err(Error::invalid(
                        "command.token_digest",
                        "this policy confirms by token: send the digest of the token you issue",
                    ))
                }
                (ConfirmationMethod::TypedPhrase { .. }, Some(_)) => {
                    return Err(Error::invalid(
                        "command.token_digest",
                        "this policy confirms by typed phrase; no token is used",
                    ))
                }
                (ConfirmationMethod::TypedPhrase { .. }, None) => (None, None),
            };
        let (failed_attempts, locked_until) = match &self.before.phase {
            Phase::AwaitingConfirmation {
                failed_attempts,
                locked_until,
                ..
            } => (*failed_attempts, *locked_until),
            _ => (0, None),
        };
        if !again {
            self.next.generation = self.next.generation.saturating_add(1);
            self.next.effects.clear();
            self.next.requested_at = Some(now);
            self.next.response_due = self.policy().statutory_regime.deadline(now);
        }
        if feedback.is_some() || !again {
            self.next.feedback = feedback.cloned();
        }
        self.next.requester = Some(Requester {
            id: self.ctx.actor.id.clone(),
            role: self.ctx.actor.role,
        });
        self.next.phase = Phase::AwaitingConfirmation {
            failed_attempts,
            locked_until,
            token_digest,
            token_expires_at,
        };
        self.record(if again { "re_requested" } else { "requested" }, Vec::new());
        Ok(())
    }

    fn confirm(&mut self, value: &str) -> Result<(), Error> {
        let now = self.now();
        let Phase::AwaitingConfirmation {
            failed_attempts,
            locked_until,
            token_digest,
            token_expires_at,
        } = &self.before.phase
        else {
            return Err(self.wrong_state());
        };
        if let Some(until) = locked_until.filter(|until| now < *until) {
            return Err(Error::LockedOut { until });
        }
        let right = match &self.policy().confirmation.method {
            ConfirmationMethod::TypedPhrase { phrase } => {
                let account = &self.snapshot()?.account;
                let expected = match phrase {
                    Phrase::Email => account.email.as_str(),
                    Phrase::DisplayName => account.display_name.as_str(),
                    Phrase::Fixed(text) => text.as_str(),
                };
                value.trim().to_lowercase() == expected.trim().to_lowercase()
            }
            ConfirmationMethod::Token { .. } => {
                if let Some(expired_at) = token_expires_at.filter(|at| now >= *at) {
                    return Err(Error::ConfirmationExpired { expired_at });
                }
                token_digest
                    .as_deref()
                    .is_some_and(|digest| sha256_hex(value.as_bytes()) == digest)
            }
        };
        if !right {
            let confirmation = &self.policy().confirmation;
            let failed = failed_attempts.saturating_add(1);
            let (failed, locked_until, event) = if failed >= confirmation.max_attempts {
                let until = now + TimeDelta::minutes(i64::from(confirmation.lockout_minutes));
                (0, Some(until), "locked_out")
            } else {
                (failed, None, "confirmation_failed")
            };
            let attempts_left = if locked_until.is_some() {
                0
            } else {
                confirmation.max_attempts - failed
            };
            self.notices.push(Notice::ConfirmationRejected {
                attempts_left,
                locked_until,
            });
            self.next.phase = Phase::AwaitingConfirmation {
                failed_attempts: failed,
                locked_until,
                token_digest: token_digest.clone(),
                token_expires_at: *token_expires_at,
            };
            self.record(event, Vec::new());
            return Ok(());
        }
        let report = self.assess_clear(self.ctx.actor)?;
        let execute_at = self.later(self.policy().grace_period_days)?;
        let mut issued = Vec::new();
        if self.policy().lifecycle.lock_on_confirm {
            issued.push(self.issue(Action::RevokeSessions));
            issued.push(self.issue(Action::BlockWrites));
        }
        if execute_at > now {
            issued.push(self.issue(Action::Notify {
                recipient: Recipient::Holder,
                message: Message::Scheduled { execute_at },
            }));
        }
        for tenant in report
            .consequences
            .tenants_deleted
            .iter()
            .filter(|t| !t.members_removed.is_empty())
        {
            let recipient = Recipient::CoMembers {
                tenant: tenant.tenant.clone(),
            };
            issued.push(self.issue(Action::Notify {
                recipient,
                message: Message::TenantWillBeDeleted { execute_at },
            }));
        }
        self.next.phase = Phase::Scheduled {
            confirmed_at: now,
            execute_at,
            reminders_sent: Vec::new(),
        };
        if execute_at <= now {
            self.start_execution(report, issued);
        } else {
            self.record("confirmed", issued);
        }
        Ok(())
    }

    fn cancel(&mut self) -> Result<(), Error> {
        let now = self.now();
        let locked = match &self.before.phase {
            Phase::AwaitingConfirmation { .. } => false,
            Phase::Scheduled { .. } | Phase::Halted { .. } => {
                self.policy().lifecycle.lock_on_confirm
            }
            Phase::Idle
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => return Err(self.wrong_state()),
        };
        let cooldown_until = now + TimeDelta::hours(i64::from(self.policy().cooldown_hours));
        let mut issued = Vec::new();
        if locked {
            issued.push(self.issue(Action::RestoreAccess));
        }
        issued.push(self.issue(Action::Notify {
            recipient: Recipient::Holder,
            message: Message::Cancelled,
        }));
        self.next.phase = Phase::Cancelled {
            cancelled_at: now,
            cooldown_until,
        };
        self.record("cancelled", issued);
        Ok(())
    }

    fn tick(&mut self) -> Result<(), Error> {
        let now = self.now();
        let mut retried = Vec::new();
        for record in &mut self.next.effects {
            if matches!(record.status, EffectStatus::RetryScheduled { retry_at } if retry_at <= now)
            {
                record.status = EffectStatus::Pending;
                self.effects.push(record.effect.clone());
                retried.push(record.effect.id.clone());
            }
        }
        if !retried.is_empty() {
            self.record("effects_reissued", retried);
        }
        match self.before.phase.clone() {
            Phase::Scheduled {
                execute_at,
                mut reminders_sent,
                confirmed_at,
            } => {
                if now >= execute_at {
                    return self.execute_if_clear();
                }
                let mut days: Vec<u32> = self.policy().lifecycle.reminder_days_before.clone();
                days.sort_unstable_by(|a, b| b.cmp(a));
                let mut issued = Vec::new();
                for d in days {
                    let due = execute_at - TimeDelta::days(i64::from(d));
                    if now >= due && !reminders_sent.contains(&d) {
                        reminders_sent.push(d);
                        let message = Message::Reminder {
                            execute_at,
                            days_left: d,
                        };
                        issued.push(self.issue(Action::Notify {
                            recipient: Recipient::Holder,
                            message,
                        }));
                    }
                }
                if !issued.is_empty() {
                    self.next.phase = Phase::Scheduled {
                        confirmed_at,
                        execute_at,
                        reminders_sent,
                    };
                    self.record("reminder_sent", issued);
                }
                Ok(())
            }
            Phase::Halted { .. } => self.execute_if_clear(),
            Phase::Closed { .. } => {
                self.issue_purges();
                Ok(())
            }
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Purged { .. } => Ok(()),
        }
    }

    /// Re-checks the fresh snapshot as the requester and either starts the
    /// plan or halts with the new blockers.
    fn execute_if_clear(&mut self) -> Result<(), Error> {
        let requester = self
            .next
            .requester
            .clone()
            .ok_or_else(|| Error::invalid("requester", "the state has no requester"))?;
        // Freshness of sign-in was checked at confirmation; execution acts on
        // the confirmed request, so only the account's own facts are re-checked.
        let actor = Actor {
            id: requester.id,
            role: requester.role,
            reauthenticated_at: Some(self.now()),
        };
        let report = assess(self.snapshot()?, &actor, self.policy(), self.now())?;
        if report.can_close {
            self.start_execution(report, Vec::new());
            return Ok(());
        }
        let unchanged = matches!(&self.before.phase, Phase::Halted { blockers, .. } if *blockers == report.blockers);
        if unchanged {
            return Ok(());
        }
        let mut issued = Vec::new();
        if !matches!(self.before.phase, Phase::Halted { .. }) {
            issued.push(self.issue(Action::Notify {
                recipient: Recipient::Holder,
                message: Message::Halted,
            }));
        }
        self.notices.push(Notice::Halted {
            blockers: report.blockers.clone(),
        });
        self.next.phase = Phase::Halted {
            halted_at: self.now(),
            blockers: report.blockers,
        };
        self.record("halted", issued);
        Ok(())
    }

    fn start_execution(&mut self, report: Assessment, mut issued: Vec<EffectId>) {
        let stages = execution_stages(&report.consequences);
        for (index, actions) in (0u32..).zip(stages.iter()) {
            for action in actions {
                self.add(action.clone(), Some(index), true);
            }
        }
        let count = u32::try_from(stages.len()).unwrap_or(u32::MAX);
        issued.extend(self.issue_stage(0));
        self.next.phase = Phase::Executing {
            started_at: self.now(),
            stage: 0,
            stages: count,
        };
        self.record("execution_started", issued);
    }

    fn report(&mut self, id: &EffectId, outcome: &Outcome) -> Result<(), Error> {
        let now = self.now();
        let index = self
            .next
            .effects
            .iter()
            .position(|r| r.effect.id == *id)
            .ok_or_else(|| Error::UnknownEffect {
                effect: id.to_string(),
                detail: String::new(),
            })?;
        let record = self
            .next
            .effects
            .get(index)
            .cloned()
            .ok_or_else(|| Error::UnknownEffect {
                effect: id.to_string(),
                detail: String::new(),
            })?;
        match record.status {
            EffectStatus::Planned => {
                return Err(Error::UnknownEffect {
                    effect: id.to_string(),
                    detail: ": it is planned but not issued yet".to_owned(),
                })
            }
            EffectStatus::Succeeded { .. } | EffectStatus::Failed { .. } => {
                self.notices
                    .push(Notice::DuplicateOutcome { effect: id.clone() });
                return Ok(());
            }
            EffectStatus::Pending | EffectStatus::RetryScheduled { .. } => {}
        }
        let retry = self.policy().retry;
        let (status, failures) = match outcome {
            Outcome::Succeeded => (EffectStatus::Succeeded { at: now }, record.failures),
            Outcome::RetryableFailure { reason } => {
                let failures = record.failures.saturating_add(1);
                if failures >= retry.max_attempts {
                    (
                        EffectStatus::Failed {
                            reason: format!("{reason} (after {failures} attempts)"),
                        },
                        failures,
                    )
                } else {
                    (
                        EffectStatus::RetryScheduled {
                            retry_at: now + retry.delay(failures),
                        },
                        failures,
                    )
                }
            }
            Outcome::PermanentFailure { reason } => (
                EffectStatus::Failed {
                    reason: reason.clone(),
                },
                record.failures.saturating_add(1),
            ),
        };
        if let Some(slot) = self.next.effects.get_mut(index) {
            slot.status = status.clone();
            slot.failures = failures;
        }
        match status {
            EffectStatus::Succeeded { .. } => {
                self.record("effect_succeeded", vec![id.clone()]);
                self.after_success(&record);
            }
            EffectStatus::RetryScheduled { .. } => {
                self.record("effect_retry_scheduled", vec![id.clone()])
            }
            EffectStatus::Failed { reason } => {
                if let (Some(stage), Phase::Executing { stages, .. }) =
                    (record.stage, &self.before.phase)
                {
                    self.next.phase = Phase::Failed {
                        failed_at: now,
                        effect: id.clone(),
                        reason,
                        stage,
                        stages: *stages,
                    };
                }
                self.record("effect_failed", vec![id.clone()]);
            }
            EffectStatus::Planned | EffectStatus::Pending => {}
        }
        Ok(())
    }

    fn after_success(&mut self, record: &EffectRecord) {
        let now = self.now();
        match self.next.phase.clone() {
            Phase::Executing {
                started_at,
                stage,
                stages,
            } if record.stage == Some(stage) => {
                let stage_done = self
                    .next
                    .effects
                    .iter()
                    .filter(|r| r.stage == Some(stage))
                    .all(|r| matches!(r.status, EffectStatus::Succeeded { .. }));
                if !stage_done {
                    return;
                }
                if stage + 1 < stages {
                    let issued = self.issue_stage(stage + 1);
                    self.next.phase = Phase::Executing {
                        started_at,
                        stage: stage + 1,
                        stages,
                    };
                    self.record("stage_started", issued);
                } else {
                    self.close();
                }
            }
            Phase::Closed {
                closed_at,
                mut purges,
                receipt,
            } => {
                for purge in &mut purges {
                    if purge.effect.as_ref() == Some(&record.effect.id) {
                        purge.purged_at = Some(now);
                    }
                }
                if purges.iter().all(|p| p.purged_at.is_some()) {
                    self.next.phase = Phase::Purged {
                        purged_at: now,
                        receipt,
                    };
                    self.record("purged", Vec::new());
                } else {
                    self.next.phase = Phase::Closed {
                        closed_at,
                        purges,
                        receipt,
                    };
                }
            }
            _ => {}
        }
    }

    fn close(&mut self) {
        let now = self.now();
        let requested_at = self.next.requested_at.unwrap_or(now);
        let retention = self.policy().retention;
        let purges = RecordClass::ALL
            .iter()
            .map(|&class| PurgeStatus {
                class,
                due: retention
                    .period(class)
                    .after(requested_at)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                effect: None,
                purged_at: None,
            })
            .collect();
        let receipt = Receipt {
            closure: self.next.closure.clone(),
            account: self.next.account.clone(),
            policy: self.policy().name.clone(),
            requested_at,
            closed_at: now,
            effects_performed: self
                .next
                .effects
                .iter()
                .filter(|r| r.stage.is_some())
                .count() as u64,
            exit_reason: self.next.feedback.as_ref().map(|f| f.reason),
        };
        self.next.phase = Phase::Closed {
            closed_at: now,
            purges,
            receipt,
        };
        self.record("closed", Vec::new());
        self.issue_purges();
    }

    /// Issues the purge of every class that is due and not held.
    fn issue_purges(&mut self) {
        let now = self.now();
        let Phase::Closed {
            closed_at,
            mut purges,
            receipt,
        } = self.next.phase.clone()
        else {
            return;
        };
        let snapshot_holds = self
            .ctx
            .snapshot
            .map(|s| s.legal_holds.as_slice())
            .unwrap_or_default();
        let mut issued = Vec::new();
        for purge in purges
            .iter_mut()
            .filter(|p| p.effect.is_none() && p.due <= now)
        {
            let holds: Vec<_> = self
                .next
                .holds
                .iter()
                .chain(snapshot_holds)
                .filter(|h| h.in_force(now) && h.covers(purge.class))
                .map(|h| h.id.clone())
                .collect();
            if holds.is_empty() {
                let id = self.issue(Action::Purge { class: purge.class });
                purge.effect = Some(id.clone());
                issued.push(id);
            } else {
                self.notices.push(Notice::PurgeHeld {
                    class: purge.class,
                    holds,
                });
            }
        }
        if !issued.is_empty() {
            self.next.phase = Phase::Closed {
                closed_at,
                purges,
                receipt,
            };
            self.record("purge_issued", issued);
        }
    }

    fn retry(&mut self) -> Result<(), Error> {
        let Phase::Failed { stage, stages, .. } = self.before.phase.clone() else {
            return Err(self.wrong_state());
        };
        // Every effect of the stage that failed goes again, not only the one
        // that failed first: the stage completes only when all of them succeed.
        let failed_in_stage = |r: &EffectRecord| {
            r.stage == Some(stage) && matches!(r.status, EffectStatus::Failed { .. })
        };
        let mut issued = Vec::new();
        for record in self.next.effects.iter_mut().filter(|r| failed_in_stage(r)) {
            record.status = EffectStatus::Pending;
            record.failures = 0;
            self.effects.push(record.effect.clone());
            issued.push(record.effect.id.clone());
        }
        self.next.phase = Phase::Executing {
            started_at: self.now(),
            stage,
            stages,
        };
        self.record("retried", issued);
        Ok(())
    }

    fn abort(&mut self) -> Result<(), Error> {
        let restore = match self.before.phase {
            Phase::Halted { .. } => self.policy().lifecycle.lock_on_confirm,
            Phase::Failed { .. } => false,
            _ => return Err(self.wrong_state()),
        };
        let mut issued = Vec::new();
        if restore {
            issued.push(self.issue(Action::RestoreAccess));
        }
        self.next.phase = Phase::Aborted {
            aborted_at: self.now(),
        };
        self.record("aborted", issued);
        Ok(())
    }

    fn place_hold(&mut self, hold: &crate::model::LegalHold) -> Result<(), Error> {
        if self.next.holds.iter().any(|h| h.id == hold.id) {
            return Err(Error::DuplicateId {
                kind: EntityKind::LegalHold,
                id: hold.id.to_string(),
                path: "command.hold".to_owned(),
            });
        }
        if hold.classes.is_empty() {
            return Err(Error::invalid(
                "command.hold.classes",
                "a legal hold covers at least one record class",
            ));
        }
        if hold.until.is_some_and(|until| until <= hold.placed_at) {
            return Err(Error::invalid(
                "command.hold.until",
                "a legal hold cannot end before it is placed",
            ));
        }
        self.next.holds.push(hold.clone());
        self.record("hold_placed", Vec::new());
        Ok(())
    }

    fn release_hold(&mut self, id: &crate::model::LegalHoldId) -> Result<(), Error> {
        let before = self.next.holds.len();
        self.next.holds.retain(|h| h.id != *id);
        if self.next.holds.len() == before {
            return Err(Error::DanglingReference {
                path: "command.hold".to_owned(),
                kind: EntityKind::LegalHold,
                id: id.to_string(),
            });
        }
        self.record("hold_released", Vec::new());
        // Releasing a hold re-evaluates the purges it kept waiting.
        self.issue_purges();
        Ok(())
    }

    fn finish(mut self) -> Result<Step, Error> {
        let now = self.now();
        if let Some(due) = self.before.response_due {
            let open = !matches!(
                self.next.phase.kind(),
                PhaseKind::Idle
                    | PhaseKind::Closed
                    | PhaseKind::Purged
                    | PhaseKind::Cancelled
                    | PhaseKind::Aborted
            );
            if open && now > due {
                self.notices.push(Notice::ResponseOverdue { due });
            }
        }
        if self.events.is_empty() {
            // Nothing changed (an idle tick, a duplicate outcome): same state, nothing to log.
            return Ok(Step {
                state: self.before.clone(),
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
        let mut audit = Vec::with_capacity(self.events.len());
        for (event, effects) in std::mem::take(&mut self.events) {
            let mut entry = AuditEvent {
                sequence: self.next.audit.next_sequence,
                at: now,
                closure: self.next.closure.clone(),
                actor: self.ctx.actor.id.clone(),
                actor_role: self.ctx.actor.role,
                command: self.kind,
                from,
                to,
                event,
                effects,
                previous: self.next.audit.head.clone(),
                hash: String::new(),
            };
            entry.hash = entry.compute_hash();
            self.next.audit = AuditCursor {
                next_sequence: entry.sequence + 1,
                head: entry.hash.clone(),
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

#[cfg(test)]
mod tests;
