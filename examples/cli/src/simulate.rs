//! `offboard simulate`: runs a whole closure against an in-memory host with a
//! virtual clock, printing every command, transition, effect and outcome.
//!
//! The host here is the simplest correct one: it keeps the state as JSON,
//! appends the audit events, performs effects by reporting success (or the
//! injected failure), and ticks at the time the state asks for.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use offboard::audit::{verify_with_head, AuditEvent};
use offboard::machine::{
    step, ClosureState, Command, Context, EffectStatus, Outcome, Phase, PhaseKind,
};
use offboard::model::{ActorRole, UserId};
use offboard::plan::{Action, Effect, Recipient};
use offboard::policy::{ConfirmationMethod, Phrase};
use offboard::{Actor, ClosurePolicy, Snapshot};

/// How a simulation ended.
pub struct Ending {
    /// The printed trace.
    pub trace: String,
    /// The final phase.
    pub phase: PhaseKind,
}

struct Sim<'a> {
    policy: &'a ClosurePolicy,
    snapshot: &'a Snapshot,
    state_json: String,
    log: Vec<AuditEvent>,
    now: DateTime<Utc>,
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
        } => format!("{subject} ({timing:?})", subject = subscription),
        Action::DisableAutoRenew { domain } | Action::ReleaseDomain { domain } => {
            domain.to_string()
        }
        Action::RemoveMembers { tenant, users } => format!("{} member(s) of {tenant}", users.len()),
        Action::LeaveTenant { tenant } | Action::DeleteTenant { tenant } => tenant.to_string(),
        Action::DeletePaymentMethod { payment_method } => payment_method.to_string(),
        Action::PublishInvoiceArchive { count, until } => {
            format!("{count} invoice(s) until {}", until.format("%Y-%m-%d"))
        }
        Action::QuarantineIdentifiers { until } => until.map_or("for ever".to_owned(), |u| {
            format!("until {}", u.format("%Y-%m-%d"))
        }),
        Action::Purge { class } => class.to_string(),
        Action::Notify { recipient, message } => {
            let to = match recipient {
                Recipient::Holder => "the holder".to_owned(),
                Recipient::CoMembers { tenant } => format!("the co-members of {tenant}"),
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
    };
    format!("{} {subject}", effect.action.kind())
        .trim_end()
        .to_owned()
}

impl Sim<'_> {
    fn state(&self) -> ClosureState {
        ClosureState::from_json(&self.state_json).unwrap_or_else(|_| {
            // The simulator wrote this JSON itself one step earlier.
            unreachable_state()
        })
    }

    fn line(&mut self, text: String) {
        let _ = writeln!(self.trace, "{text}");
    }

    /// Runs one command; prints it and what it produced. Returns false when refused.
    fn run(&mut self, command: Command, actor: &Actor, label: &str) -> bool {
        let state = self.state();
        let ctx = Context {
            now: self.now,
            actor,
            policy: self.policy,
            snapshot: Some(self.snapshot),
        };
        let time = self.now.format("%Y-%m-%d %H:%M");
        match step(&state, &command, &ctx) {
            Ok(step) => {
                if step.audit.is_empty() && step.effects.is_empty() {
                    return true;
                }
                let events: Vec<&str> = step.audit.iter().map(|e| e.event.as_str()).collect();
                let (from, to) = (phase(state.phase.kind()), phase(step.state.phase.kind()));
                self.line(format!(
                    "{time}  {:<10} {label:<28} {from} -> {to}  [{}]",
                    actor.id,
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
                    let text = serde_json::to_string(notice).unwrap_or_default();
                    self.line(format!("{:>19}!  {text}", ""));
                }
                self.log.extend(step.audit);
                self.state_json = serde_json::to_string(&step.state).unwrap_or_default();
                true
            }
            Err(err) => {
                self.line(format!(
                    "{time}  {:<10} {label:<28} refused: [{}] {err}",
                    actor.id,
                    err.code()
                ));
                false
            }
        }
    }
}

fn unreachable_state() -> ClosureState {
    // Only reached if serde_json could not read back its own output.
    std::process::exit(70)
}

