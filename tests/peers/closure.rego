# Offboard's closure preconditions, written a second time as declarative
# Rego. Nothing here is generated from the Rust rules: it was written from the
# rules' description (README "Blocker codes") so that the two can disagree.
#
# Input, exactly the documents a host hands to `offboard::json::assess`:
#   {"snapshot": <snapshot JSON>, "actor": <actor JSON>,
#    "policy": <policy JSON>, "now": "<RFC 3339>"}
# Output: `blockers`, the set of {"code", "subject"} objects that stand in the
# way of closing the account.
package offboard.closure

import rego.v1

snapshot := input.snapshot

account := snapshot.account

policy := input.policy

rules := policy.conditions

now_ns := time.parse_rfc3339_ns(input.now)

account_subject := {"kind": "account", "id": account.id}

actor_subject := {"kind": "actor", "id": input.actor.id}

# --- who is asking -----------------------------------------------------------

default relation := "unrelated"

relation := "support" if input.actor.role == "support_operator"

relation := "system" if input.actor.role == "system"

relation := "holder" if {
	input.actor.role == "user"
	input.actor.id == account.id
}

relation := "sso_super_admin" if {
	input.actor.role == "user"
	input.actor.id != account.id
	account.identity.type == "sso"
	account.identity.super_admin == input.actor.id
}

blockers contains {"code": "actor_not_allowed", "subject": actor_subject} if {
	relation == "unrelated"
}

# The system closes accounts only for inactivity, where the policy allows it.
blockers contains {"code": "actor_not_allowed", "subject": actor_subject} if {
	relation == "system"
	not object.get(policy.authorization, "inactivity_closure", false)
}

# --- the account itself --------------------------------------------------------

blockers contains {"code": "account_closed", "subject": account_subject} if {
	account.status == "closed"
}

blockers contains {"code": "account_suspended", "subject": account_subject} if {
	account.status == "suspended"
	relation != "support"
}

blockers contains {"code": "account_locked", "subject": account_subject} if {
	account.status == "locked"
	relation != "support"
}

blockers contains {"code": "contract_account", "subject": account_subject} if {
	account.kind.type == "contract"
	policy.authorization.contract_accounts == "customer_success_only"
	relation != "support"
}

blockers contains {"code": "sso_managed", "subject": account_subject} if {
	account.identity.type == "sso"
	policy.authorization.sso_accounts == "super_admin_only"
	relation == "holder"
}

blockers contains {"code": "reauthentication_required", "subject": actor_subject} if {
	relation != "system"
	max_minutes := policy.authorization.max_reauth_age_minutes
	max_minutes != null
	not signed_in_within(max_minutes)
}

signed_in_within(minutes) if {
	at := time.parse_rfc3339_ns(input.actor.reauthenticated_at)
	now_ns - at <= (minutes * 60) * 1000000000
}

# --- legal holds ---------------------------------------------------------------

blockers contains {"code": "legal_hold", "subject": {"kind": "legal_hold", "id": hold.id}} if {
	rules.legal_hold == "block"
	some hold in snapshot.legal_holds
	time.parse_rfc3339_ns(hold.placed_at) <= now_ns
	not ended(hold)
}

ended(hold) if {
	hold.until != null
	time.parse_rfc3339_ns(hold.until) <= now_ns
}

# --- tenants: which go with the account ----------------------------------------

owned_tenants contains tenant if {
	some tenant in snapshot.tenants
	tenant.primary_owner == account.id
}

# Another owner takes over a tenant the account owns with co-owners: the
# account leaves it, and it is neither deleted nor in the way.
co_owned(tenant) if {
	some member in tenant.members
	member.user != account.id
	member.role == "owner"
}

# The closure deletes a tenant the account owns alone, or any tenant it is
# the only owner of when the policy removes the other members.
deleted_tenants contains tenant.id if {
	some tenant in owned_tenants
	count(tenant.members) == 1
}

deleted_tenants contains tenant.id if {
	some tenant in owned_tenants
	not co_owned(tenant)
	policy.shared_tenants == "delete_and_remove_members"
}

blockers contains {"code": "shared_tenant_owner", "subject": {"kind": "tenant", "id": tenant.id}} if {
	some tenant in owned_tenants
	not co_owned(tenant)
	count(tenant.members) > 1
	policy.shared_tenants == "block_until_transferred"
}

# Things the closure reaches: the account's own, and those of deleted tenants.
reached(thing) if not owned_by_tenant(thing)

reached(thing) if thing.tenant in deleted_tenants

owned_by_tenant(thing) if thing.tenant != null

# --- billing ---------------------------------------------------------------------

live_statuses := {"trialing", "active", "past_due", "unpaid", "paused", "incomplete"}

blockers contains {"code": subscription_code(sub), "subject": {"kind": "subscription", "id": sub.id}} if {
	rules.active_subscription == "block"
	some sub in snapshot.subscriptions
	sub.status in live_statuses
	not sub.cancel_at_period_end
	reached(sub)
}

subscription_code(sub) := "add_on_active" if {
	sub.add_on_of != null
} else := "subscription_active"

blockers contains {"code": "payment_method_on_file", "subject": {"kind": "payment_method", "id": method.id}} if {
	rules.payment_method == "block"
	some method in snapshot.payment_methods
	reached(method)
}

blockers contains {"code": "invoice_unpaid", "subject": {"kind": "invoice", "id": invoice.id}} if {
	rules.unpaid_balance == "block"
	some invoice in snapshot.invoices
	invoice.status in {"open", "uncollectible"}
	invoice.amount_due > 0
	reached(invoice)
}

blockers contains {"code": "dispute_open", "subject": {"kind": "invoice", "id": invoice.id}} if {
	rules.open_dispute == "block"
	some invoice in snapshot.invoices
	invoice.status == "disputed"
	reached(invoice)
}

blockers contains {"code": "balance_owed", "subject": {"kind": "balance"}} if {
	rules.unpaid_balance == "block"
	snapshot.balance.amount < 0
}

blockers contains {"code": "balance_owed", "subject": {"kind": "balance", "tenant": tenant.id}} if {
	rules.unpaid_balance == "block"
	some tenant in snapshot.tenants
	tenant.balance.amount < 0
	tenant.id in deleted_tenants
}

# --- domains ---------------------------------------------------------------------

blockers contains {"code": "domain_active", "subject": {"kind": "domain", "name": domain.name}} if {
	rules.active_domain == "block"
	some domain in snapshot.domains
	domain.active == true
	reached(domain)
}

blockers contains {"code": "nameservers_point_here", "subject": {"kind": "domain", "name": domain.name}} if {
	rules.registrar_nameservers == "block"
	some domain in snapshot.domains
	domain.setup.type == "full"
	domain.setup.nameservers_point_here == true
	reached(domain)
}

blockers contains {"code": "partial_setup_live", "subject": {"kind": "domain", "name": domain.name}} if {
	rules.partial_setup == "block"
	some domain in snapshot.domains
	domain.setup.type == "partial"
	domain.setup.cname_records_live == true
	reached(domain)
}

blockers contains {"code": "registrar_auto_renew", "subject": {"kind": "domain", "name": domain.name}} if {
	rules.registrar_auto_renew == "block"
	some domain in snapshot.domains
	domain.registration.auto_renew == true
	reached(domain)
}
