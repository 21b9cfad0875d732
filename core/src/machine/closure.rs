//! A closure kept in memory between steps: the typed state and the parsed,
//! checked policy live in one value, so a step does neither parse nor
//! re-check them, and answers only what changed.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{step_prepared, ClosureState, Command, Context, Fingerprint, Notice, PhaseKind};
use crate::audit::{AuditEvent, AuditKey};
use crate::error::{Document, Error};
use crate::model::Snapshot;
use crate::plan::Effect;
use crate::{Actor, ClosurePolicy};

/// One closure, its policy and (for a keyed chain) its audit key, held
/// between steps. [`Closure::step`] applies a command in place and answers
/// the [`Change`]; a refused command leaves the closure as it was.
///
/// It does what [`step`](super::step) does, minus the work a host that
/// keeps the closure in memory would repeat at every call: checking the
/// policy and taking its fingerprint (once, here), and handing back the
/// whole new state (read it with [`Closure::state`] when it is to be
/// stored).
///
/// ```
/// use offboard::prelude::*;
/// use offboard::machine::{Closure, Command, ClosureState};
///
/// let snapshot = Snapshot::from_json(include_str!("../../data/lone-user.json"))?;
/// let holder = Actor::holder(&snapshot.account, snapshot.taken_at);
/// let state = ClosureState::new("cl_1", snapshot.account.id.clone())?;
/// let mut closure = Closure::new(state, ClosurePolicy::cascade())?;
/// let change = closure.step(&Command::request(), &holder, Some(&snapshot), snapshot.taken_at)?;
/// assert_eq!(change.phase, PhaseKind::AwaitingConfirmation);
/// assert_eq!(change.version, closure.version());
/// # Ok::<(), offboard::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Closure {
    state: ClosureState,
    policy: ClosurePolicy,
    fingerprint: Fingerprint,
    audit_key: Option<AuditKey>,
}

/// What one accepted step changed: the closure's new version and phase,
/// the effects to perform now, the audit events to append, the notices, and
/// when to tick next.
#[must_use = "the host must perform the effects and append the audit events"]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Change {
    /// The closure's version after the step: the number of audit events
    /// its chain holds. A step that logged nothing (an idle tick) leaves it.
    pub version: u64,
    /// The phase after the step.
    pub phase: PhaseKind,
    /// Effects to perform now.
    pub effects: Vec<Effect>,
    /// Events to append to the audit log.
    pub audit: Vec<AuditEvent>,
    /// Things the host should tell the person or an operator.
    pub notices: Vec<Notice>,
    /// When to tick next, if ever (see [`ClosureState::next_tick`]).
    pub next_tick: Option<DateTime<Utc>>,
}

impl Closure {
    /// Holds `state` under `policy`. Refused: a policy that does not
    /// validate, a state of another schema version.
    pub fn new(state: ClosureState, policy: ClosurePolicy) -> Result<Closure, Error> {
        if state.schema_version != super::STATE_VERSION {
            return Err(Error::UnsupportedVersion {
                document: Document::State,
                found: state.schema_version.to_string(),
                supported: super::STATE_VERSION,
            });
        }
        policy.validate()?;
        Ok(Closure {
            fingerprint: Fingerprint::of(&policy),
            state,
            policy,
            audit_key: None,
        })
    }

    /// The same, keyed: every step signs its audit events with `key`.
    pub fn with_audit_key(mut self, key: AuditKey) -> Closure {
        self.audit_key = Some(key);
        self
    }

    /// Applies `command`, given by `actor` at `now`, with the account's
    /// `snapshot` where the command needs one (see
    /// [`ClosureState::needs_snapshot`]). On refusal the closure is unchanged.
    pub fn step(
        &mut self,
        command: &Command,
        actor: &Actor,
        snapshot: Option<&Snapshot>,
        now: DateTime<Utc>,
    ) -> Result<Change, Error> {
        let ctx = Context {
            now,
            actor,
            policy: &self.policy,
            snapshot,
            audit_key: self.audit_key.as_ref(),
        };
        let step = step_prepared(&self.state, command, &ctx, Some(&self.fingerprint))?;
        self.state = step.state;
        Ok(Change {
            version: self.version(),
            phase: self.state.phase.kind(),
            effects: step.effects,
            audit: step.audit,
            notices: step.notices,
            next_tick: self.state.next_tick(&self.policy),
        })
    }

