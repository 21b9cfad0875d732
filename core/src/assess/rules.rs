//! The blocker rules and the consequence builder, in one linear pass per area.

use chrono::{DateTime, TimeDelta, Utc};

use super::names::{count, date, workspace_name, Names};
use super::report::{
    Assessment, Blocker, BlockerCode, ClassRetention, Consequences, Counts, CreditRefund,
    InvoiceArchive, OwnershipTransfer, Remedy, RemedyAction, Responsible, Subject,
    SubscriptionCancellation, TenantDeletion, Warning, WarningCode, ASSESSMENT_VERSION,
};
use crate::error::Error;
use crate::model::{
    format_minor, AccountKind, AccountStatus, Actor, ActorRelation, Balance, DomainSetup, Identity,
    Index, InvoiceStatus, LegalHold, RecordClass, Role, Snapshot, SubscriptionStatus, TenantId,
};
use crate::policy::{
    add_days, CancelTiming, ClosurePolicy, ContractRule, IdentifierReuse, Rule, SharedTenantRule,
    SsoRule, UnusedTime,
};

/// What the closure does to one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Deleted with the account (its billing, domains and members go too).
    Deleted,
    /// The account leaves; the tenant lives on.
    Left,
    /// Blocked until ownership moves; the tenant and its belongings stay.
    Transfer,
}

pub(super) struct Assessor<'a> {
    snapshot: &'a Snapshot,
    index: &'a Index<'a>,
    policy: &'a ClosurePolicy,
    now: DateTime<Utc>,
    /// The legal holds that apply: the snapshot's, or the machine's hold set.
    holds: &'a [LegalHold],
    closes_at: DateTime<Utc>,
    fates: Vec<Fate>,
    blockers: Vec<Blocker>,
    warnings: Vec<Warning>,
    consequences: Consequences,
}

fn out_of_range() -> Error {
    Error::invalid(
        "now",
        "the dates this assessment needs fall outside the supported range",
    )
}

