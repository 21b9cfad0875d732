//! The host's side of a closure: the staged plan, effect outcomes and
//! retries, closing, purging under legal holds, and the operator's commands.

use chrono::{DateTime, Utc};

use super::types::{EffectRecord, EffectStatus, Notice, Outcome, Phase, PurgeStatus, Receipt};
use super::{EffectId, Machine};
use crate::assess::Assessment;
use crate::error::{EntityKind, Error};
use crate::model::{LegalHoldId, RecordClass};
use crate::plan::{execution_stages, Action};

impl Machine<'_> {
    pub(super) fn start_execution(&mut self, report: Assessment, mut issued: Vec<EffectId>) {
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

    pub(super) fn report(&mut self, id: &EffectId, outcome: &Outcome) -> Result<(), Error> {
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

    pub(super) fn after_success(&mut self, record: &EffectRecord) {
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

    pub(super) fn close(&mut self) {
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
    /// The legal holds in force now that cover `class`: those placed through
    /// the machine and those in the snapshot.
    pub(super) fn holds_on(&self, class: RecordClass) -> Vec<LegalHoldId> {
        let now = self.now();
        let snapshot_holds = self
            .ctx
            .snapshot
            .map(|s| s.legal_holds.as_slice())
            .unwrap_or_default();
        self.next
            .holds
            .iter()
            .chain(snapshot_holds)
            .filter(|h| h.in_force(now) && h.covers(class))
            .map(|h| h.id.clone())
            .collect()
    }

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
            let holds = self.holds_on(purge.class);
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

    pub(super) fn retry(&mut self) -> Result<(), Error> {
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

    pub(super) fn abort(&mut self) -> Result<(), Error> {
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

    pub(super) fn place_hold(&mut self, hold: &crate::model::LegalHold) -> Result<(), Error> {
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

    pub(super) fn release_hold(&mut self, id: &crate::model::LegalHoldId) -> Result<(), Error> {
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
        self.reissue_due_retries();
        self.issue_purges();
        Ok(())
    }
}