    /// The state now, to store.
    pub fn state(&self) -> &ClosureState {
        &self.state
    }

    /// The state, giving up the handle.
    pub fn into_state(self) -> ClosureState {
        self.state
    }

    /// The policy the closure runs under.
    pub fn policy(&self) -> &ClosurePolicy {
        &self.policy
    }

    /// The closure's version: the number of events in its audit chain.
    pub fn version(&self) -> u64 {
        self.state.audit.next_sequence
    }

    /// When to tick next, if ever.
    pub fn next_tick(&self) -> Option<DateTime<Utc>> {
        self.state.next_tick(&self.policy)
    }
}

#[cfg(test)]
mod tests {
    // Test code fails by panicking: that is how a test reports.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::machine::{step, Outcome, Step};
    use crate::plan::Action;
    use crate::ErrorCode;

    fn sample() -> Snapshot {
        Snapshot::from_json(include_str!("../../data/lone-user.json")).unwrap()
    }

    /// Runs one closure to its end twice in lock step, through `step` and
    /// through the handle, and checks after every command that both hold
    /// the same state and answered the same effects, events and notices.
    fn lock_step(policy: ClosurePolicy, key: Option<AuditKey>) -> usize {
        let snapshot = sample();
        let mut now = snapshot.taken_at;
        let holder = Actor::holder(&snapshot.account, now);
        let worker = Actor::system();
        let fresh = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
        let mut state = fresh.clone();
        let mut handle = Closure::new(fresh, policy.clone()).unwrap();
        if let Some(key) = &key {
            handle = handle.with_audit_key(key.clone());
        }
        let mut steps = 0;
        let mut run = |state: &mut ClosureState,
                       handle: &mut Closure,
                       command: Command,
                       actor: &Actor,
                       snapshot: Option<&Snapshot>,
                       now: DateTime<Utc>|
         -> Vec<Effect> {
            let ctx = Context {
                now,
                actor,
                policy: &policy,
                snapshot,
                audit_key: key.as_ref(),
            };
            let Step {
                state: next,
                effects,
                audit,
                notices,
            } = step(state, &command, &ctx).unwrap();
            let change = handle.step(&command, actor, snapshot, now).unwrap();
            assert_eq!(handle.state(), &next, "after {command:?}");
            assert_eq!(change.effects, effects);
            assert_eq!(change.audit, audit);
            assert_eq!(change.notices, notices);
            assert_eq!(change.phase, next.phase.kind());
            assert_eq!(change.version, next.audit.next_sequence);
            assert_eq!(change.next_tick, next.next_tick(&policy));
            *state = next;
            steps += 1;
            effects
        };
        run(
            &mut state,
            &mut handle,
            Command::request(),
            &holder,
            Some(&snapshot),
            now,
        );
        let phrase = policy
            .confirmation_phrase(&snapshot.account)
            .unwrap_or_default();
        let mut due = run(
            &mut state,
            &mut handle,
            Command::confirm(phrase),
            &holder,
            Some(&snapshot),
            now,
        );
        let mut account_exists = true;
        loop {
            while let Some(effect) = due.pop() {
                account_exists &= !matches!(effect.action, Action::DeleteAccount);
                let snap = account_exists.then_some(&snapshot);
                let command = Command::report(effect.id, Outcome::Succeeded);
                due.extend(run(&mut state, &mut handle, command, &worker, snap, now));
            }
            let Some(at) = state.next_tick(&policy) else {
                break;
            };
            now = now.max(at);
            let snap = (account_exists && state.needs_snapshot()).then_some(&snapshot);
            due = run(&mut state, &mut handle, Command::Tick, &worker, snap, now);
        }
        assert_eq!(handle.state().phase.kind(), PhaseKind::Purged);
        steps
    }

