//! The person's side of a closure: request, confirm, cancel, the grace
//! period's ticks, the check before execution, and the statutory deadline.

use chrono::{DateTime, TimeDelta, Utc};

use super::types::{
    ConfirmedPlan, EffectStatus, ExitFeedback, Notice, Phase, RequestReason, Requester,
};
use super::Machine;
use crate::assess::{assess_closing_at, Names};
use crate::audit::{canonical_digest, sha256_hex, AuditedAction, Event};
use crate::error::Error;
use crate::model::{Actor, ActorRelation};
use crate::plan::{
    execution_stages, merge_removals, scope_blocker, scope_diff, Action, AttemptId, Message,
    Recipient,
};
use crate::policy::{ConfirmationMethod, StatutoryRegime};

impl Machine<'_> {
    pub(super) fn request(
        &mut self,
        feedback: Option<&ExitFeedback>,
        token_digest: Option<&str>,
        reason: Option<RequestReason>,
    ) -> Result<(), Error> {
        let now = self.now();
        let again = match &self.before.phase {
            // A new attempt: new effect keys.
            Phase::Idle | Phase::Aborted { .. } => false,
            // The same attempt asked again; from a halted closure, to confirm
            // a plan that changed since it was confirmed.
            Phase::AwaitingConfirmation { .. } | Phase::Halted { .. } => true,
            Phase::Cancelled { cooldown_until, .. } if now < *cooldown_until => {
                return Err(Error::Cooldown {
                    until: *cooldown_until,
                })
            }
            Phase::Cancelled { .. } => false,
            Phase::Scheduled { .. }
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => return Err(self.wrong_state()),
        };
        let relation = self.relation();
        let reason = reason.unwrap_or(RequestReason::Requested);
        match (relation == ActorRelation::System, reason) {
            (true, RequestReason::Inactivity) | (false, RequestReason::Requested) => {}
            (true, RequestReason::Requested) => {
                return Err(Error::invalid(
                    "command.reason",
                    "the host's system requests a closure only for inactivity",
                ))
            }
            (false, RequestReason::Inactivity) => {
                return Err(Error::invalid(
                    "command.reason",
                    "only the host's system requests a closure for inactivity",
                ))
            }
        }
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
                    let expires = self.after(
                        TimeDelta::minutes(i64::from(*valid_minutes)),
                        "the token's expiry",
                    )?;
                    (Some(digest.to_owned()), Some(expires))
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
            self.next.attempt = Some(AttemptId::derive(
                &self.next.account,
                &self.next.closure,
                self.before.attempt.as_ref(),
                self.next.generation,
                now,
            ));
            self.next.confirmed = None;
            // Settled effects of the earlier attempt are dropped; unsettled ones
            // (a notification not yet reported) stay, so their outcome is still known.
            self.next.effects.retain(|r| {
                matches!(
                    r.status,
                    EffectStatus::Pending | EffectStatus::RetryScheduled { .. }
                )
            });
            self.next.requested_at = Some(now);
            self.next.response_due = self.policy().statutory_regime.deadline(now);
            self.next.deadline_extended = false;
        }
        if feedback.is_some() || !again {
            self.next.feedback = feedback.cloned();
        }
        self.next.requester = Some(Requester {
            id: self.ctx.actor.id.clone(),
            role: self.ctx.actor.role,
            relation,
            reason,
        });
        self.next.phase = Phase::AwaitingConfirmation {
            failed_attempts,
            locked_until,
            token_digest,
            token_expires_at,
        };
        self.record(
            if again {
                Event::ReRequested { relation, reason }
            } else {
                Event::Requested { relation, reason }
            },
            Vec::new(),
        );
        Ok(())
    }

    pub(super) fn confirm(&mut self, value: &str) -> Result<(), Error> {
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
            ConfirmationMethod::TypedPhrase { .. } => {
                let account = &self.snapshot()?.account;
                let expected = self.policy().confirmation_phrase(account).unwrap_or("");
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
                let until = self.after(
                    TimeDelta::minutes(i64::from(confirmation.lockout_minutes)),
                    "the end of the lockout",
                )?;
                (0, Some(until), Event::LockedOut { until })
            } else {
                (failed, None, Event::ConfirmationFailed)
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
        let stages = execution_stages(&report.consequences);
        let policy = self.fingerprint();
        self.next.confirmed = Some(ConfirmedPlan {
            confirmed_at: now,
            execute_at,
            policy: policy.clone(),
            stages: stages.clone(),
        });
        let mut issued = Vec::new();
        if self.policy().lifecycle.lock_on_confirm {
            issued.extend(self.issue(Action::RevokeSessions));
            issued.extend(self.issue(Action::BlockWrites));
        }
        if execute_at > now {
            issued.extend(self.issue(Action::Notify {
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
            issued.extend(self.issue(Action::Notify {
                recipient,
                message: Message::TenantWillBeDeleted { execute_at },
            }));
        }
        self.next.phase = Phase::Scheduled {
            confirmed_at: now,
            execute_at,
            reminders_sent: Vec::new(),
        };
        let plan = canonical_digest(&stages);
        self.record(
            Event::Confirmed {
                execute_at,
                policy,
                plan,
            },
            issued,
        );
        if execute_at <= now {
            self.start_execution(stages, Vec::new());
        }
        Ok(())
    }

    pub(super) fn cancel(&mut self) -> Result<(), Error> {
        let now = self.now();
        match &self.before.phase {
            Phase::AwaitingConfirmation { .. } | Phase::Scheduled { .. } | Phase::Halted { .. } => {
            }
            Phase::Idle
            | Phase::Executing { .. }
            | Phase::Failed { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Closed { .. }
            | Phase::Purged { .. } => return Err(self.wrong_state()),
        }
        // Restore what this attempt locked, whatever the policy says now,
        // and give up whatever of it is still in flight.
        let locked = self.writes_blocked();
        self.withdraw_unsettled();
        let cooldown_until = self.after(
            TimeDelta::hours(i64::from(self.policy().cooldown_hours)),
            "the end of the cooldown",
        )?;
        let mut issued = Vec::new();
        if locked {
            issued.extend(self.issue(Action::RestoreAccess));
        }
        issued.extend(self.issue(Action::Notify {
            recipient: Recipient::Holder,
            message: Message::Cancelled,
        }));
        self.next.phase = Phase::Cancelled {
            cancelled_at: now,
            cooldown_until,
        };
        self.record(
            Event::Cancelled {
                policy: self.fingerprint(),
            },
            issued,
        );
        Ok(())
    }

    /// Issues again every effect whose retry time has come. A purge waiting
    /// for a retry is held back while a hold placed in the meantime covers
    /// its class; releasing the hold calls this again.
    pub(super) fn reissue_due_retries(&mut self) {
        let now = self.now();
        let held = self.next.held_classes(now);
        let mut retried = Vec::new();
        for record in &mut self.next.effects {
            let due = matches!(record.status, EffectStatus::RetryScheduled { retry_at } if retry_at <= now);
            let blocked =
                matches!(record.effect.action, Action::Purge { class } if held.contains(&class));
            if due && !blocked {
                record.status = EffectStatus::Pending;
                self.effects.push(record.effect.clone());
                retried.push(record.effect.id.clone());
            }
        }
        if !retried.is_empty() {
            self.record(Event::EffectsReissued, retried);
        }
    }

    pub(super) fn tick(&mut self) -> Result<(), Error> {
        let now = self.now();
        self.reissue_due_retries();
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
                let mut sent = Vec::new();
                for d in days {
                    // A reminder before the start of time is due at once.
                    let due = execute_at
                        .checked_sub_signed(TimeDelta::days(i64::from(d)))
                        .unwrap_or(DateTime::<Utc>::MIN_UTC);
                    if now >= due && !reminders_sent.contains(&d) {
                        reminders_sent.push(d);
                        sent.push(d);
                        let message = Message::Reminder {
                            execute_at,
                            days_left: d,
                        };
                        issued.extend(self.issue(Action::Notify {
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
                    self.record(Event::ReminderSent { days_before: sent }, issued);
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

    /// Re-checks the fresh snapshot as the requester, with the dates of the
    /// confirmed schedule, and compares the plan it gives with the confirmed
    /// one: new blockers halt; a plan that would do more than was confirmed
    /// (a new item, or one on other terms, or a shorter protection) halts
    /// with a `scope_changed` blocker per item (the closure must be
    /// confirmed again); a plan that does less runs, and the difference is
    /// audited (`plan_adjusted`).
    pub(super) fn execute_if_clear(&mut self) -> Result<(), Error> {
        let requester = self
            .next
            .requester
            .clone()
            .ok_or_else(|| Error::invalid("requester", "the state has no requester"))?;
        let confirmed = self
            .next
            .confirmed
            .clone()
            .ok_or_else(|| Error::invalid("confirmed", "the state has no confirmed plan"))?;
        // Freshness of sign-in was checked at confirmation; execution acts on
        // the confirmed request, so only the account's own facts are re-checked.
        let actor = Actor {
            id: requester.id,
            role: requester.role,
            reauthenticated_at: Some(self.now()),
        };
        // The dates of the confirmed schedule; a closure that runs late (a
        // halt, a late tick) counts its windows from when it runs, so none is
        // shorter than shown.
        let closes_at = confirmed.execute_at.max(self.now());
        let holds = self.next.hold_set();
        let report = assess_closing_at(
            self.snapshot()?,
            &actor,
            self.policy(),
            self.now(),
            &holds,
            closes_at,
        )?;
        // The account's blockers, then what grew: all of it is named at once,
        // so a halt changes (and the holder hears of it) when either does.
        let mut blockers = report.blockers;
        let stages = execution_stages(&report.consequences);
        let diff = scope_diff(&confirmed.stages, &stages);
        let account = &self.next.account;
        let names = Names::new(self.snapshot().ok());
        blockers.extend(
            merge_removals(&diff.added)
                .iter()
                .map(|a| scope_blocker(a, None, account, &names)),
        );
        blockers.extend(
            diff.changed
                .iter()
                .map(|(was, now)| scope_blocker(now, Some(was), account, &names)),
        );
        if blockers.is_empty() {
            if !diff.removed.is_empty() || !diff.adjusted.is_empty() {
                self.record(
                    Event::PlanAdjusted {
                        removed: AuditedAction::all(&diff.removed),
                        adjusted: AuditedAction::all(&diff.adjusted),
                    },
                    Vec::new(),
                );
            }
            self.start_execution(stages, Vec::new());
            return Ok(());
        }
        let unchanged = matches!(&self.before.phase, Phase::Halted { blockers: before, .. } if *before == blockers);
        if unchanged {
            return Ok(());
        }
        // Every new halt, and every change of what a halt waits for, is told.
        let mut issued = Vec::new();
        issued.extend(self.issue(Action::Notify {
            recipient: Recipient::Holder,
            message: Message::Halted {
                halted_at: self.now(),
            },
        }));
        let codes = blockers.iter().map(|b| b.code).collect();
        let added = AuditedAction::all(&diff.added);
        let changed: Vec<Action> = diff.changed.into_iter().map(|(_, now)| now).collect();
        let changed = AuditedAction::all(&changed);
        self.notices.push(Notice::Halted {
            blockers: blockers.clone(),
        });
        self.next.phase = Phase::Halted {
            halted_at: self.now(),
            blockers,
        };
        self.record(
            Event::Halted {
                blockers: codes,
                added,
                changed,
            },
            issued,
        );
        Ok(())
    }

    /// Carries a confirmed closure over to the step's policy.
    pub(super) fn migrate_policy(&mut self, from: &str) -> Result<(), Error> {
        let Some(pinned) = self.before.pinned_policy() else {
            return Err(self.wrong_state());
        };
        if from != pinned {
            return Err(Error::invalid(
                "command.from",
                format!("the closure is pinned to policy {pinned}, not {from}"),
            ));
        }
        let given = self.fingerprint();
        if given == pinned {
            return Err(Error::invalid(
                "command.from",
                "the closure is already under this policy",
            ));
        }
        if let Some(confirmed) = &mut self.next.confirmed {
            confirmed.policy.clone_from(&given);
        }
        self.record(
            Event::PolicyMigrated {
                from: pinned.to_owned(),
                to: given,
            },
            Vec::new(),
        );
        Ok(())
    }

    pub(super) fn extend_deadline(&mut self) -> Result<(), Error> {
        let now = self.now();
        let open = self.before.response_open(self.policy());
        let due = match self.before.response_due {
            Some(due) if open => due,
            Some(_) | None => return Err(self.wrong_state()),
        };
        if self.before.deadline_extended {
            return Err(Error::invalid(
                "response_due",
                "the deadline can be extended only once",
            ));
        }
        if now > due {
            return Err(Error::invalid(
                "response_due",
                format!("the deadline {due} has passed; an extension must be decided before it"),
            ));
        }
        let regime = self.policy().statutory_regime;
        let extended = regime.extended(due).ok_or_else(|| match regime {
            StatutoryRegime::None => {
                Error::invalid("statutory_regime", "this policy's regime has no extension")
            }
            StatutoryRegime::Gdpr | StatutoryRegime::Ccpa => {
                Error::date_out_of_range("the extended deadline")
            }
        })?;
        self.next.response_due = Some(extended);
        self.next.deadline_extended = true;
        let notify = self.issue(Action::Notify {
            recipient: Recipient::Holder,
            message: Message::DeadlineExtended { due: extended },
        });
        self.record(
            Event::DeadlineExtended { due: extended },
            notify.into_iter().collect(),
        );
        Ok(())
    }
}