fn phase(kind: PhaseKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Runs the lifecycle of the account in `snapshot` under `policy`. `fail`
/// names an action type whose effects fail (retryably) until an operator
/// steps in.
pub fn simulate(
    snapshot: &Snapshot,
    policy: &ClosurePolicy,
    fail: Option<&str>,
) -> Result<Ending, offboard::Error> {
    let account = &snapshot.account;
    let start = snapshot.taken_at;
    let state = ClosureState::new(format!("cl_{}", account.id), account.id.clone())?;
    let mut sim = Sim {
        policy,
        snapshot,
        state_json: serde_json::to_string(&state).unwrap_or_default(),
        log: Vec::new(),
        now: start,
        trace: String::new(),
        fail,
        repaired: false,
    };
    let holder = Actor::holder(account, start);
    let system = Actor {
        id: UserId::new("system").map_err(|e| offboard::Error::InvalidValue {
            path: "actor".into(),
            reason: e.to_string(),
        })?,
        role: ActorRole::System,
        reauthenticated_at: None,
    };
    let operator = Actor {
        id: UserId::new("operator").map_err(|e| offboard::Error::InvalidValue {
            path: "actor".into(),
            reason: e.to_string(),
        })?,
        role: ActorRole::SupportOperator,
        reauthenticated_at: Some(start),
    };

    let token = "demo-token";
    let (token_digest, typed) = match &policy.confirmation.method {
        ConfirmationMethod::Token { .. } => (Some(sha256_hex(token)), token.to_owned()),
        ConfirmationMethod::TypedPhrase { phrase } => (
            None,
            match phrase {
                Phrase::Email => account.email.clone(),
                Phrase::DisplayName => account.display_name.clone(),
                Phrase::Fixed(text) => text.clone(),
            },
        ),
    };
    if !sim.run(
        Command::Request {
            feedback: None,
            token_digest,
        },
        &holder,
        "request",
    ) {
        let phase = sim.state().phase.kind();
        return Ok(Ending {
            trace: sim.trace,
            phase,
        });
    }
    sim.run(Command::Confirm { value: typed }, &holder, "confirm");

    for _ in 0..10_000 {
        // Perform what is pending.
        while let Some(record) = sim
            .state()
            .effects
            .iter()
            .find(|r| r.status == EffectStatus::Pending)
            .cloned()
        {
            let failing = !sim.repaired && sim.fail == Some(record.effect.action.kind());
            let outcome = if failing {
                Outcome::RetryableFailure {
                    reason: "injected failure".into(),
                }
            } else {
                Outcome::Succeeded
            };
            let short = record
                .effect
                .id
                .as_str()
                .get(..11)
                .unwrap_or_default()
                .to_owned();
            let label = format!(
                "report {short} {}",
                if failing { "retry_failure" } else { "ok" }
            );
            sim.run(
                Command::ReportOutcome {
                    effect: record.effect.id.clone(),
                    outcome,
                },
                &system,
                &label,
            );
        }
        let state = sim.state();
        match state.phase {
            Phase::Purged { .. }
            | Phase::Aborted { .. }
            | Phase::Cancelled { .. }
            | Phase::Halted { .. } => break,
            Phase::Failed { .. } => {
                sim.line(format!(
                    "{:>19}   (the operator fixes the downstream service and retries)",
                    ""
                ));
                sim.repaired = true;
                sim.run(Command::Retry, &operator, "retry");
                continue;
            }
            Phase::Idle
            | Phase::AwaitingConfirmation { .. }
            | Phase::Scheduled { .. }
            | Phase::Executing { .. }
            | Phase::Closed { .. } => {}
        }
        match state.next_tick(policy) {
            Some(at) => {
                sim.now = sim.now.max(at);
                sim.run(Command::Tick, &system, "tick");
            }
            None => break,
        }
    }
    let state = sim.state();
    let verified = verify_with_head(&sim.log, &state.audit.head);
    let summary = match verified {
        Ok(v) => format!(
            "audit log: {} event(s), chain verified, head {}",
            v.events,
            v.head.get(..16).unwrap_or_default()
        ),
        Err(e) => format!("audit log does NOT verify: {e}"),
    };
    sim.line(summary);
    Ok(Ending {
        trace: sim.trace,
        phase: state.phase.kind(),
    })
}

/// Lower-case hex SHA-256, for the demo token's digest (the host's job).
fn sha256_hex(text: &str) -> String {
    offboard::audit::digest_hex(text.as_bytes())
}