    #[test]
    fn the_handle_steps_exactly_as_step_does_to_the_end() {
        let plain = lock_step(ClosurePolicy::cascade(), None);
        let mut graced = ClosurePolicy::cascade();
        graced.grace_period_days = 7;
        let keyed = lock_step(graced, Some(AuditKey::new("k1", [7u8; 32]).unwrap()));
        assert!(plain > 10 && keyed > 10, "{plain} and {keyed} steps");
    }

    #[test]
    fn a_refused_command_leaves_the_handle_as_it_was() {
        let snapshot = sample();
        let holder = Actor::holder(&snapshot.account, snapshot.taken_at);
        let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
        let mut closure = Closure::new(state, ClosurePolicy::cascade()).unwrap();
        let at = snapshot.taken_at;
        let _ = closure
            .step(&Command::request(), &holder, Some(&snapshot), at)
            .unwrap();
        let before = closure.state().clone();
        let unknown: crate::plan::EffectId = serde_json::from_str("\"fx_unknown\"").unwrap();
        let err = closure
            .step(
                &Command::report(unknown, Outcome::Succeeded),
                &Actor::system(),
                None,
                at,
            )
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownEffect);
        assert_eq!(closure.state(), &before);
        let stranger = Actor::system();
        assert!(closure
            .step(&Command::Cancel, &stranger, Some(&snapshot), at)
            .is_err());
        assert_eq!(closure.state(), &before);
    }

    #[test]
    fn a_handle_under_another_policy_is_refused_once_pinned() {
        let snapshot = sample();
        let holder = Actor::holder(&snapshot.account, snapshot.taken_at);
        let mut policy = ClosurePolicy::cascade();
        policy.grace_period_days = 5;
        let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
        let mut closure = Closure::new(state, policy.clone()).unwrap();
        let at = snapshot.taken_at;
        let _ = closure
            .step(&Command::request(), &holder, Some(&snapshot), at)
            .unwrap();
        let phrase = policy.confirmation_phrase(&snapshot.account).unwrap();
        let change = closure
            .step(&Command::confirm(phrase), &holder, Some(&snapshot), at)
            .unwrap();
        assert_eq!(change.phase, PhaseKind::Scheduled);
        let pinned = closure.state().confirmed.clone().unwrap().policy;
        assert_eq!(pinned, policy.fingerprint());
        // The same state under another policy: refused, as `step` refuses it.
        policy.grace_period_days = 6;
        let mut other = Closure::new(closure.state().clone(), policy).unwrap();
        let err = other
            .step(&Command::Tick, &Actor::system(), None, at)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::PolicyChanged);
    }

    #[test]
    fn bad_policies_and_states_are_refused_up_front() {
        let snapshot = sample();
        let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
        let mut policy = ClosurePolicy::cascade();
        policy.name = " ".to_owned();
        let err = Closure::new(state.clone(), policy).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidPolicy);
        let mut old = state;
        old.schema_version += 1;
        let err = Closure::new(old, ClosurePolicy::cascade()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    }

    #[test]
    fn json_in_and_out() {
        let snapshot_text = include_str!("../../data/lone-user.json");
        let snapshot = sample();
        let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
        let mut closure = Closure::from_json(&state.to_json(), ClosurePolicy::cascade()).unwrap();
        let actor =
            serde_json::to_string(&Actor::holder(&snapshot.account, snapshot.taken_at)).unwrap();
        let at = snapshot.taken_at.to_rfc3339();
        let change: serde_json::Value = serde_json::from_str(
            &closure
                .step_json(r#"{"type":"request"}"#, &actor, Some(snapshot_text), &at)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(change["phase"], "awaiting_confirmation");
        assert_eq!(change["version"], closure.version());
        assert!(change.get("state").is_none(), "a change carries no state");
        let err = closure
            .step_json(r#"{"type":"nope"}"#, &actor, None, &at)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::SchemaMismatch);
    }
}
