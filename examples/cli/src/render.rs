//! The human-readable checklist printed by `assess` and `demo`.

use std::fmt::Write;

use offboard::assess::{Responsible, SubscriptionCancellation};
use offboard::policy::{CancelTiming, UnusedTime};
use offboard::{Assessment, Snapshot};

fn who(by: &Responsible) -> String {
    match by {
        Responsible::AccountHolder => "the account holder".to_owned(),
        Responsible::Actor => "you".to_owned(),
        Responsible::TenantOwner { tenant } => format!("an owner of {tenant}"),
        Responsible::SsoSuperAdmin { user } => format!("SSO super admin {user}"),
        Responsible::CustomerSuccess { contact } => format!("customer success ({})", contact.name),
        Responsible::Support => "support".to_owned(),
        _ => "someone else".to_owned(),
    }
}

fn cancellation(c: &SubscriptionCancellation) -> String {
    let when = match c.timing {
        CancelTiming::Immediately => "ends at closure".to_owned(),
        CancelTiming::AtPeriodEnd => format!("ends at period end {}", c.ends_at.format("%Y-%m-%d")),
    };
    let unused = match c.unused_time {
        UnusedTime::Credit => ", unused time credited",
        UnusedTime::Refund => ", unused time refunded",
        UnusedTime::None => "",
    };
    let kind = if c.add_on { "add-on" } else { "plan" };
    format!("{} ({kind}: {}) {when}{unused}", c.subscription, c.plan)
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
        report.assessed_at.format("%Y-%m-%d %H:%M UTC")
    );
    if report.can_close {
        let _ = writeln!(out, "READY: nothing blocks the closure.");
    } else {
        let _ = writeln!(
            out,
            "BLOCKED: {} thing(s) to clear first:",
            report.blockers.len()
        );
        for (i, b) in report.blockers.iter().enumerate() {
            let _ = writeln!(out, "  {:>2}. [{}] {}", i + 1, b.code, b.message);
            let _ = writeln!(
                out,
                "      -> {} (by {})",
                b.remedy.message,
                who(&b.remedy.by)
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
            until.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "at once, irreversibly".to_owned(),
    };
    let _ = writeln!(out, "   - run {closes}");
    let _ = writeln!(
        out,
        "   - delete {} tenant(s), removing {} other member(s)",
        n.tenants_deleted, n.members_removed
    );
    for t in &c.tenants_deleted {
        let _ = writeln!(
            out,
            "       {} ({}): {} member(s) removed",
            t.name,
            t.tenant,
            t.members_removed.len()
        );
    }
    if n.tenants_left > 0 {
        let left: Vec<String> = c.tenants_left.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "   - leave {} tenant(s) that live on: {}",
            n.tenants_left,
            left.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "   - cancel {} subscription(s) and {} add-on(s)",
        n.subscriptions_cancelled, n.add_ons_cancelled
    );
    for s in &c.subscriptions_cancelled {
        let _ = writeln!(out, "       {}", cancellation(s));
    }
    let _ = writeln!(
        out,
        "   - delete {} payment method(s)",
        n.payment_methods_deleted
    );
    let _ = writeln!(
        out,
        "   - release {} domain(s) and turn off auto-renew on {}",
        n.domains_released, n.auto_renew_disabled
    );
    let _ = writeln!(
        out,
        "   - keep {} invoice(s) downloadable until {}",
        n.invoices,
        c.invoices.downloadable_until.format("%Y-%m-%d")
    );
    for r in &c.retention {
        let due = r.purge_due.map_or_else(
            || "kept until the hold is released".to_owned(),
            |d| format!("purged by {}", d.format("%Y-%m-%d")),
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
        .map_or_else(|| "never".to_owned(), |d| d.format("%Y-%m-%d").to_string());
    let _ = writeln!(out, "   - identifiers reusable: {reuse}");
    out
}
