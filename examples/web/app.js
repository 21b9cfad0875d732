// The close-account page: a host for the offboard package. It keeps the
// snapshot, the closure state, the audit log and a virtual clock, performs
// effects (simulated, with a short delay so they can be watched), and shows
// what the core decides. Every rule comes from the package; the page only
// simulates the outside world (clearing a blocker changes the snapshot).
import * as offboard from '../../bindings-wasm/npm/browser.js';

const $ = (id) => document.getElementById(id);
const EFFECT_DELAY_MS = 60;
const SYSTEM = { id: 'worker', role: 'system' };

const host = {
  snapshot: null,
  policyName: 'prerequisite',
  policy: null,
  actor: null,
  now: null,
  state: null,
  log: [],
  feedback: null,
};

// ---------------------------------------------------------------- helpers
const when = (iso) =>
  new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso)) + ' UTC';
const day = (iso) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(iso));
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showError(err) {
  const box = $('error');
  if (!err) {
    box.hidden = true;
    return;
  }
  box.textContent = err.code ? `${err.message} (${err.code})` : String(err.message ?? err);
  box.hidden = false;
}

function show(view) {
  for (const card of document.querySelectorAll('[data-view]')) card.hidden = card.dataset.view !== view;
  const order = ['review', 'feedback', 'confirm', 'grace', 'closing', 'done'];
  const at = order.indexOf(view === 'cancelled' ? 'grace' : view);
  for (const li of document.querySelectorAll('#steps li')) {
    const i = order.indexOf(li.dataset.step);
    li.classList.toggle('done', i < at);
    if (i === at) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  document.querySelector(`[data-view="${view}"] h1`)?.focus();
}

function setClock(iso) {
  host.now = iso;
  $('clock').textContent = when(iso);
  $('clock').setAttribute('datetime', iso);
}

// Runs one command through the core and records what it produced.
function run(command, actor = host.actor) {
  const result = offboard.step(host.state, command, {
    actor,
    policy: host.policy,
    snapshot: host.snapshot,
    now: host.now,
  });
  host.state = result.state;
  for (const event of result.audit) {
    host.log.push(event);
    $('trail').append(
      el('li', {},
        el('span', { class: 'event' }, event.event.replaceAll('_', ' ')),
        ' ',
        el('span', { class: 'meta' }, `${event.from} → ${event.to} · ${event.actor} · ${day(event.at)}`)),
    );
  }
  const verified = offboard.verifyAudit(host.log, host.state.audit.head);
  $('verify').textContent = verified.valid
    ? `✓ ${verified.events} events, hash chain verified`
    : `✗ audit chain broken: ${verified.problem?.problem}`;
  $('verify').className = verified.valid ? 'verify ok' : 'verify';
  return result;
}

const describe = (action) => {
  switch (action.type) {
    case 'revoke_sessions': return 'Sign out everywhere and revoke API tokens';
    case 'block_writes': return 'Stop new changes to the account';
    case 'restore_access': return 'Restore access';
    case 'notify':
      return action.recipient.to === 'holder'
        ? `Email you: ${action.message.kind.replaceAll('_', ' ')}`
        : `Tell the other members of ${action.recipient.tenant}: ${action.message.kind.replaceAll('_', ' ')}`;
    case 'cancel_subscription': return `Cancel subscription ${action.subscription} (${action.timing.replaceAll('_', ' ')})`;
    case 'disable_auto_renew': return `Turn off auto-renew for ${action.domain}`;
    case 'release_domain': return `Remove ${action.domain}`;
    case 'remove_members': return `Remove ${action.users.length} member(s) from ${action.tenant}`;
    case 'leave_tenant': return `Leave ${action.tenant}`;
    case 'delete_tenant': return `Delete ${action.tenant}`;
    case 'delete_payment_method': return `Delete payment method ${action.payment_method}`;
    case 'publish_invoice_archive': return `Keep ${action.count} invoice(s) downloadable until ${day(action.until)}`;
    case 'delete_account': return 'Delete the account';
    case 'quarantine_identifiers': return action.until ? `Reserve your username until ${day(action.until)}` : 'Reserve your username for ever';
    case 'purge': return `Purge ${action.class.replaceAll('_', ' ')}`;
    default: return action.type;
  }
};

// ------------------------------------------------- the simulated outside world
// What "clearing" each blocker does to the facts. A real product would send
// the person to the right settings page; here the snapshot changes.
const remedies = {
  cancel_subscription: ['Cancel it', (b, s) => { s.subscriptions.find((x) => x.id === b.subject.id).status = 'canceled'; }],
  remove_domain: ['Remove domain', (b, s) => { s.domains.find((x) => x.name === b.subject.name).active = false; }],
  change_nameservers: ['Mark nameservers changed', (b, s) => { s.domains.find((x) => x.name === b.subject.name).setup.nameservers_point_here = false; }],
  disable_auto_renew: ['Turn off auto-renew', (b, s) => { s.domains.find((x) => x.name === b.subject.name).registration.auto_renew = false; }],
  repoint_dns_records: ['Mark records repointed', (b, s) => { s.domains.find((x) => x.name === b.subject.name).setup.cname_records_live = false; }],
  delete_payment_method: ['Delete it', (b, s) => { s.payment_methods = s.payment_methods.filter((x) => x.id !== b.subject.id); }],
  pay_invoice: ['Pay invoice', (b, s) => { Object.assign(s.invoices.find((x) => x.id === b.subject.id), { status: 'paid', amount_due: 0 }); }],
  resolve_dispute: ['Simulate: dispute resolved', (b, s) => { s.invoices.find((x) => x.id === b.subject.id).status = 'paid'; }],
  settle_balance: ['Settle balance', (b, s) => {
    const owner = b.subject.tenant ? s.tenants.find((t) => t.id === b.subject.tenant) : s;
    owner.balance.amount = 0;
  }],
  transfer_tenant_ownership: ['Transfer ownership', (b, s) => {
    const tenant = s.tenants.find((t) => t.id === b.subject.id);
    const heir = tenant.members.find((m) => m.user !== s.account.id);
    heir.role = 'owner';
    tenant.primary_owner = heir.user;
  }],
  reauthenticate: ['Sign in again', () => { host.actor = { ...host.actor, reauthenticated_at: host.now }; }],
  contact_customer_success: ['Simulate: customer success takes over', () => { host.actor = operator(); }],
  contact_support: ['Simulate: support takes over', () => { host.actor = operator(); }],
  ask_sso_super_admin: ['Simulate: your super admin takes over', (b) => {
    host.actor = { id: b.remedy.by.user, role: 'user', reauthenticated_at: host.now };
  }],
  ask_account_holder: ['Switch to the account holder', () => { host.actor = holder(); }],
};
const holder = () => ({ id: host.snapshot.account.id, role: 'user', reauthenticated_at: host.now });
const operator = () => ({ id: 'ops_priya', role: 'support_operator', reauthenticated_at: host.now });

// ----------------------------------------------------------------- review
function review() {
  showError(null);
  const report = offboard.assess(host.snapshot, host.actor, host.policy, host.now);
  const { account } = host.snapshot;
  $('who').textContent = `${account.display_name} · ${account.email} · acting as ${host.actor.id} (${report.actor_relation.replaceAll('_', ' ')}) · policy “${report.policy}”`;

  const blockers = $('blockers');
  blockers.replaceChildren();
  if (report.can_close) {
    blockers.append(el('div', { class: 'alert ok' }, 'Nothing stands in the way of closing this account.'));
  } else {
    blockers.append(
      el('div', { class: 'alert error' }, `${report.blockers.length} thing${report.blockers.length === 1 ? '' : 's'} to do before you can close this account:`),
      el('ul', { class: 'checklist' },
        report.blockers.map((b) => {
          const [label, apply] = remedies[b.remedy.action] ?? [];
          const who = b.remedy.by.role.replaceAll('_', ' ');
          return el('li', { 'data-code': b.code },
            el('span', { class: 'message' }, b.message),
            el('span', { class: 'remedy' }, b.remedy.message),
            el('span', { class: 'who' }, 'Who: ', who, ' · ', el('span', { class: 'code' }, b.code)),
            apply
              ? el('button', {
                  type: 'button',
                  class: 'secondary small',
                  'aria-label': `${label}: ${b.message}`,
                  onclick: () => { apply(b, host.snapshot); review(); },
                }, label)
              : null);
        })),
    );
  }

  $('warnings').replaceChildren(
    report.warnings.length
      ? el('ul', { class: 'warnings', 'aria-label': 'Warnings' }, report.warnings.map((w) => el('li', {}, w.message)))
      : '',
  );

  const c = report.consequences;
  const n = c.counts;
  const stat = (value, label) => el('div', { class: 'stat' }, el('strong', {}, String(value)), el('span', {}, label));
  $('stats').replaceChildren(
    stat(n.tenants_deleted, 'workspaces deleted'),
    stat(n.members_removed, 'other members removed'),
    stat(n.subscriptions_cancelled + n.add_ons_cancelled, 'subscriptions cancelled'),
    stat(n.payment_methods_deleted, 'payment methods deleted'),
    stat(n.domains_released, 'domains released'),
    stat(n.invoices, 'invoices to download'),
  );
  const details = [];
  for (const t of c.tenants_deleted) {
    details.push(el('li', {}, `${t.name} is deleted`, t.members_removed.length ? ` and its ${t.members_removed.length} other member(s) lose access` : ''));
  }
  for (const t of c.tenants_left) details.push(el('li', {}, `You leave ${t}; it carries on without you.`));
  details.push(el('li', {}, c.cancellable_until ? `The closure runs on ${when(c.closes_at)}; you can cancel until then.` : 'The closure runs at once and cannot be undone.'));
  details.push(el('li', {}, `Invoices can be downloaded until ${day(c.invoices.downloadable_until)}.`));
  details.push(el('li', {}, c.personal_data_purge_due ? `Personal data is purged by ${day(c.personal_data_purge_due)}.` : 'Personal data is kept while a legal hold applies.'));
  $('details').replaceChildren(el('ul', { class: 'plain' }, details));
  $('to-feedback').disabled = !report.can_close;
}

// ------------------------------------------------------------------ steps
function start(snapshot) {
  showError(null);
  host.policyName = $('policy').value;
  host.policy = offboard.preset(host.policyName);
  // Let the core judge a pasted snapshot before the page relies on any of it.
  const account = snapshot?.account?.id ?? 'unknown';
  offboard.assess(snapshot, { id: account, role: 'user' }, host.policy, snapshot?.taken_at ?? '');
  host.snapshot = structuredClone(snapshot);
  setClock(snapshot.taken_at);
  host.actor = holder();
  host.state = offboard.createClosure(`cl_${snapshot.account.id}`, snapshot.account.id);
  host.log = [];
  $('trail').replaceChildren();
  $('verify').textContent = '';
  review();
  show('review');
}

function request() {
  const reason = $('reason').value;
  const comment = $('comment').value.trim();
  const feedback = reason ? { reason, comment: comment || null } : null;
  try {
    run({ type: 'request', feedback });
  } catch (err) {
    showError(err);
    if (err.code === 'blocked') {
      review();
      show('review');
    }
    return;
  }
  const phrase = host.policy.confirmation.method.phrase;
  const target = phrase === 'display_name' ? 'your display name' : phrase === 'email' ? 'your email address' : `“${phrase.fixed}”`;
  $('confirm-label').textContent = `Type ${target} to confirm`;
  $('confirm-lead').textContent = host.policy.grace_period_days > 0
    ? `You will have ${host.policy.grace_period_days} days to change your mind.`
    : 'This cannot be undone: the account is closed as soon as you confirm.';
  $('confirm-input').value = '';
  $('confirm-feedback').textContent = '';
  show('confirm');
}

async function confirm(event) {
  event.preventDefault();
  showError(null);
  let result;
  try {
    result = run({ type: 'confirm', value: $('confirm-input').value });
  } catch (err) {
    $('confirm-feedback').textContent = err.message;
    return;
  }
  const rejected = result.notices.find((n) => n.notice === 'confirmation_rejected');
  if (rejected) {
    $('confirm-feedback').textContent = rejected.locked_until
      ? `That does not match. Too many attempts: try again after ${when(rejected.locked_until)}.`
      : `That does not match. ${rejected.attempts_left} attempt(s) left.`;
    return;
  }
  // Locks and notices are performed here; the plan's own steps are shown running.
  await performAll(lifecycleOnly(result.effects));
  afterConfirm();
}

// Effects outside the execution plan: locks, notices, reminders.
const lifecycleOnly = (effects) =>
  effects.filter((e) => host.state.effects.find((r) => r.effect.id === e.id)?.stage == null);

function afterConfirm() {
  const phase = host.state.phase;
  if (phase.phase === 'scheduled') {
    $('grace-lead').textContent = `It closes on ${when(phase.execute_at)}. Until then you can cancel and everything is restored. We'll remind you before it happens.`;
    $('grace-effects').replaceChildren(
      ...host.state.effects.map((r) => el('li', { class: 'done' }, el('span', { class: 'status', 'aria-hidden': 'true' }, '✓'), describe(r.effect.action))),
    );
    show('grace');
  } else if (phase.phase === 'executing') {
    execute();
  }
}

// Performs effects the way a host would: each one, then report the outcome.
async function performAll(effects, list) {
  for (const effect of effects) {
    const item = list?.querySelector(`[data-effect="${effect.id}"]`);
    await sleep(EFFECT_DELAY_MS);
    const result = run({ type: 'report_outcome', effect: effect.id, outcome: { result: 'succeeded' } }, SYSTEM);
    if (item) {
      item.className = 'done';
      item.querySelector('.status').textContent = '✓';
    }
    if (list) {
      addPending(list, result.effects);
      updateProgress();
    }
    await performAll(result.effects, list);
  }
}

function addPending(list, effects) {
  for (const effect of effects) {
    list.append(el('li', { class: 'pending', 'data-effect': effect.id },
      el('span', { class: 'status', 'aria-hidden': 'true' }, '…'), describe(effect.action)));
  }
}

function updateProgress() {
  const phase = host.state.phase;
  const bar = $('progress');
  if (phase.phase === 'executing') {
    bar.max = phase.stages;
    bar.value = phase.stage;
  } else if (phase.phase === 'closed') {
    bar.value = bar.max;
  }
}

async function execute() {
  show('closing');
  const list = $('closing-effects');
  list.replaceChildren();
  const issued = host.state.effects.filter((r) => r.stage != null && r.status.status === 'pending').map((r) => r.effect);
  addPending(list, issued);
  updateProgress();
  await performAll(issued, list);
  done();
}

async function skipGrace() {
  // Let the virtual clock run to each moment the closure waits for.
  let next;
  while (host.state.phase.phase === 'scheduled' && (next = offboard.nextTick(host.state, host.policy))) {
    setClock(next);
    const result = run({ type: 'tick' }, SYSTEM);
    if (host.state.phase.phase === 'executing') {
      return execute();
    }
    if (host.state.phase.phase === 'halted') {
      showError({ message: 'The closure stopped: something changed since you confirmed. Review it again.' });
      return;
    }
    await performAll(result.effects);
  }
}

function cancel() {
  const result = run({ type: 'cancel' });
  performAll(result.effects).catch(showError);
  $('cancelled-lead').textContent = `Nothing was deleted and your access is restored. You can ask again after ${when(host.state.phase.cooldown_until)}.`;
  show('cancelled');
}

function done() {
  const phase = host.state.phase;
  const receipt = phase.receipt;
  $('done-lead').textContent = 'Thank you for using Acme Cloud. This receipt holds no personal data.';
  const row = (term, value) => [el('dt', {}, term), el('dd', {}, value)];
  $('receipt').replaceChildren(
    ...row('Closure', receipt.closure),
    ...row('Requested', when(receipt.requested_at)),
    ...row('Closed', when(receipt.closed_at)),
    ...row('Steps performed', String(receipt.effects_performed)),
    ...row('Policy', receipt.policy),
    ...row('Reason given', receipt.exit_reason ? receipt.exit_reason.replaceAll('_', ' ') : '—'),
    ...row('Audit log head', host.state.audit.head),
  );
  $('purges').replaceChildren(
    ...phase.purges.map((p) => el('li', {}, `${p.class.replaceAll('_', ' ')}: ${day(p.due)}`)),
  );
  show('done');
}

// ------------------------------------------------------------------ wiring
async function loadSample() {
  const response = await fetch(`../data/${$('sample').value}.json`);
  start(await response.json());
}

$('start').addEventListener('click', () => loadSample().catch(showError));
$('load-paste').addEventListener('click', () => {
  try {
    start(JSON.parse($('paste').value));
  } catch (err) {
    showError(err instanceof SyntaxError ? { message: `That is not JSON: ${err.message}`, code: 'malformed_json' } : err);
  }
});
$('to-feedback').addEventListener('click', () => show('feedback'));
$('back-review').addEventListener('click', () => { review(); show('review'); });
$('to-confirm').addEventListener('click', request);
$('back-feedback').addEventListener('click', () => show('feedback'));
$('confirm-form').addEventListener('submit', (event) => { confirm(event).catch(showError); });
$('skip-grace').addEventListener('click', () => { skipGrace().catch(showError); });
$('cancel-closure').addEventListener('click', () => { try { cancel(); } catch (err) { showError(err); } });
$('restart').addEventListener('click', () => loadSample().catch(showError));
$('restart-cancelled').addEventListener('click', () => loadSample().catch(showError));

loadSample().catch(showError);
