//! The host's side of a closure: the staged plan, effect outcomes and
//! retries, closing, purging under legal holds, and the operator's commands.

use super::types::{
    EffectRecord, EffectStatus, HoldEntry, HoldSource, Notice, Outcome, Phase, PurgeStatus, Receipt,
};
use super::{EffectId, Machine};
use crate::audit::Event;
use crate::error::{EntityKind, Error};
use crate::model::{LegalHoldId, RecordClass};
use crate::plan::{Action, Message, Recipient};

impl Machine<'_> {
    /// Plans `stages` (the plan as confirmed, or less) and issues the first.
    pub(super) fn start_execution(&mut self, stages: Vec<Vec<Action>>, mut issued: Vec<EffectId>) {
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
        let plan = crate::audit::canonical_digest(&stages);
        self.record(
            Event::ExecutionStarted {
                stages: count,
                plan,
            },
            issued,
        );
    }

    pub(super) fn report(&mut self, id: &EffectId, outcome: &Outcome) -> Result<(), Error> {
        let now = self.now();
        let unknown = || Error::UnknownEffect {
            effect: id.to_string(),
            detail: String::new(),
        };
        let index = self
            .next
            .effects
            .iter()
            .position(|r| r.effect.id == *id)
            .ok_or_else(unknown)?;
        let record = self.next.effects.get(index).cloned().ok_or_else(unknown)?;
        match (&record.status, outcome) {
            (EffectStatus::Planned, _) => {
                return Err(Error::UnknownEffect {
                    effect: id.to_string(),
                    detail: ": it is planned but not issued yet".to_owned(),
                })
            }
            // A success that arrives after the effect was given up on, or
            // while it waits for its retry, is still a success: the effect
            // happened. It settles the effect and the closure goes on.
            (
                EffectStatus::Failed { .. } | EffectStatus::RetryScheduled { .. },
                Outcome::Succeeded,
            ) => {}
            // A failure for an effect waiting for its retry can only be a
            // late copy of the report that scheduled the retry: counting it
            // would use up attempts that were never made.
            (
                EffectStatus::Succeeded { .. }
                | EffectStatus::Failed { .. }
                | EffectStatus::Withdrawn { .. }
                | EffectStatus::RetryScheduled { .. },
                _,
            ) => {
                self.notices
                    .push(Notice::DuplicateOutcome { effect: id.clone() });
                return Ok(());
            }
            (EffectStatus::Pending, _) => {}
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
                    let retry_at = self.after(retry.delay(failures), "the next retry")?;
                    (EffectStatus::RetryScheduled { retry_at }, failures)
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
                self.record(Event::EffectSucceeded, vec![id.clone()]);
                self.resume_if_failure_settled(&record);
                self.after_success(&record)?;
            }
            EffectStatus::RetryScheduled { retry_at } => {
                let reason = match outcome {
                    Outcome::RetryableFailure { reason } | Outcome::PermanentFailure { reason } => {
                        reason.clone()
                    }
                    Outcome::Succeeded => String::new(),
                };
                self.record(
                    Event::EffectRetryScheduled { reason, retry_at },
                    vec![id.clone()],
                )
            }
            EffectStatus::Failed { reason } => {
                if let (Some(stage), Phase::Executing { stages, .. }) =
                    (record.stage, &self.before.phase)
                {
                    self.next.phase = Phase::Failed {
                        failed_at: now,
                        effect: id.clone(),
                        reason: reason.clone(),
                        stage,
                        stages: *stages,
                    };
                }
                self.notices.push(Notice::EffectFailed {
                    effect: id.clone(),
                    action: record.effect.action.kind().to_owned(),
                    reason: reason.clone(),
                });
                self.record(Event::EffectFailed { reason }, vec![id.clone()]);
            }
            EffectStatus::Planned | EffectStatus::Pending | EffectStatus::Withdrawn { .. } => {}
        }
        Ok(())
    }

    /// A failed closure whose failed stage has no failed effect left (a late
    /// success settled the last one) runs again from that stage.
    fn resume_if_failure_settled(&mut self, record: &EffectRecord) {
        let Phase::Failed { stage, stages, .. } = self.next.phase.clone() else {
            return;
        };
        if record.stage != Some(stage) {
            return;
        }
        let still_failed = self
            .next
            .effects
            .iter()
            .any(|r| r.stage == Some(stage) && matches!(r.status, EffectStatus::Failed { .. }));
        if !still_failed {
            self.next.phase = Phase::Executing {
                started_at: self.now(),
                stage,
                stages,
            };
        }
    }

    pub(super) fn after_success(&mut self, record: &EffectRecord) -> Result<(), Error> {
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
                    return Ok(());
                }
                match stage.checked_add(1).filter(|next| *next < stages) {
                    Some(next) => {
                        let issued = self.issue_stage(next);
                        self.next.phase = Phase::Executing {
                            started_at,
                            stage: next,
                            stages,
                        };
                        self.record(Event::StageStarted { stage: next }, issued);
                    }
                    None => self.close()?,
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
                        if purge.class == RecordClass::PersonalData {
                            self.forget_personal_data();
                        }
                    }
                }
                if purges.iter().all(|p| p.purged_at.is_some()) {
                    self.next.phase = Phase::Purged {
                        purged_at: now,
                        receipt,
                    };
                    self.record(Event::Purged, Vec::new());
                } else {
                    self.next.phase = Phase::Closed {
                        closed_at,
                        purges,
                        receipt,
                    };
                }
            }
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Scheduled { .. }
            | Phase::Halted { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Purged { .. } => {}
        }
        Ok(())
    }

    /// Once personal data is purged, the state keeps none either: the exit
    /// comment (free text) goes, the structured reason stays in the receipt;
    /// the records of settled effects go too (their actions name domains and
    /// co-members), all but the purges. The receipt keeps their count and
    /// the audit log their ids; a late report for one of them is refused as
    /// `unknown_effect`, harmlessly.
    fn forget_personal_data(&mut self) {
        if let Some(feedback) = self.next.feedback.as_mut() {
            feedback.comment = None;
        }
        // The confirmed plan names co-members; it has been carried out.
        if let Some(confirmed) = self.next.confirmed.as_mut() {
            confirmed.stages.clear();
        }
        self.next.effects.retain(|r| {
            matches!(r.effect.action, Action::Purge { .. })
                || !matches!(
                    r.status,
                    EffectStatus::Succeeded { .. } | EffectStatus::Withdrawn { .. }
                )
        });
    }

    pub(super) fn close(&mut self) -> Result<(), Error> {
        let now = self.now();
        let requested_at = self.next.requested_at.unwrap_or(now);
        let retention = self.policy().retention;
        let mut purges = Vec::with_capacity(RecordClass::ALL.len());
        for class in RecordClass::ALL {
            let due = retention
                .period(class)
                .after(requested_at)
                .ok_or_else(|| Error::date_out_of_range(format!("the purge date of {class}")))?;
            purges.push(PurgeStatus {
                class,
                due,
                effect: None,
                purged_at: None,
            });
        }
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
        // Only now, with every stage done, is the closure complete.
        let completed = self.issue(Action::Notify {
            recipient: Recipient::Holder,
            message: Message::Completed,
        });
        self.record(Event::Closed, completed.into_iter().collect());
        self.issue_purges();
        Ok(())
    }

    /// Issues the purge of every class that is due and not held by a hold
    /// of the hold set.
    pub(super) fn issue_purges(&mut self) {
        let now = self.now();
        let Phase::Closed {
            closed_at,
            mut purges,
            receipt,
        } = self.next.phase.clone()
        else {
            return;
        };
        let mut issued = Vec::new();
        for purge in purges
            .iter_mut()
            .filter(|p| p.effect.is_none() && p.due <= now)
        {
            let holds = self.next.holds_on(purge.class, now);
            if holds.is_empty() {
                let (id, _) = self.add(Action::Purge { class: purge.class }, None, false);
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
            self.record(Event::PurgeIssued, issued);
        }
    }

    /// Operator: issue every failed effect again. A failed closure runs its
    /// failed stage again; in any other phase the failed effects outside the
    /// plan (notifications, purges) go again. A failed purge that a hold now
    /// covers waits for the hold instead, like any retry.
    pub(super) fn retry(&mut self) -> Result<(), Error> {
        let now = self.now();
        let before = self.before;
        let failed = |r: &EffectRecord| before.operator_can_retry(r);
        if !self.next.effects.iter().any(failed) {
            return Err(self.wrong_state());
        }
        let held = self.next.held_classes(now);
        let mut issued = Vec::new();
        for record in self.next.effects.iter_mut().filter(|r| failed(r)) {
            record.failures = 0;
            if matches!(record.effect.action, Action::Purge { class } if held.contains(&class)) {
                record.status = EffectStatus::RetryScheduled { retry_at: now };
                continue;
            }
            record.status = EffectStatus::Pending;
            self.effects.push(record.effect.clone());
            issued.push(record.effect.id.clone());
        }
        if let Phase::Failed { stage, stages, .. } = self.before.phase {
            self.next.phase = Phase::Executing {
                started_at: now,
                stage,
                stages,
            };
        }
        self.record(Event::Retried, issued);
        Ok(())
    }

    pub(super) fn abort(&mut self) -> Result<(), Error> {
        match self.before.phase {
            Phase::Halted { .. } => {}
            Phase::Failed { .. } => {
                if let Some(effect) = self.before.point_of_no_return() {
                    return Err(Error::PastPointOfNoReturn {
                        command: "abort".to_owned(),
                        effect: effect.to_string(),
                    });
                }
            }
            _ => return Err(self.wrong_state()),
        }
        let restore = self.writes_blocked();
        self.withdraw_unsettled();
        let mut issued = Vec::new();
        if restore {
            issued.extend(self.issue(Action::RestoreAccess));
        }
        self.next.phase = Phase::Aborted {
            aborted_at: self.now(),
        };
        self.record(Event::Aborted, issued);
        Ok(())
    }

    /// Gives up every effect of this attempt still in flight or failed: a
    /// cancelled or aborted closure issues nothing of its plan, locks or
    /// schedule again (what undoes them is issued afresh).
    pub(super) fn withdraw_unsettled(&mut self) {
        let at = self.now();
        for record in &mut self.next.effects {
            // What undoes an earlier cancelled attempt (its restore and its
            // notice, still unreported when this attempt was requested) stays.
            let winds_down = matches!(
                record.effect.action,
                Action::RestoreAccess
                    | Action::Notify {
                        message: Message::Cancelled,
                        ..
                    }
            );
            let unsettled = matches!(
                record.status,
                EffectStatus::Pending
                    | EffectStatus::RetryScheduled { .. }
                    | EffectStatus::Failed { .. }
            );
            if unsettled && !winds_down {
                record.status = EffectStatus::Withdrawn { at };
            }
        }
    }

    /// Whether this attempt issued a write block (what a cancel or an abort
    /// must undo), whatever the policy in force says now.
    pub(super) fn writes_blocked(&self) -> bool {
        self.next
            .effects
            .iter()
            .any(|r| r.effect.action == Action::BlockWrites && r.status != EffectStatus::Planned)
    }

    pub(super) fn place_hold(&mut self, hold: &crate::model::LegalHold) -> Result<(), Error> {
        if matches!(self.before.phase, Phase::Purged { .. }) {
            // Nothing is left to keep.
            return Err(self.wrong_state());
        }
        if self.next.holds.iter().any(|e| e.hold.id == hold.id) {
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
        let now = self.now();
        if hold.until.is_some_and(|until| until <= now) {
            return Err(Error::invalid(
                "command.hold.until",
                "a legal hold placed now must end after now",
            ));
        }
        // The hold protects from the moment it is placed, whatever date the
        // operator's tool wrote in it.
        let mut hold = hold.clone();
        hold.placed_at = now;
        let id = hold.id.clone();
        self.next.holds.push(HoldEntry {
            hold,
            source: HoldSource::Placed,
        });
        self.record(Event::HoldPlaced { hold: id }, Vec::new());
        self.recall_held_purges();
        Ok(())
    }

    /// A purge issued and not yet reported whose class a hold now covers is
    /// called back: it waits for the hold like a retry (the host's loop
    /// stops handing it out), and a notice says so. If the host had already
    /// performed it, its success still counts when reported.
    pub(super) fn recall_held_purges(&mut self) {
        let now = self.now();
        let held = self.next.held_classes(now);
        let mut recalled = Vec::new();
        let mut classes = Vec::new();
        for record in &mut self.next.effects {
            let Action::Purge { class } = record.effect.action else {
                continue;
            };
            if record.status == EffectStatus::Pending && held.contains(&class) {
                record.status = EffectStatus::RetryScheduled { retry_at: now };
                recalled.push(record.effect.id.clone());
                classes.push(class);
            }
        }
        for class in classes {
            let holds = self.next.holds_on(class, now);
            self.notices.push(Notice::PurgeHeld { class, holds });
        }
        if !recalled.is_empty() {
            self.record(Event::PurgeRecalled, recalled);
        }
    }

    pub(super) fn release_hold(&mut self, id: &LegalHoldId) -> Result<(), Error> {
        let listed = self
            .ctx
            .snapshot
            .and_then(|s| s.legal_holds.iter().find(|h| h.id == *id));
        if let Some(listed) = listed {
            // The host's records still have it, perhaps shortened: the
            // operator's release adopts what they say now (audited), rather
            // than dropping a hold the next snapshot would bring back.
            let entry = self.next.holds.iter_mut().find(|e| e.hold.id == *id);
            let Some(entry) = entry.filter(|e| e.hold != *listed) else {
                return Err(Error::invalid(
                    "command.hold",
                    format!("the snapshot still lists hold `{id}` as it is: remove it from the account's records first, or it would be recorded again"),
                ));
            };
            entry.hold = listed.clone();
            self.record(Event::HoldNarrowed { hold: id.clone() }, Vec::new());
            self.after_release()?;
            return Ok(());
        }
        let before = self.next.holds.len();
        self.next.holds.retain(|e| e.hold.id != *id);
        if self.next.holds.len() == before {
            return Err(Error::DanglingReference {
                path: "command.hold".to_owned(),
                kind: EntityKind::LegalHold,
                id: id.to_string(),
            });
        }
        self.record(Event::HoldReleased { hold: id.clone() }, Vec::new());
        self.after_release()
    }

    /// Releasing (or narrowing) a hold re-evaluates what it kept waiting:
    /// purges, and a closure halted by it (when the step has a snapshot).
    fn after_release(&mut self) -> Result<(), Error> {
        self.reissue_due_retries();
        self.issue_purges();
        if matches!(self.before.phase, Phase::Halted { .. }) && self.ctx.snapshot.is_some() {
            self.execute_if_clear()?;
        }
        Ok(())
    }
}
