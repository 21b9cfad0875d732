//! `offboard simulate`: runs a whole closure against an in-memory host with a
//! virtual clock, printing every command, transition, effect and outcome.
//!
//! The host here is the simplest correct one, on the core's own host loop
//! ([`Driver`]): it appends the audit events, performs effects by reporting
//! success (or the injected failure), ticks at the time the state asks for,
//! and has no snapshot once the account is deleted.

use std::fmt::Write;

use crate::render::count;

use chrono::{DateTime, Utc};
use offboard::audit::{verify_with_head, AuditEvent, Verified as Verification};
use offboard::json::ErrorReport;
use offboard::machine::{
    ClosureState, Command, CommandKind, Context, Driver, Host, Notice, Outcome, PhaseKind, Step,
    Waiting,
};
use offboard::model::{HoldReason, LegalHold, LegalHoldId, RecordClass, UserId};
use offboard::plan::{Action, Effect, Recipient};
use offboard::policy::{CancelTiming, ConfirmationMethod};
use offboard::{Actor, ClosurePolicy, Snapshot};

/// How a simulation ended.
pub struct Ending {
    /// The printed trace.
    pub trace: String,
    /// The final phase.
    pub phase: PhaseKind,
    /// Every audit event, in order.
    pub audit: Vec<AuditEvent>,
    /// Every effect issued, in order.
    pub effects: Vec<Effect>,
    /// Every notice, in order.
    pub notices: Vec<Notice>,
    /// Every refused command, as the library's error report.
    pub refusals: Vec<ErrorReport>,
    /// The audit chain's verification.
    pub verification: Result<Verification, String>,
}

impl Ending {
    /// The simulation as the JSON `--json` prints.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "final_phase": self.phase,
            "audit": self.audit,
            "effects": self.effects,
            "notices": self.notices,
            "refusals": self.refusals,
            "audit_verified": self.verification.is_ok(),
            "audit_head": self.verification.as_ref().ok().map(|v| v.head.clone()),
        })
    }
}

/// The simulated host: performs effects by reporting success (or the
/// injected failure) and prints every step the driver hands it.
struct Sim<'a> {
    snapshot: Option<&'a Snapshot>,
    log: Vec<AuditEvent>,
    effects: Vec<Effect>,
    notices: Vec<Notice>,
    refusals: Vec<ErrorReport>,
    trace: String,
    fail: Option<&'a str>,
    /// Set once an operator has stepped in: the injected failure is "fixed".
    repaired: bool,
}

fn describe(effect: &Effect) -> String {
    let subject = match &effect.action {
        Action::CancelSubscription {
            subscription,
            timing,
            ..
        } => {
            let when = match timing {
                CancelTiming::Immediately => "now",
                CancelTiming::AtPeriodEnd => "at period end",
            };
            format!("{subscription} ({when})")
        }
        Action::DisableAutoRenew { domain } | Action::ReleaseDomain { domain } => {
            domain.to_string()
        }
        Action::RemoveMembers { tenant, users } => {
            format!(
                "{} of {tenant}",
                count(users.len() as u64, "member", "members")
            )
        }
        Action::LeaveTenant { tenant } | Action::DeleteTenant { tenant } => tenant.to_string(),
        Action::TransferPrimaryOwner { tenant, to } => format!("{tenant} to {to}"),
        Action::RefundCredit {
            tenant,
            amount,
            currency,
        } => {
            let on = tenant
                .as_ref()
                .map_or(String::new(), |t| format!(" of {t}"));
            format!("{}.{:02} {currency}{on}", amount / 100, amount % 100)
        }
        Action::DeletePaymentMethod { payment_method } => payment_method.to_string(),
        Action::PublishInvoiceArchive { count: n, until } => {
            format!(
                "{} until {}",
                count(*n, "invoice", "invoices"),
                until.format("%Y-%m-%d")
            )
        }
        Action::QuarantineIdentifiers { until } => until.map_or("for ever".to_owned(), |u| {
            format!("until {}", u.format("%Y-%m-%d"))
        }),
        Action::Purge { class } => class.to_string(),
        Action::Notify { recipient, message } => {
            let to = match recipient {
                Recipient::Holder => "the holder".to_owned(),
                Recipient::CoMembers { tenant } => format!("the co-members of {tenant}"),
                _ => "someone".to_owned(),
            };
            let what = serde_json::to_value(message)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned));
            format!("{} to {to}", what.unwrap_or_default())
        }
        Action::RevokeSessions
        | Action::BlockWrites
        | Action::RestoreAccess
        | Action::DeleteAccount => String::new(),
        _ => String::new(),
    };
    format!("{} {subject}", effect.action.kind())
        .trim_end()
        .to_owned()
}

