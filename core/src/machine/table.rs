//! The transition table: every phase change the machine can make, as data.
//! The machine refuses to make a change that is not in it, and [`diagram`]
//! draws it, so the picture cannot drift from the behaviour.

use super::types::{CommandKind, PhaseKind};

use CommandKind as C;
use PhaseKind as P;

/// `(from, command, to)`: the phase changes the machine makes.
pub const TRANSITIONS: &[(PhaseKind, CommandKind, PhaseKind)] = &[
    (P::Idle, C::Request, P::AwaitingConfirmation),
    (P::Cancelled, C::Request, P::AwaitingConfirmation),
    (P::Aborted, C::Request, P::AwaitingConfirmation),
    (P::AwaitingConfirmation, C::Request, P::AwaitingConfirmation),
    (P::AwaitingConfirmation, C::Confirm, P::AwaitingConfirmation),
    (P::AwaitingConfirmation, C::Confirm, P::Scheduled),
    (P::AwaitingConfirmation, C::Confirm, P::Executing),
    (P::AwaitingConfirmation, C::Cancel, P::Cancelled),
    (P::Scheduled, C::Tick, P::Scheduled),
    (P::Scheduled, C::Tick, P::Executing),
    (P::Scheduled, C::Tick, P::Halted),
    (P::Scheduled, C::Cancel, P::Cancelled),
    (P::Halted, C::Tick, P::Executing),
    (P::Halted, C::Request, P::AwaitingConfirmation),
    (P::Halted, C::Cancel, P::Cancelled),
    (P::Halted, C::Abort, P::Aborted),
    (P::Halted, C::ReleaseHold, P::Executing),
    (P::Executing, C::ReportOutcome, P::Executing),
    (P::Executing, C::ReportOutcome, P::Closed),
    (P::Executing, C::ReportOutcome, P::Failed),
    (P::Failed, C::Retry, P::Executing),
    (P::Failed, C::ReportOutcome, P::Executing),
    (P::Failed, C::ReportOutcome, P::Closed),
    (P::Failed, C::Abort, P::Aborted),
    (P::Closed, C::ReportOutcome, P::Purged),
];

/// Commands accepted in every phase without changing it: holds, outcomes of
/// notifications and locks, ticks that only retry, remind or purge, an
/// operator's retry of failed notifications and purges, the statutory
/// deadline's extension, and an operator's policy migration.
pub const IN_EVERY_PHASE: &[CommandKind] = &[
    C::PlaceHold,
    C::ReleaseHold,
    C::ReportOutcome,
    C::Tick,
    C::Retry,
    C::ExtendDeadline,
    C::MigratePolicy,
];

/// Whether the machine may go from `from` to `to` on `command`.
pub fn allowed(from: PhaseKind, command: CommandKind, to: PhaseKind) -> bool {
    (from == to && IN_EVERY_PHASE.contains(&command)) || TRANSITIONS.contains(&(from, command, to))
}

fn name(phase: PhaseKind) -> &'static str {
    match phase {
        P::Idle => "Idle",
        P::AwaitingConfirmation => "AwaitingConfirmation",
        P::Scheduled => "Scheduled",
        P::Halted => "Halted",
        P::Executing => "Executing",
        P::Failed => "Failed",
        P::Aborted => "Aborted",
        P::Cancelled => "Cancelled",
        P::Closed => "Closed",
        P::Purged => "Purged",
    }
}

/// A Mermaid state diagram of [`TRANSITIONS`].
pub fn diagram() -> String {
    let mut out = String::from("stateDiagram-v2\n    [*] --> Idle\n");
    for (from, command, to) in TRANSITIONS {
        out.push_str(&format!(
            "    {} --> {}: {}\n",
            name(*from),
            name(*to),
            command.as_str()
        ));
    }
    out.push_str("    Purged --> [*]\n    Aborted --> [*]\n");
    out.push_str(
        "    note left of Executing: point of no return, the first delete_tenant or delete_account issued; past it no cancel or abort, only retry\n",
    );
    let always: Vec<&str> = IN_EVERY_PHASE.iter().map(|c| c.as_str()).collect();
    out.push_str(&format!(
        "    note right of Idle: in every phase, {} may leave the phase unchanged\n",
        always.join(", ")
    ));
    out
}
