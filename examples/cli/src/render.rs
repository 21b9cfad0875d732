//! The human-readable checklist printed by `assess` and `demo`.

use std::fmt::Write;

use offboard::assess::{Responsible, SubscriptionCancellation};
use offboard::policy::{CancelTiming, UnusedTime};
use offboard::{Assessment, Snapshot};

/// `1 thing`, `5 things`.
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A day as the core's messages write it: `7 December 2026`.
fn day(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// The workspace's name in the snapshot, or its id.
fn workspace(snapshot: &Snapshot, id: &offboard::model::TenantId) -> String {
    snapshot
        .tenants
        .iter()
        .find(|t| t.id == *id)
        .map_or_else(|| id.to_string(), |t| t.name.clone())
}

fn who(snapshot: &Snapshot, by: &Responsible) -> String {
    match by {
        Responsible::AccountHolder => "the account holder".to_owned(),
        Responsible::Actor => "you".to_owned(),
        Responsible::TenantOwner { tenant } => {
            format!("an owner of {}", workspace(snapshot, tenant))
        }
        Responsible::SsoSuperAdmin { user } => format!("SSO super admin {user}"),
        Responsible::CustomerSuccess { contact } => format!("customer success ({})", contact.name),
        Responsible::Support => "support".to_owned(),
        _ => "someone else".to_owned(),
    }
}

fn cancellation(c: &SubscriptionCancellation) -> String {
    let when = match c.timing {
        CancelTiming::Immediately => "ends at closure".to_owned(),
        CancelTiming::AtPeriodEnd => format!("ends at the end of its period, {}", day(c.ends_at)),
    };
    let unused = match c.unused_time {
        UnusedTime::Credit => ", unused time credited",
        UnusedTime::Refund => ", unused time refunded",
        UnusedTime::None => "",
    };
    let kind = if c.add_on { "add-on" } else { "plan" };
    format!("{} ({kind}) {when}{unused}", c.plan)
}

/// Renders an assessment as a checklist.
pub fn checklist(snapshot: &Snapshot, report: &Assessment) -> String {
    let mut out = String::new();
    let account = &snapshot.account;
    let _ = writeln!(
        out,
        "Account {} ({}) · actor {} ({}) · {}",
        account.id,
        account.display_name,
        report.actor,
        report.actor_relation,
        report.assessed_at.format("%-d %B %Y %H:%M UTC")
    );
    if report.can_close {
        let _ = writeln!(out, "READY: nothing blocks the closure.");
    } else {
        let _ = writeln!(
            out,
            "BLOCKED: {} to clear first:",
            count(report.blockers.len() as u64, "thing", "things")
        );
        for (i, b) in report.blockers.iter().enumerate() {
            let _ = writeln!(out, "  {:>2}. [{}] {}", i + 1, b.code, b.message);
            let _ = writeln!(
                out,
                "      -> {} (by {})",
                b.remedy.message,
                who(snapshot, &b.remedy.by)
            );
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "Warnings:");
        for w in &report.warnings {
            let _ = writeln!(out, "   - {}", w.message);
        }
    }
    let c = &report.consequences;
    let n = &c.counts;
    let _ = writeln!(out, "Closing would:");
    let closes = match c.cancellable_until {
        Some(until) => format!(
            "after a grace period, cancellable until {}",
            until.format("%-d %B %Y %H:%M UTC")
        ),
        None => "at once, irreversibly".to_owned(),
    };
    let _ = writeln!(out, "   - run {closes}");
    let _ = writeln!(
        out,
        "   - delete {}, removing {}",
        count(n.tenants_deleted, "workspace", "workspaces"),
        count(n.members_removed, "other member", "other members")
    );
    for t in &c.tenants_deleted {
        let _ = writeln!(
            out,
            "       {} ({}): {} removed",
            t.name,
            t.tenant,
            count(t.members_removed.len() as u64, "member", "members")
        );
    }
    if n.tenants_left > 0 {
        let left: Vec<String> = c
            .tenants_left
            .iter()
            .map(|t| workspace(snapshot, t))
            .collect();
        let _ = writeln!(
            out,
            "   - leave {}: {}",
            count(n.tenants_left, "workspace", "workspaces"),
            left.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "   - cancel {} and {}",
        count(n.subscriptions_cancelled, "subscription", "subscriptions"),
        count(n.add_ons_cancelled, "add-on", "add-ons")
    );
    for s in &c.subscriptions_cancelled {
        let _ = writeln!(out, "       {}", cancellation(s));
    }
    let _ = writeln!(
        out,
        "   - delete {}",
        count(
            n.payment_methods_deleted,
            "payment method",
            "payment methods"
        )
    );
    let _ = writeln!(
        out,
        "   - release {} and turn off auto-renew on {}",
        count(n.domains_released, "domain", "domains"),
        n.auto_renew_disabled
    );
    let _ = writeln!(
        out,
        "   - keep {} downloadable until {}",
        count(n.invoices, "invoice", "invoices"),
        day(c.invoices.downloadable_until)
    );
    for r in &c.retention {
        let due = r.purge_due.map_or_else(
            || "kept until the hold is released".to_owned(),
            |d| format!("purged by {}", day(d)),
        );
        let held = if r.held_by.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = r.held_by.iter().map(ToString::to_string).collect();
            format!(" (legal hold {})", ids.join(", "))
        };
        let _ = writeln!(out, "   - {}: {due}{held}", r.class);
    }
    let reuse = c
        .identifiers_reusable_at
        .map_or_else(|| "never".to_owned(), day);
    let _ = writeln!(out, "   - identifiers reusable: {reuse}");
    out
}