impl Sim<'_> {
    fn line(&mut self, text: String) {
        let _ = writeln!(self.trace, "{text}");
    }

    /// Prints one accepted step: who, which command, the phase change, the
    /// audit events, then the effects it issued and its notices.
    fn print(&mut self, step: &Step, label: &str) {
        let Some(first) = step.audit.first() else {
            return;
        };
        let time = first.at.format("%Y-%m-%d %H:%M");
        let events: Vec<&str> = step.audit.iter().map(|e| e.event.kind()).collect();
        let (from, to) = (first.from.as_str(), first.to.as_str());
        self.line(format!(
            "{time}  {:<10} {label:<28} {from} -> {to}  [{}]",
            first.actor,
            events.join(", ")
        ));
        for effect in &step.effects {
            self.line(format!(
                "{:>19}-> {}  ({})",
                "",
                describe(effect),
                effect.id
            ));
        }
        for notice in &step.notices {
            self.line(format!("{:>19}!  {}", "", notice_text(notice)));
        }
        self.log.extend(step.audit.iter().cloned());
        self.effects.extend(step.effects.iter().cloned());
        self.notices.extend(step.notices.iter().cloned());
    }

    /// Runs one command through the driver; prints it and what it produced.
    /// Returns false when refused.
    fn run(&mut self, driver: &mut Driver, command: Command, ctx: &Context<'_>) -> bool {
        let label = command.kind().as_str();
        match driver.handle(&command, ctx) {
            Ok(step) => {
                self.print(&step, label);
                true
            }
            Err(err) => {
                self.refusals.push(ErrorReport::from(&err));
                let time = ctx.now.format("%Y-%m-%d %H:%M");
                self.line(format!(
                    "{time}  {:<10} {label:<28} refused: [{}] {err}",
                    ctx.actor.id,
                    err.code()
                ));
                false
            }
        }
    }
}

impl Host for Sim<'_> {
    fn perform(&mut self, effect: &Effect) -> Outcome {
        if !self.repaired && self.fail == Some(effect.action.kind()) {
            return Outcome::RetryableFailure {
                reason: "injected failure".into(),
            };
        }
        if effect.action == Action::DeleteAccount {
            // The account is gone: from now on the host has no snapshot.
            self.snapshot = None;
        }
        Outcome::Succeeded
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot
    }

    fn stepped(&mut self, step: &Step) {
        let label = match step.audit.first() {
            Some(event) if event.command == CommandKind::ReportOutcome => {
                let short = event
                    .effects
                    .first()
                    .map(|id| id.id.as_str().get(..11).unwrap_or_default().to_owned())
                    .unwrap_or_default();
                let how = if step
                    .audit
                    .iter()
                    .any(|e| e.event.kind() == "effect_succeeded")
                {
                    "ok"
                } else {
                    "retry_failure"
                };
                format!("report {short} {how}")
            }
            Some(event) => event.command.as_str().to_owned(),
            None => String::new(),
        };
        self.print(step, &label);
    }
}

/// What happens besides the request and the confirmation, all at the
/// snapshot's time, right after the holder confirms.
#[derive(Debug, Default, Clone)]
pub struct Script {
    /// The holder cancels in the grace period.
    pub cancel: bool,
    /// Support places an open-ended legal hold on these record classes
    /// (never released in the run).
    pub hold: Vec<RecordClass>,
}

