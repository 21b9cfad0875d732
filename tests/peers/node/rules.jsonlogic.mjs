// Offboard's blocker rules encoded for json-logic-js, the way a team using
// JsonLogic would: one rule per condition, stored as JSON, evaluated per
// entity. JsonLogic has no joins and no way to reach outer data from inside
// `filter`, so a thin loop (below) hands each rule one entity together with
// the account, the actor, the policy and the tenants the closure deletes
// (itself computed by a JsonLogic rule). Times are compared as RFC 3339
// strings (the benchmark's snapshots are all UTC), and one custom operation,
// `seconds_between`, does the one piece of date arithmetic (sign-in age).
import jsonLogic from 'json-logic-js';

jsonLogic.add_operation('seconds_between', (a, b) => (Date.parse(b) - Date.parse(a)) / 1000);

const v = (path) => ({ var: path });
const eq = (a, b) => ({ '==': [a, b] });
const ne = (a, b) => ({ '!=': [a, b] });
const rule = (name) => eq(v(`policy.conditions.${name}`), 'block');
const notSupport = ne(v('relation'), 'support');
const live = { in: [v('item.status'), ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'incomplete']] };

/** Which relation the actor has to the account. */
export const relationRule = {
  if: [
    eq(v('actor.role'), 'support_operator'), 'support',
    eq(v('actor.role'), 'system'), 'system',
    eq(v('actor.id'), v('account.id')), 'holder',
    { and: [eq(v('account.identity.type'), 'sso'), eq(v('account.identity.super_admin'), v('actor.id'))] }, 'sso_super_admin',
    'unrelated',
  ],
};

/** Whether a tenant (item) the account is primary owner of has another
 * owner: it counts two owners or more (the primary owner is one). */
const coOwned = {
  '>=': [{ reduce: [v('item.members'), { '+': [v('accumulator'), { if: [eq(v('current.role'), 'owner'), 1, 0] }] }, 0] }, 2],
};

/** Whether the closure deletes a tenant (item): one the account owns alone
 * (another owner takes over a co-owned one). */
export const deletedRule = {
  and: [
    eq(v('item.primary_owner'), v('account.id')),
    { '!': coOwned },
    { or: [eq(v('item.members.length'), 1), eq(v('policy.shared_tenants'), 'delete_and_remove_members')] },
  ],
};

