//! The host loop, once, as a sans-IO driver.
//!
//! Every host of the machine runs the same loop: perform the effects that are
//! due, report each outcome, tick when [`ClosureState::next_tick`] says,
//! and hand in a fresh snapshot while the closure still needs one. A
//! [`Driver`] keeps that loop's bookkeeping, in the spirit of quinn-proto's
//! `handle_*` / `poll_*` pairs: the host feeds it commands, outcomes and
//! timeouts, and polls it for the effects to perform and the time to wake.
//! It performs no I/O and reads no clock; the host owns both, and stores
//! each [`Step`] it is handed (state, audit events, notices) as it likes.
//!
//! [`Driver::drive`] runs the whole loop against a [`Host`] for hosts that
//! can perform effects synchronously (tests, simulations, the CLI); an
//! asynchronous host calls the `handle_*` and `poll_*` methods itself.
//!
//! ```
//! use offboard::machine::{ClosureState, Command, Context, Driver, Host, Outcome, PhaseKind};
//! use offboard::plan::Effect;
//! use offboard::{Actor, ClosurePolicy, Snapshot};
//!
//! /// A host whose every effect succeeds; the account is gone once deleted.
//! struct Fake { snapshot: Option<Snapshot>, performed: usize }
//! impl Host for Fake {
//!     fn perform(&mut self, effect: &Effect) -> Outcome {
//!         self.performed += 1;
//!         if effect.action.kind() == "delete_account" { self.snapshot = None; }
//!         Outcome::Succeeded
//!     }
//!     fn snapshot(&self) -> Option<&Snapshot> { self.snapshot.as_ref() }
//! }
//!
//! let snapshot = Snapshot::from_json(include_str!("../../data/lone-user.json"))?;
//! let now = snapshot.taken_at;
//! let policy = ClosurePolicy::cascade();
//! let holder = Actor::holder(&snapshot.account, now);
//! let mut driver = Driver::new(ClosureState::new("cl_1", snapshot.account.id.clone())?);
//! let ctx = Context::new(now, &holder, &policy).with_snapshot(&snapshot);
//! driver.handle(&Command::request(), &ctx)?;
//! driver.handle(&Command::confirm("lena@example.org"), &ctx)?;
//!
//! let mut host = Fake { snapshot: Some(snapshot), performed: 0 };
//! let worker = Actor::system();
//! let ten_years = now + chrono::TimeDelta::days(3700);
//! driver.drive(&mut host, &worker, &policy, now, ten_years, 1_000)?;
//! assert_eq!(driver.state().phase.kind(), PhaseKind::Purged);
//! assert!(driver.state().waiting(&policy).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};

use super::types::{ClosureState, Command, EffectStatus, Outcome, Step, Waiting};
use super::{step, Context};
use crate::audit::AuditKey;
use crate::error::Error;
use crate::model::{Actor, Snapshot};
use crate::plan::{Effect, EffectId};
use crate::policy::ClosurePolicy;

/// What [`Driver::drive`] needs from a synchronous host.
pub trait Host {
    /// Performs `effect` (idempotently, keyed by its id) and says how it went.
    fn perform(&mut self, effect: &Effect) -> Outcome;
    /// A fresh snapshot of the account, while the host still has one.
    fn snapshot(&self) -> Option<&Snapshot>;
    /// The host's key for a keyed audit chain; the default keeps a plain chain.
    fn audit_key(&self) -> Option<&AuditKey> {
        None
    }
    /// Called with every accepted step, for the host to store the state and
    /// append the audit events; the default keeps nothing.
    fn stepped(&mut self, step: &Step) {
        let _ = step;
    }
}

/// One closure's host loop: the state, and the effects due to be performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    state: ClosureState,
    due: VecDeque<Effect>,
}

impl Driver {
    /// A driver for a stored state. Effects the state records as pending
    /// were issued and never reported (the host may have crashed between
    /// performing one and reporting it): they are due again, under the same
    /// idempotency keys.
    pub fn new(state: ClosureState) -> Driver {
        let due = state
            .effects
            .iter()
            .filter(|r| r.status == EffectStatus::Pending)
            .map(|r| r.effect.clone())
            .collect();
        Driver { state, due }
    }