impl<'a> Assessor<'a> {
    pub(super) fn new(
        snapshot: &'a Snapshot,
        index: &'a Index<'a>,
        policy: &'a ClosurePolicy,
        now: DateTime<Utc>,
        holds: &'a [LegalHold],
        closes_at: DateTime<Utc>,
    ) -> Result<Assessor<'a>, Error> {
        let downloadable_until =
            add_days(closes_at, policy.invoice_download_days).ok_or_else(out_of_range)?;
        let identifiers_reusable_at = match policy.identifier_reuse {
            IdentifierReuse::AfterDays(days) => {
                Some(add_days(closes_at, days).ok_or_else(out_of_range)?)
            }
            IdentifierReuse::Never => None,
        };
        Ok(Assessor {
            snapshot,
            index,
            policy,
            now,
            holds,
            closes_at,
            fates: Vec::with_capacity(snapshot.tenants.len()),
            blockers: Vec::new(),
            warnings: Vec::new(),
            consequences: Consequences {
                closes_at,
                locked_on_confirmation: policy.lifecycle.lock_on_confirm,
                cancellable_until: (closes_at > now).then_some(closes_at),
                counts: Counts::default(),
                tenants_deleted: Vec::new(),
                tenants_left: Vec::new(),
                primary_ownership_transferred: Vec::new(),
                subscriptions_cancelled: Vec::new(),
                payment_methods_deleted: Vec::new(),
                credits_refunded: Vec::new(),
                domains_released: Vec::new(),
                auto_renew_disabled: Vec::new(),
                invoices: InvoiceArchive {
                    count: 0,
                    downloadable_until,
                },
                personal_data_purge_due: None,
                retention: Vec::with_capacity(RecordClass::ALL.len()),
                identifiers_reusable_at,
            },
        })
    }

    pub(super) fn run(mut self, actor: &Actor) -> Result<Assessment, Error> {
        let relation = actor.relation_to(&self.snapshot.account);
        self.authorization(actor, relation);
        self.legal_holds()?;
        self.tenants();
        self.subscriptions();
        self.domains();
        self.payment_methods();
        self.invoices_and_balances();
        if self.policy.lifecycle.lock_on_confirm {
            let id = self.snapshot.account.id.clone();
            self.warn(
                WarningCode::SignedOutOnConfirmation,
                Subject::Account { id },
                "Once you confirm, you are signed out everywhere and can no longer change anything in the account; cancelling gives that back.".to_owned(),
            );
        }
        if self.policy.grace_period_days == 0 {
            let id = self.snapshot.account.id.clone();
            self.warn(
                WarningCode::Irreversible,
                Subject::Account { id },
                "Once confirmed, the closure runs at once and cannot be undone.".to_owned(),
            );
        }
        self.fill_counts();
        Ok(Assessment {
            schema_version: ASSESSMENT_VERSION,
            account: self.snapshot.account.id.clone(),
            actor: actor.id.clone(),
            actor_relation: relation,
            policy: self.policy.name.clone(),
            assessed_at: self.now,
            can_close: self.blockers.is_empty(),
            blockers: self.blockers,
            warnings: self.warnings,
            consequences: self.consequences,
        })
    }

    fn block(
        &mut self,
        code: BlockerCode,
        subject: Subject,
        message: String,
        action: RemedyAction,
        by: Responsible,
        remedy: String,
    ) {
        self.blockers.push(Blocker {
            code,
            subject,
            message,
            remedy: Remedy {
                action,
                by,
                message: remedy,
            },
        });
    }

    fn warn(&mut self, code: WarningCode, subject: Subject, message: String) {
        self.warnings.push(Warning {
            code,
            subject,
            message,
        });
    }

    /// Whether the closure reaches things owned by `tenant` (`None`: the account).
    fn in_scope(&self, tenant: Option<&TenantId>) -> bool {
        match tenant {
            None => true,
            Some(id) => self
                .index
                .tenants
                .get(id)
                .and_then(|&at| self.fates.get(at))
                .is_some_and(|fate| *fate == Fate::Deleted),
        }
    }

    /// How the messages name this snapshot's things.
    fn names(&self) -> Names<'a> {
        Names::indexed(self.snapshot, &self.index.tenants)
    }

    /// Who can act on something owned by `tenant` (`None`: the account).
    fn owner_of(tenant: Option<&TenantId>) -> Responsible {
        match tenant {
            None => Responsible::AccountHolder,
            Some(id) => Responsible::TenantOwner { tenant: id.clone() },
        }
    }

    fn authorization(&mut self, actor: &Actor, relation: ActorRelation) {
        let account = &self.snapshot.account;
        let account_subject = || Subject::Account {
            id: account.id.clone(),
        };
        let support = relation == ActorRelation::SupportOperator;
        let system_may =
            relation == ActorRelation::System && self.policy.authorization.inactivity_closure;
        if relation == ActorRelation::Unrelated
            || (relation == ActorRelation::System && !system_may)
        {
            self.block(
                BlockerCode::ActorNotAllowed,
                Subject::Actor { id: actor.id.clone() },
                "You may not close this account: only its holder, its SSO super admin or support can (and the host's system, for inactivity, where the policy allows it).".to_owned(),
                RemedyAction::AskAccountHolder,
                Responsible::AccountHolder,
                "Ask the account holder to close the account themselves.".to_owned(),
            );
        }
        match account.status {
            AccountStatus::Active => {}
            AccountStatus::Closed => self.block(
                BlockerCode::AccountClosed,
                account_subject(),
                "The account is already closed.".to_owned(),
                RemedyAction::ContactSupport,
                Responsible::Support,
                "Contact support if this is unexpected.".to_owned(),
            ),
            AccountStatus::Suspended if !support => self.block(
                BlockerCode::AccountSuspended,
                account_subject(),
                "The account is suspended, and a suspended account cannot be closed by its users."
                    .to_owned(),
                RemedyAction::ContactSupport,
                Responsible::Support,
                "Contact support: they can review the suspension and close the account.".to_owned(),
            ),
            AccountStatus::Locked if !support => self.block(
                BlockerCode::AccountLocked,
                account_subject(),
                "The account is locked for a security review.".to_owned(),
                RemedyAction::ContactSupport,
                Responsible::Support,
                "Contact support to finish the security review; they can then close the account."
                    .to_owned(),
            ),
            AccountStatus::Suspended | AccountStatus::Locked => {}
        }
        if let AccountKind::Contract { customer_success } = &account.kind {
            if self.policy.authorization.contract_accounts == ContractRule::CustomerSuccessOnly
                && !support
            {
                self.block(
                    BlockerCode::ContractAccount,
                    account_subject(),
                    "The account is under contract, so it cannot be closed from here.".to_owned(),
                    RemedyAction::ContactCustomerSuccess,
                    Responsible::CustomerSuccess {
                        contact: customer_success.clone(),
                    },
                    format!(
                        "Contact {} ({}), your customer-success manager, to close the account.",
                        customer_success.name, customer_success.email
                    ),
                );
            }
        }
        if let Identity::Sso {
            provider,
            super_admin,
        } = &account.identity
        {
            if self.policy.authorization.sso_accounts == SsoRule::SuperAdminOnly
                && relation == ActorRelation::Holder
            {
                self.block(
                    BlockerCode::SsoManaged,
                    account_subject(),
                    format!("The account signs in through {provider} single sign-on and is managed by its super admin."),
                    RemedyAction::AskSsoSuperAdmin,
                    Responsible::SsoSuperAdmin { user: super_admin.clone() },
                    "Ask your organisation's SSO super admin to close the account on your behalf.".to_owned(),
                );
            }
        }
        // A machine identity does not sign in: re-authentication is asked of people.
        let person = relation != ActorRelation::System;
        if let Some(max_minutes) = self
            .policy
            .authorization
            .max_reauth_age_minutes
            .filter(|_| person)
        {
            let fresh = actor
                .reauthenticated_at
                .is_some_and(|at| self.now - at <= TimeDelta::minutes(i64::from(max_minutes)));
            if !fresh {
                self.block(
                    BlockerCode::ReauthenticationRequired,
                    Subject::Actor {
                        id: actor.id.clone(),
                    },
                    format!(
                        "Closing an account needs a sign-in from the last {max_minutes} minutes."
                    ),
                    RemedyAction::Reauthenticate,
                    Responsible::Actor,
                    "Sign in again, then retry.".to_owned(),
                );
            }
        }
    }

    fn legal_holds(&mut self) -> Result<(), Error> {
        let block = self.policy.conditions.legal_hold == Rule::Block;
        let (holds, now) = (self.holds, self.now);
        for hold in holds.iter().filter(|h| h.in_force(now)) {
            let subject = Subject::LegalHold {
                id: hold.id.clone(),
            };
            if block {
                self.block(
                    BlockerCode::LegalHold,
                    subject,
                    "A legal hold is in force on this account's records.".to_owned(),
                    RemedyAction::ContactSupport,
                    Responsible::Support,
                    "Contact support; the hold must be released by whoever placed it.".to_owned(),
                );
            } else {
                let classes: Vec<String> = hold.classes.iter().map(ToString::to_string).collect();
                let until = match hold.until {
                    Some(until) => format!("until {}", date(until)),
                    None => "until it is released".to_owned(),
                };
                self.warn(
                    WarningCode::LegalHold,
                    subject,
                    format!("A legal hold keeps the account's {} after the closure, {until}: those records are not destroyed while it is in force, then purged.", classes.join(", ")),
                );
            }
        }
        for class in RecordClass::ALL {
            let mut due = self
                .policy
                .retention
                .period(class)
                .after(self.now)
                .ok_or_else(out_of_range)?;
            let mut open_ended = false;
            let mut held_by = Vec::new();
            for hold in self.holds {
                if hold.in_force(self.now) && hold.covers(class) {
                    held_by.push(hold.id.clone());
                    match hold.until {
                        Some(until) => due = due.max(until),
                        None => open_ended = true,
                    }
                }
            }
            let purge_due = (!open_ended).then_some(due);
            if class == RecordClass::PersonalData {
                self.consequences.personal_data_purge_due = purge_due;
            }
            self.consequences.retention.push(ClassRetention {
                class,
                purge_due,
                held_by,
            });
        }
        Ok(())
    }

    fn tenants(&mut self) {
        let account_id = &self.snapshot.account.id;
        for tenant in &self.snapshot.tenants {
            let others = tenant.members.len().saturating_sub(1);
            // The first other owner, in the snapshot's order: who takes over.
            let co_owner = tenant
                .members
                .iter()
                .find(|m| m.user != *account_id && m.role == Role::Owner);
            let fate = if tenant.primary_owner != *account_id {
                Fate::Left
            } else if let Some(co_owner) = co_owner {
                self.consequences
                    .primary_ownership_transferred
                    .push(OwnershipTransfer {
                        tenant: tenant.id.clone(),
                        to: co_owner.user.clone(),
                    });
                Fate::Left
            } else if others == 0
                || self.policy.shared_tenants == SharedTenantRule::DeleteAndRemoveMembers
            {
                Fate::Deleted
            } else {
                Fate::Transfer
            };
            self.fates.push(fate);
            match fate {
                Fate::Left => self.consequences.tenants_left.push(tenant.id.clone()),
                Fate::Transfer => self.block(
                    BlockerCode::SharedTenantOwner,
                    Subject::Tenant {
                        id: tenant.id.clone(),
                    },
                    format!(
                        "You are the primary owner of {}, which has {}.",
                        workspace_name(&tenant.name),
                        count(others, "other member", "other members")
                    ),
                    RemedyAction::TransferTenantOwnership,
                    Responsible::AccountHolder,
                    format!(
                        "Make another member the primary owner of {}, or delete it yourself.",
                        workspace_name(&tenant.name)
                    ),
                ),
                Fate::Deleted => {
                    let members_removed: Vec<_> = tenant
                        .members
                        .iter()
                        .filter(|m| m.user != *account_id)
                        .map(|m| m.user.clone())
                        .collect();
                    if !members_removed.is_empty() {
                        self.warnings.push(Warning {
                            code: WarningCode::CoMembersLoseAccess,
                            subject: Subject::Tenant {
                                id: tenant.id.clone(),
                            },
                            message: format!(
                                "{} is deleted, and {} {} access to it.",
                                capitalise(&workspace_name(&tenant.name)),
                                match members_removed.len() {
                                    1 => "its other member".to_owned(),
                                    n => format!("its {n} other members"),
                                },
                                if members_removed.len() == 1 {
                                    "loses"
                                } else {
                                    "lose"
                                }
                            ),
                        });
                    }
                    self.consequences.tenants_deleted.push(TenantDeletion {
                        tenant: tenant.id.clone(),
                        name: tenant.name.clone(),
                        members_removed,
                    });
                }
            }
        }
    }

    fn subscriptions(&mut self) {
        let rule = self.policy.conditions.active_subscription;
        let billing = self.policy.billing;
        for sub in &self.snapshot.subscriptions {
            if !sub.status.is_live() || !self.in_scope(sub.tenant.as_ref()) {
                continue;
            }
            let names = self.names();
            if rule == Rule::Block && !sub.cancel_at_period_end {
                let code = if sub.is_add_on() {
                    BlockerCode::AddOnActive
                } else {
                    BlockerCode::SubscriptionActive
                };
                self.block(
                    code,
                    Subject::Subscription { id: sub.id.clone() },
                    format!(
                        "{} is {} and would renew.",
                        capitalise(&names.subscription_of(sub)),
                        sub.status
                    ),
                    RemedyAction::CancelSubscription,
                    Self::owner_of(sub.tenant.as_ref()),
                    format!("Cancel {}.", names.subscription_of(sub)),
                );
                continue;
            }
            // Cleared by the closure, or already set to end at its period end.
            let timing = if rule == Rule::Clear {
                billing.cancel
            } else {
                CancelTiming::AtPeriodEnd
            };
            let (ends_at, unused_time) = match timing {
                CancelTiming::Immediately => {
                    // Only time actually paid for is compensated: a past-due
                    // or unpaid period was never paid.
                    let paid = sub.status == SubscriptionStatus::Active;
                    (
                        self.closes_at,
                        if paid {
                            billing.unused_time
                        } else {
                            UnusedTime::None
                        },
                    )
                }
                CancelTiming::AtPeriodEnd => (sub.current_period_end, UnusedTime::None),
            };
            self.consequences
                .subscriptions_cancelled
                .push(SubscriptionCancellation {
                    subscription: sub.id.clone(),
                    tenant: sub.tenant.clone(),
                    plan: sub.plan.clone(),
                    add_on: sub.is_add_on(),
                    timing,
                    ends_at,
                    unused_time,
                });
        }
    }

    fn domains(&mut self) {
        let conditions = self.policy.conditions;
        for domain in &self.snapshot.domains {
            if !self.in_scope(domain.tenant.as_ref()) {
                continue;
            }
            let name = &domain.name;
            let subject = || Subject::Domain { name: name.clone() };
            let owner = || Self::owner_of(domain.tenant.as_ref());
            if domain.active {
                match conditions.active_domain {
                    Rule::Block => self.block(
                        BlockerCode::DomainActive,
                        subject(),
                        format!("The domain {name} is still active on the platform."),
                        RemedyAction::RemoveDomain,
                        owner(),
                        format!("Remove {name} from the platform."),
                    ),
                    Rule::Clear | Rule::Warn => {
                        self.consequences.domains_released.push(name.clone())
                    }
                }
            }
            match domain.setup {
                DomainSetup::Full {
                    nameservers_point_here: true,
                } => {
                    let message =
                        format!("The registrar of {name} still lists the platform's nameservers.");
                    match conditions.registrar_nameservers {
                        Rule::Block => self.block(
                            BlockerCode::NameserversPointHere,
                            subject(),
                            message,
                            RemedyAction::ChangeNameservers,
                            owner(),
                            format!("At the registrar of {name}, replace the platform's nameservers with your new DNS provider's."),
                        ),
                        Rule::Clear | Rule::Warn => self.warn(WarningCode::NameserversPointHere, subject(), message),
                    }
                }
                DomainSetup::Partial {
                    cname_records_live: true,
                } => {
                    let message = format!(
                        "DNS records of {name} at its DNS provider still point at the platform."
                    );
                    match conditions.partial_setup {
                        Rule::Block => self.block(
                            BlockerCode::PartialSetupLive,
                            subject(),
                            message,
                            RemedyAction::RepointDnsRecords,
                            owner(),
                            format!("At the DNS provider of {name}, point the records at your origin instead of the platform."),
                        ),
                        Rule::Clear | Rule::Warn => self.warn(WarningCode::PartialSetupLive, subject(), message),
                    }
                }
                DomainSetup::Full {
                    nameservers_point_here: false,
                }
                | DomainSetup::Partial {
                    cname_records_live: false,
                } => {}
            }
            if domain.registration.is_some_and(|r| r.auto_renew) {
                match conditions.registrar_auto_renew {
                    Rule::Block => self.block(
                        BlockerCode::RegistrarAutoRenew,
                        subject(),
                        format!("The registration of {name} renews automatically."),
                        RemedyAction::DisableAutoRenew,
                        owner(),
                        format!(
                            "Turn off auto-renew for {name}, or transfer it to another registrar."
                        ),
                    ),
                    Rule::Clear | Rule::Warn => {
                        self.consequences.auto_renew_disabled.push(name.clone())
                    }
                }
            }
        }
    }

    fn payment_methods(&mut self) {
        let rule = self.policy.conditions.payment_method;
        for method in &self.snapshot.payment_methods {
            if !self.in_scope(method.tenant.as_ref()) {
                continue;
            }
            match rule {
                Rule::Block => self.block(
                    BlockerCode::PaymentMethodOnFile,
                    Subject::PaymentMethod {
                        id: method.id.clone(),
                    },
                    format!(
                        "{} is still saved.",
                        capitalise(&self.names().payment_method_of(method))
                    ),
                    RemedyAction::DeletePaymentMethod,
                    Self::owner_of(method.tenant.as_ref()),
                    format!("Delete {}.", self.names().payment_method_of(method)),
                ),
                Rule::Clear | Rule::Warn => self
                    .consequences
                    .payment_methods_deleted
                    .push(method.id.clone()),
            }
        }
    }

    fn invoices_and_balances(&mut self) {
        let unpaid_rule = self.policy.conditions.unpaid_balance;
        let dispute_rule = self.policy.conditions.open_dispute;
        let mut archived = 0u64;
        for invoice in &self.snapshot.invoices {
            if !self.in_scope(invoice.tenant.as_ref()) {
                continue;
            }
            archived += 1;
            let subject = || Subject::Invoice {
                id: invoice.id.clone(),
            };
            let owner = || Self::owner_of(invoice.tenant.as_ref());
            let named = self.names().invoice_of(invoice);
            match invoice.status {
                status if status.is_unpaid() && invoice.amount_due > 0 => {
                    let message = format!("{} is unpaid.", capitalise(&named));
                    match unpaid_rule {
                        Rule::Block => self.block(
                            BlockerCode::InvoiceUnpaid,
                            subject(),
                            message,
                            RemedyAction::PayInvoice,
                            owner(),
                            format!("Pay {named}."),
                        ),
                        Rule::Clear | Rule::Warn => {
                            self.warn(WarningCode::InvoiceUnpaid, subject(), message)
                        }
                    }
                }
                InvoiceStatus::Disputed => {
                    let message = format!("The payment of {named} is disputed.");
                    match dispute_rule {
                        Rule::Block => self.block(BlockerCode::DisputeOpen, subject(), message, RemedyAction::ResolveDispute, Responsible::Support, "Wait until the dispute is resolved; support can tell you where it stands.".to_owned()),
                        Rule::Clear | Rule::Warn => self.warn(WarningCode::DisputeOpen, subject(), message),
                    }
                }
                InvoiceStatus::Paid
                | InvoiceStatus::Open
                | InvoiceStatus::Uncollectible
                | InvoiceStatus::Void => {}
            }
        }
        self.consequences.invoices.count = archived;
        if archived > 0 {
            let id = self.snapshot.account.id.clone();
            let until = self.consequences.invoices.downloadable_until;
            self.warn(
                WarningCode::InvoicesDownloadWindow,
                Subject::Account { id },
                format!(
                    "Download your {} before {}: after that they cannot be downloaded or sent again.",
                    count(usize::try_from(archived).unwrap_or(usize::MAX), "invoice", "invoices"),
                    date(until)
                ),
            );
        }
        let account_balance = self.snapshot.balance.map(|b| (None, b));
        let tenant_balances = self
            .snapshot
            .tenants
            .iter()
            .filter_map(|t| t.balance.map(|b| (Some(&t.id), b)));
        let balances: Vec<(Option<&TenantId>, Balance)> =
            account_balance.into_iter().chain(tenant_balances).collect();
        for (tenant, balance) in balances {
            if !self.in_scope(tenant) {
                continue;
            }
            let subject = Subject::Balance {
                tenant: tenant.cloned(),
            };
            let amount = format_minor(i128::from(balance.amount), balance.currency);
            if balance.amount < 0 {
                let owed = format_minor(-i128::from(balance.amount), balance.currency);
                let message = format!(
                    "{} shows {owed} owed.",
                    capitalise(&self.names().balance(tenant))
                );
                match unpaid_rule {
                    Rule::Block => self.block(
                        BlockerCode::BalanceOwed,
                        subject,
                        message,
                        RemedyAction::SettleBalance,
                        Self::owner_of(tenant),
                        format!("Settle the {owed} owed."),
                    ),
                    Rule::Clear | Rule::Warn => {
                        self.warn(WarningCode::BalanceOwed, subject, message)
                    }
                }
            } else if balance.amount > 0 {
                let fate = match self.policy.billing.unused_time {
                    UnusedTime::Refund => {
                        self.consequences.credits_refunded.push(CreditRefund {
                            tenant: tenant.cloned(),
                            amount: balance.amount,
                            currency: balance.currency,
                        });
                        "is refunded"
                    }
                    UnusedTime::Credit | UnusedTime::None => "cannot be used after the closure",
                };
                self.warn(
                    WarningCode::CreditBalance,
                    subject,
                    format!("A credit of {amount} {fate}."),
                );
            }
        }
    }

    fn fill_counts(&mut self) {
        let c = &mut self.consequences;
        let len = |n: usize| n as u64;
        let add_ons = c
            .subscriptions_cancelled
            .iter()
            .filter(|s| s.add_on)
            .count();
        c.counts = Counts {
            tenants_deleted: len(c.tenants_deleted.len()),
            members_removed: c
                .tenants_deleted
                .iter()
                .map(|t| len(t.members_removed.len()))
                .sum(),
            tenants_left: len(c.tenants_left.len()),
            primary_ownership_transferred: len(c.primary_ownership_transferred.len()),
            credits_refunded: len(c.credits_refunded.len()),
            subscriptions_cancelled: len(c.subscriptions_cancelled.len() - add_ons),
            add_ons_cancelled: len(add_ons),
            payment_methods_deleted: len(c.payment_methods_deleted.len()),
            domains_released: len(c.domains_released.len()),
            auto_renew_disabled: len(c.auto_renew_disabled.len()),
            invoices: c.invoices.count,
        };
    }
}

/// `the card on file` as the start of a sentence: `The card on file`.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