// [code, entity list (or null for the account), rule, subject]
export const rules = [
  ['actor_not_allowed', null, {
    or: [eq(v('relation'), 'unrelated'), { and: [eq(v('relation'), 'system'), { '!': v('policy.authorization.inactivity_closure') }] }],
  }, (d) => ({ kind: 'actor', id: d.actor.id })],
  ['account_closed', null, eq(v('account.status'), 'closed'), (d) => ({ kind: 'account', id: d.account.id })],
  ['account_suspended', null, { and: [eq(v('account.status'), 'suspended'), notSupport] }, (d) => ({ kind: 'account', id: d.account.id })],
  ['account_locked', null, { and: [eq(v('account.status'), 'locked'), notSupport] }, (d) => ({ kind: 'account', id: d.account.id })],
  ['contract_account', null, { and: [eq(v('account.kind.type'), 'contract'), eq(v('policy.authorization.contract_accounts'), 'customer_success_only'), notSupport] }, (d) => ({ kind: 'account', id: d.account.id })],
  ['sso_managed', null, { and: [eq(v('account.identity.type'), 'sso'), eq(v('policy.authorization.sso_accounts'), 'super_admin_only'), eq(v('relation'), 'holder')] }, (d) => ({ kind: 'account', id: d.account.id })],
  ['reauthentication_required', null, {
    and: [
      ne(v('relation'), 'system'),
      ne(v('policy.authorization.max_reauth_age_minutes'), null),
      { '!': { and: [v('actor.reauthenticated_at'), { '<=': [{ seconds_between: [v('actor.reauthenticated_at'), v('now')] }, { '*': [v('policy.authorization.max_reauth_age_minutes'), 60] }] }] } },
    ],
  }, (d) => ({ kind: 'actor', id: d.actor.id })],
  ['legal_hold', 'legal_holds', {
    and: [rule('legal_hold'), { '<=': [v('item.placed_at'), v('now')] }, { or: [eq(v('item.until'), null), { '>': [v('item.until'), v('now')] }] }],
  }, (d) => ({ kind: 'legal_hold', id: d.item.id })],
  ['shared_tenant_owner', 'tenants', {
    and: [eq(v('item.primary_owner'), v('account.id')), { '!': coOwned }, { '>': [v('item.members.length'), 1] }, eq(v('policy.shared_tenants'), 'block_until_transferred')],
  }, (d) => ({ kind: 'tenant', id: d.item.id })],
  ['subscription_active', 'subscriptions', { and: [rule('active_subscription'), v('reached'), live, { '!': v('item.cancel_at_period_end') }, eq(v('item.add_on_of'), null)] }, (d) => ({ kind: 'subscription', id: d.item.id })],
  ['add_on_active', 'subscriptions', { and: [rule('active_subscription'), v('reached'), live, { '!': v('item.cancel_at_period_end') }, ne(v('item.add_on_of'), null)] }, (d) => ({ kind: 'subscription', id: d.item.id })],
  ['domain_active', 'domains', { and: [rule('active_domain'), v('reached'), eq(v('item.active'), true)] }, (d) => ({ kind: 'domain', name: d.item.name })],
  ['nameservers_point_here', 'domains', { and: [rule('registrar_nameservers'), v('reached'), eq(v('item.setup.type'), 'full'), eq(v('item.setup.nameservers_point_here'), true)] }, (d) => ({ kind: 'domain', name: d.item.name })],
  ['partial_setup_live', 'domains', { and: [rule('partial_setup'), v('reached'), eq(v('item.setup.type'), 'partial'), eq(v('item.setup.cname_records_live'), true)] }, (d) => ({ kind: 'domain', name: d.item.name })],
  ['registrar_auto_renew', 'domains', { and: [rule('registrar_auto_renew'), v('reached'), eq(v('item.registration.auto_renew'), true)] }, (d) => ({ kind: 'domain', name: d.item.name })],
  ['payment_method_on_file', 'payment_methods', { and: [rule('payment_method'), v('reached')] }, (d) => ({ kind: 'payment_method', id: d.item.id })],
  ['invoice_unpaid', 'invoices', { and: [rule('unpaid_balance'), v('reached'), { in: [v('item.status'), ['open', 'uncollectible']] }, { '>': [v('item.amount_due'), 0] }] }, (d) => ({ kind: 'invoice', id: d.item.id })],
  ['dispute_open', 'invoices', { and: [rule('open_dispute'), v('reached'), eq(v('item.status'), 'disputed')] }, (d) => ({ kind: 'invoice', id: d.item.id })],
  ['balance_owed', 'balances', { and: [rule('unpaid_balance'), v('reached'), { '<': [v('item.amount'), 0] }] }, (d) => (d.item.tenant ? { kind: 'balance', tenant: d.item.tenant } : { kind: 'balance' })],
];

/** Every blocker, from the snapshot's JSON text. */
export function blockers(snapshotText, actor, policy, now) {
  const snapshot = JSON.parse(snapshotText);
  const account = snapshot.account;
  const base = { account, actor, policy, now };
  base.relation = jsonLogic.apply(relationRule, base);
  const deleted = new Set();
  for (const item of snapshot.tenants ?? []) {
    if (jsonLogic.apply(deletedRule, { ...base, item })) deleted.add(item.id);
  }
  const lists = {
    legal_holds: snapshot.legal_holds ?? [],
    tenants: snapshot.tenants ?? [],
    subscriptions: snapshot.subscriptions ?? [],
    domains: snapshot.domains ?? [],
    payment_methods: snapshot.payment_methods ?? [],
    invoices: snapshot.invoices ?? [],
    balances: [
      ...(snapshot.balance ? [{ ...snapshot.balance, tenant: null }] : []),
      ...(snapshot.tenants ?? []).filter((t) => t.balance).map((t) => ({ ...t.balance, tenant: t.id })),
    ],
  };
  const found = [];
  for (const [code, list, logic, subject] of rules) {
    if (list === null) {
      if (jsonLogic.apply(logic, base)) found.push({ code, subject: subject(base) });
      continue;
    }
    for (const item of lists[list]) {
      const data = { ...base, item, reached: item.tenant == null || deleted.has(item.tenant) };
      if (jsonLogic.apply(logic, data)) found.push({ code, subject: subject(data) });
    }
  }
  return found;
}