    /// The current state (what the host stores).
    pub fn state(&self) -> &ClosureState {
        &self.state
    }

    /// The state, giving up the driver.
    pub fn into_state(self) -> ClosureState {
        self.state
    }

    /// Applies `command`. An accepted step replaces the state, queues its
    /// effects and is returned for the host to store; a refused one changes
    /// nothing, the queue included. An effect the new state no longer has
    /// pending (reported, withdrawn by a cancel or an abort, or called back
    /// by a hold) leaves the queue.
    pub fn handle(&mut self, command: &Command, ctx: &Context<'_>) -> Result<Step, Error> {
        let step = step(&self.state, command, ctx)?;
        self.state = step.state.clone();
        // One pass over the state, not one per due effect: a plan of ten
        // thousand effects stays linear.
        let pending: HashSet<&EffectId> = self
            .state
            .effects
            .iter()
            .filter(|r| r.status == EffectStatus::Pending)
            .map(|r| &r.effect.id)
            .collect();
        self.due.retain(|e| pending.contains(&e.id));
        self.due.extend(step.effects.iter().cloned());
        Ok(step)
    }

    /// Reports how `effect` went.
    pub fn handle_outcome(
        &mut self,
        effect: &EffectId,
        outcome: Outcome,
        ctx: &Context<'_>,
    ) -> Result<Step, Error> {
        let command = Command::ReportOutcome {
            effect: effect.clone(),
            outcome,
        };
        self.handle(&command, ctx)
    }

    /// Lets time pass to `ctx.now`: a tick.
    pub fn handle_timeout(&mut self, ctx: &Context<'_>) -> Result<Step, Error> {
        self.handle(&Command::Tick, ctx)
    }

    /// The next effect to perform, if any. Each is handed out once; its
    /// outcome comes back through [`Driver::handle_outcome`]. (A report the
    /// machine refuses leaves it unreported: [`Driver::new`] on the stored
    /// state hands it out again.)
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.due.pop_front()
    }

    /// When to call [`Driver::handle_timeout`] next: [`ClosureState::next_tick`].
    pub fn poll_timeout(&self, policy: &ClosurePolicy) -> Option<DateTime<Utc>> {
        self.state.next_tick(policy)
    }

    /// Whether the next tick needs a fresh snapshot:
    /// [`ClosureState::needs_snapshot`].
    pub fn needs_snapshot(&self) -> bool {
        self.state.needs_snapshot()
    }

    /// What the closure waits for: [`ClosureState::waiting`].
    pub fn waiting(&self, policy: &ClosurePolicy) -> Vec<Waiting> {
        self.state.waiting(policy)
    }

    /// Runs the loop against `host` from `now` until nothing a host can do
    /// by itself is left before `until`: every due effect performed and
    /// reported, every tick up to `until` taken. It stops early after
    /// `max_steps` steps (a bound, so a host that never stops failing cannot
    /// loop forever). Returns the time it got to; what the closure still
    /// waits for is [`Driver::waiting`] (a confirmation, blockers, an
    /// operator, a hold, or a time past `until`).
    pub fn drive(
        &mut self,
        host: &mut impl Host,
        actor: &Actor,
        policy: &ClosurePolicy,
        mut now: DateTime<Utc>,
        until: DateTime<Utc>,
        max_steps: usize,
    ) -> Result<DateTime<Utc>, Error> {
        for _ in 0..max_steps {
            let step = if let Some(effect) = self.poll_effect() {
                let outcome = host.perform(&effect);
                let ctx = Context {
                    now,
                    actor,
                    policy,
                    snapshot: host.snapshot(),
                    audit_key: host.audit_key(),
                };
                self.handle_outcome(&effect.id, outcome, &ctx)?
            } else {
                match self.poll_timeout(policy) {
                    Some(at) if at <= until => {
                        now = now.max(at);
                        let ctx = Context {
                            now,
                            actor,
                            policy,
                            snapshot: host.snapshot(),
                            audit_key: host.audit_key(),
                        };
                        self.handle_timeout(&ctx)?
                    }
                    Some(_) | None => return Ok(now),
                }
            };
            host.stepped(&step);
        }
        Ok(now)
    }
}