/// Runs the lifecycle of the account in `snapshot` under `policy`. `fail`
/// names an action type whose effects fail (retryably) until an operator
/// steps in; `script` adds a cancellation or a legal hold.
pub fn simulate(
    snapshot: &Snapshot,
    policy: &ClosurePolicy,
    fail: Option<&str>,
    script: &Script,
) -> Result<Ending, offboard::Error> {
    let account = &snapshot.account;
    let start = snapshot.taken_at;
    let state = ClosureState::new(format!("cl_{}", account.id), account.id.clone())?;
    let mut driver = Driver::new(state);
    let mut sim = Sim {
        snapshot: Some(snapshot),
        log: Vec::new(),
        effects: Vec::new(),
        notices: Vec::new(),
        refusals: Vec::new(),
        trace: String::new(),
        fail,
        repaired: false,
    };
    let name = |id: &str| {
        UserId::new(id).map_err(|e| offboard::Error::InvalidValue {
            path: "actor".into(),
            reason: e.to_string(),
        })
    };
    let holder = Actor::holder(account, start);
    let system = Actor::system();
    let operator = Actor::support(name("operator")?, start);

    let token = "demo-token";
    let (token_digest, typed) = match &policy.confirmation.method {
        ConfirmationMethod::Token { .. } => (Some(sha256_hex(token)), token.to_owned()),
        ConfirmationMethod::TypedPhrase { .. } => (
            None,
            policy
                .confirmation_phrase(account)
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    let ctx = Context {
        now: start,
        actor: &holder,
        policy,
        snapshot: Some(snapshot),
        audit_key: None,
    };
    let request = Command::Request {
        feedback: None,
        token_digest,
        reason: None,
    };
    if sim.run(&mut driver, request, &ctx)
        && sim.run(&mut driver, Command::Confirm { value: typed }, &ctx)
    {
        if !script.hold.is_empty() {
            let hold = LegalHold {
                id: LegalHoldId::new("lh_simulated").map_err(|e| {
                    offboard::Error::InvalidValue {
                        path: "hold".into(),
                        reason: e.to_string(),
                    }
                })?,
                classes: script.hold.clone(),
                reason: HoldReason::Litigation,
                placed_by: operator.id.clone(),
                placed_at: start,
                until: None,
            };
            let ctx = Context {
                actor: &operator,
                ..ctx
            };
            sim.run(&mut driver, Command::PlaceHold { hold }, &ctx);
        }
        if script.cancel {
            sim.run(&mut driver, Command::Cancel, &ctx);
        }
    }
    // The host loop is the core's: perform what is due, tick when told. An
    // operator steps in when the closure asks for one.
    let until = DateTime::<Utc>::MAX_UTC;
    let mut now = start;
    for _ in 0..100 {
        now = driver.drive(&mut sim, &system, policy, now, until, 10_000)?;
        let asks_operator = driver
            .waiting(policy)
            .iter()
            .any(|w| matches!(w, Waiting::Operator { .. }));
        if !asks_operator || sim.repaired {
            break;
        }
        sim.line(format!(
            "{:>19}   (the operator fixes the downstream service and retries)",
            ""
        ));
        sim.repaired = true;
        let ctx = Context {
            now,
            actor: &operator,
            policy,
            snapshot: sim.snapshot,
            audit_key: None,
        };
        sim.run(&mut driver, Command::Retry, &ctx);
    }
    let state = driver.state();
    let verified = verify_with_head(&sim.log, &state.audit.head);
    let summary = match &verified {
        Ok(v) => format!(
            "audit log: {}, chain verified, head {}",
            count(v.events, "event", "events"),
            v.head.get(..16).unwrap_or_default()
        ),
        Err(e) => format!("audit log does NOT verify: {e}"),
    };
    let phase = state.phase.kind();
    sim.line(summary);
    sim.line(format!("final phase: {}", phase.as_str()));
    Ok(Ending {
        trace: sim.trace,
        phase,
        audit: sim.log,
        effects: sim.effects,
        notices: sim.notices,
        refusals: sim.refusals,
        verification: verified.map_err(|e| e.to_string()),
    })
}

/// A notice in words.
fn notice_text(notice: &Notice) -> String {
    let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    match notice {
        Notice::ConfirmationRejected {
            attempts_left,
            locked_until,
        } => match locked_until {
            Some(until) => format!("wrong confirmation: locked until {}", day(until)),
            None => format!("wrong confirmation: {attempts_left} attempts left"),
        },
        Notice::Halted { blockers } => {
            let codes: Vec<&str> = blockers.iter().map(|b| b.code.as_str()).collect();
            format!("halted: {}", codes.join(", "))
        }
        Notice::DuplicateOutcome { effect } => {
            format!("a late or repeated outcome for {effect} was ignored")
        }
        Notice::ResponseOverdue { due } => {
            format!("the statutory response deadline passed at {}", day(due))
        }
        Notice::EffectFailed {
            effect,
            action,
            reason,
        } => format!("{action} failed for good ({reason}): an operator can retry {effect}"),
        Notice::HoldNotInSnapshot { hold } => {
            format!("legal hold {hold} is missing from the snapshot; it stays in force")
        }
        Notice::PurgeHeld { class, holds } => {
            let ids: Vec<String> = holds.iter().map(ToString::to_string).collect();
            format!(
                "{class} is due for purge but kept by legal hold {}",
                ids.join(", ")
            )
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Lower-case hex SHA-256, for the demo token's digest (the host's job).
fn sha256_hex(text: &str) -> String {
    offboard::audit::digest_hex(text.as_bytes())
}
