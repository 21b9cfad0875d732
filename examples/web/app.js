// The close-account page: a host for the offboard package. Every rule comes
// from the core; the page shows what it decides and simulates the outside
// world (clearing a blocker changes the account's data).
//
// It runs in one of two worlds:
// - in the page (the default): the package in this tab keeps the closure
//   state, the audit log and a virtual clock, and the page performs the
//   effects itself, with a short delay so they can be watched;
// - against the reference service (`?api=http://127.0.0.1:8080`, see
//   examples/service): the service stores the closure and its workers perform
//   the effects; the page sends the person's commands, follows the closure,
//   and checks the service's audit chain with the package in this tab.
import * as offboard from '../../bindings-wasm/npm/index.js';
import { connect } from './service.js';

// Once, before any other call: instantiates the module the package carries.
await offboard.init();

const $ = (id) => document.getElementById(id);
// How long the page takes to "perform" each effect, so the closing can be
// watched (`?effect-delay=` in milliseconds changes it).
const EFFECT_DELAY_MS = Number(new URLSearchParams(location.search).get('effect-delay') ?? 60);
const POLL_MS = 150;
const SYSTEM = { id: 'system', role: 'system' };
const api = new URLSearchParams(location.search).get('api');
const service = api ? connect(api) : null;

const host = {
  snapshot: null,
  // The account's id (its snapshot may be gone once it is closed).
  account: null,
  policy: null,
  actor: null,
  now: null,
  state: null,
  // In the page: the audit events so far.
  log: [],
  // Against the service: its view of the closure, and whether its test clock may move.
  closure: null,
  timeTravel: false,
  // Which view is on screen; a loop that follows the closure stops when it changes.
  view: null,
};

// ---------------------------------------------------------------- helpers
// One date format on every screen, the core's own: "7 December 2026".
const when = (iso) =>
  new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso)) + ' UTC';
const day = (iso) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(iso));
// "1 member", "4 members".
const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const words = (tag) => tag.replaceAll('_', ' ');

// The display names of the account's things, learnt from every snapshot the
// page sees and kept once the account is gone: a person reads names, never
// internal ids.
const names = { workspaces: new Map(), plans: new Map(), methods: new Map() };
// A name a person reads, or `fallback` for one that is only spaces.
const named = (name, fallback) => (name?.trim() ? name.trim() : fallback);
function learnNames(snapshot) {
  for (const t of snapshot?.tenants ?? []) names.workspaces.set(t.id, named(t.name, 'an unnamed workspace'));
  for (const s of snapshot?.subscriptions ?? []) names.plans.set(s.id, named(s.plan, s.add_on_of ? 'an add-on' : 'a subscription'));
  for (const m of snapshot?.payment_methods ?? []) names.methods.set(m.id, m);
}
// Minor units in the currency's own decimals: 15.00 USD, 1500 JPY.
const money = (minor, currency) => {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
};
const workspace = (id) => names.workspaces.get(id) ?? 'a workspace';
const paymentMethod = (id) => {
  const method = names.methods.get(id);
  if (!method) return 'a payment method';
  const kind = words(method.kind);
  return method.tenant ? `the ${kind} of ${workspace(method.tenant)}` : `the ${kind} on file`;
};

// Who can clear a blocker, in words.
function whoCan(by) {
  switch (by.role) {
    case 'actor': return 'you';
    case 'account_holder': return host.actor?.id === host.account ? 'you' : 'the account holder';
    case 'tenant_owner': return `an owner of ${workspace(by.tenant)}`;
    case 'sso_super_admin': return 'your SSO super admin';
    case 'customer_success': return `${by.contact.name}, your customer-success manager`;
    case 'support': return 'support';
    default: return words(by.role);
  }
}

// Who gave a command, as the audit trail shows it.
function actorWords(event) {
  if (event.actor === host.account) return 'you';
  switch (event.actor_role) {
    case 'system': return 'Acme Cloud';
    case 'support_operator': return 'support';
    default: return 'someone else';
  }
}

const RELATIONS = { holder: 'the account holder', sso_super_admin: 'their SSO super admin', support_operator: 'a support operator', system: 'Acme Cloud', unrelated: 'someone else' };
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
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
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
  host.view = view;
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

// Shows the audit events and checks their hash chain here, with the package,
// against the head the closure state names. `vouched` is the service's own
// verdict, when there is a service.
function showTrail(events, vouched) {
  $('trail').replaceChildren(...events.map((event) =>
    el('li', {},
      el('span', { class: 'event' }, event.event.kind.replaceAll('_', ' ')),
      ' ',
      el('span', { class: 'meta' }, `${words(event.from)} → ${words(event.to)} · ${actorWords(event)} · ${day(event.at)}`))));
  if (!host.state || events.length === 0) {
    $('verify').textContent = '';
    return;
  }
  const verified = offboard.verifyAudit(events, host.state.audit.head);
  const agreed = vouched ? (vouched.valid ? ' (here and by the service)' : ' here, but the service disagrees') : '';
  $('verify').textContent = verified.valid
    ? `✓ ${verified.events} events, hash chain verified${agreed}`
    : `✗ audit chain broken: ${verified.problem?.problem}`;
  $('verify').className = verified.valid && vouched?.valid !== false ? 'verify ok' : 'verify';
}

// Runs one command through the core in this tab and records what it produced.
function run(command, actor = host.actor) {
  const result = offboard.step(host.state, command, {
    actor,
    policy: host.policy,
    snapshot: host.snapshot,
    now: host.now,
  });
  host.state = result.state;
  host.log.push(...result.audit);
  showTrail(host.log);
  return result;
}

// What a notice says, in a few words.
function messageWords(message) {
  switch (message.kind) {
    case 'scheduled': return `your account closes on ${day(message.execute_at)}`;
    case 'reminder': return `${count(message.days_left, 'day')} left before your account closes`;
    case 'cancelled': return 'the closure is cancelled';
    case 'halted': return 'the closure stopped';
    case 'tenant_will_be_deleted': return `the workspace is deleted on ${day(message.execute_at)}`;
    case 'completed': return 'your account is closed';
    case 'deadline_extended': return `the response deadline moves to ${day(message.due)}`;
    default: return words(message.kind);
  }
}

const describe = (action) => {
  switch (action.type) {
    case 'revoke_sessions': return 'Sign out everywhere and revoke API tokens';
    case 'block_writes': return 'Stop new changes to the account';
    case 'restore_access': return 'Restore access';
    case 'notify':
      return action.recipient.to === 'holder'
        ? `Email you: ${messageWords(action.message)}`
        : `Tell the other members of ${workspace(action.recipient.tenant)}: ${messageWords(action.message)}`;
    case 'cancel_subscription': {
      const plan = names.plans.get(action.subscription) ?? 'a subscription';
      return `Cancel ${plan} (${action.timing === 'immediately' ? 'now' : 'at the end of its period'})`;
    }
    case 'disable_auto_renew': return `Turn off auto-renew for ${action.domain}`;
    case 'release_domain': return `Remove ${action.domain}`;
    case 'remove_members': return `Remove ${count(action.users.length, 'member')} from ${workspace(action.tenant)}`;
    case 'transfer_primary_owner': return `Make another member the primary owner of ${workspace(action.tenant)}`;
    case 'leave_tenant': return `Leave ${workspace(action.tenant)}`;
    case 'delete_tenant': return names.workspaces.has(action.tenant) ? `Delete the workspace ${workspace(action.tenant)}` : 'Delete a workspace';
    case 'refund_credit': return `Refund ${money(action.amount, action.currency)}`;
    case 'delete_payment_method': return `Delete ${paymentMethod(action.payment_method)}`;
    case 'publish_invoice_archive': return `Keep ${count(action.count, 'invoice')} downloadable until ${day(action.until)}`;
    case 'delete_account': return 'Delete the account';
    case 'quarantine_identifiers': return action.until ? `Reserve your username until ${day(action.until)}` : 'Reserve your username for ever';
    case 'purge': return `Purge your ${words(action.class)}`;
    default: return words(action.type);
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
const holder = () => ({ id: host.account, role: 'user', reauthenticated_at: host.now });
const operator = () => ({ id: 'ops_priya', role: 'support_operator', reauthenticated_at: host.now });

// ----------------------------------------------------------------- review
async function review() {
  showError(null);
  showReview(await world.assess());
}

function showReview(report) {
  const { account } = host.snapshot;
  $('who').textContent = `${[account.display_name?.trim(), account.email].filter(Boolean).join(' · ')} · acting as ${RELATIONS[report.actor_relation] ?? words(report.actor_relation)} · policy “${report.policy}”`;
  // For tests and tools: who and which policy this review is for.
  $('who').dataset.actor = host.actor.id;
  $('who').dataset.policy = report.policy;

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
          return el('li', { 'data-code': b.code },
            el('span', { class: 'message' }, b.message),
            el('span', { class: 'remedy' }, b.remedy.message),
            el('span', { class: 'who' }, 'Who can do this: ', whoCan(b.remedy.by)),
            apply
              ? el('button', {
                  type: 'button',
                  class: 'secondary small',
                  'aria-label': `${label}: ${b.message}`,
                  onclick: () => world.change((snapshot) => apply(b, snapshot)).then(review).catch(showError),
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
  // What the warnings above do not already say (each sentence once).
  const details = [];
  for (const t of c.tenants_deleted) {
    if (t.members_removed.length === 0) details.push(el('li', {}, `${capital(workspace(t.tenant))} is deleted.`));
  }
  for (const t of c.tenants_left) details.push(el('li', {}, `You leave ${workspace(t)}; it carries on without you.`));
  // Without a grace period a warning above already says it runs at once.
  if (c.cancellable_until) details.push(el('li', {}, `The closure runs on ${when(c.closes_at)}; you can cancel until then.`));
  details.push(el('li', {}, c.personal_data_purge_due ? `Personal data is purged by ${day(c.personal_data_purge_due)}.` : 'Personal data is kept while a legal hold applies.'));
  $('details').replaceChildren(el('ul', { class: 'plain' }, details));
  $('to-feedback').disabled = !report.can_close;
  // A disabled button says why.
  $('continue-hint').textContent = report.can_close
    ? ''
    : report.blockers.length === 1 ? 'Clear the item above to continue.' : `Clear the ${report.blockers.length} items above to continue.`;
}

// ----------------------------------------------------------------- worlds
// Where the closure lives. Both worlds answer the same questions; the views
// below do not know which one they talk to.

// In the page: the package in this tab is the whole back end.
const inThePage = {
  async setup() {},

  async open(sample) {
    const response = await fetch(`../data/${sample}.json`);
    if (!response.ok) throw new Error(`No sample account ${sample} (${response.status})`);
    return this.adopt(await response.json());
  },

  async adopt(snapshot) {
    host.policy = offboard.preset($('policy').value);
    // Let the core judge a pasted snapshot before the page relies on any of it.
    const account = snapshot?.account?.id ?? 'unknown';
    offboard.assess(snapshot, { id: account, role: 'user' }, host.policy, snapshot?.taken_at ?? '');
    host.snapshot = structuredClone(snapshot);
    learnNames(host.snapshot);
    host.account = snapshot.account.id;
    setClock(snapshot.taken_at);
    host.actor = holder();
    host.state = offboard.createClosure(`cl_${snapshot.account.id}`, snapshot.account.id);
    host.log = [];
    showTrail(host.log);
  },

  async assess() {
    return offboard.assess(host.snapshot, host.actor, host.policy, host.now);
  },

  async change(apply) {
    apply(host.snapshot);
    learnNames(host.snapshot);
  },

  async send(command) {
    return run(command);
  },

  // Locks and notices issued at confirmation are performed here and now.
  async confirmed(result) {
    await performAll(lifecycleOnly(result.effects));
  },

  async cancelled(result) {
    await performAll(result.effects);
  },

  watchGrace() {},

  canSkipGrace: () => true,

  // Lets the virtual clock run to each moment the closure waits for.
  async skipGrace() {
    let next;
    while (host.state.phase.phase === 'scheduled' && (next = offboard.nextTick(host.state, host.policy))) {
      setClock(next);
      const result = run({ type: 'tick' }, SYSTEM);
      // Once the plan starts, the closing view performs it.
      if (host.state.phase.phase !== 'scheduled') return;
      await performAll(result.effects);
    }
  },

  // Performs the plan the way a host would: each effect, then its outcome.
  async execute() {
    await performAll(host.state.effects.filter((r) => r.status.status === 'pending').map((r) => r.effect));
  },
};

// Against the service: it stores the closure and its workers perform the
// effects; the page sends commands and follows what the service reports.
const againstTheService = {
  async setup() {
    const [policy, accounts, clock] = await Promise.all([service.policy(), service.accounts(), service.clock()]);
    host.policy = policy;
    host.timeTravel = clock.time_travel;
    setClock(clock.now);
    $('mode-hint').replaceChildren(
      'This page drives the service at ', el('code', {}, service.base),
      ': the service decides and performs; the page checks its audit chain with the ', el('code', {}, 'offboard'), ' package.');
    $('clock-label').textContent = 'Service clock:';
    const sample = $('sample');
    const previous = sample.value;
    sample.replaceChildren(...accounts.map((a) => el('option', { value: a.id }, accountLabel(a.id, a.phase))));
    sample.value = accounts.some((a) => a.id === previous) ? previous : accounts.find((a) => a.id === 'u_omar')?.id ?? accounts[0]?.id ?? '';
    $('policy').replaceChildren(el('option', { value: policy.name }, `${policy.name} (the service's)`));
    $('policy').disabled = true;
    $('paste-summary').textContent = 'Import your own snapshot into the service';
  },

  async open(id) {
    // A closed account's data is gone from the service (its delete_account
    // removed it); its closure, receipt and audit trail remain.
    const gone = (err) => {
      if (err.code === 'unknown_account') return null;
      throw err;
    };
    // Only an account with a closure has one to read, and a closed one has
    // no data left: asking for either would answer 404 (and a browser logs
    // every 404 as an error).
    const listed = (await service.accounts()).find((a) => a.id === id);
    const closure = listed?.phase ? service.closure(id) : null;
    const deleted = ['closed', 'purged'].includes(listed?.phase);
    const [snapshot, clock] = await Promise.all([deleted ? null : service.snapshot(id).catch(gone), service.clock()]);
    host.snapshot = snapshot;
    learnNames(snapshot);
    host.account = id;
    setClock(clock.now);
    host.actor = holder();
    host.closure = null;
    host.state = null;
    if (closure) this.take(await closure);
    await this.trail();
  },

  async adopt(snapshot) {
    const id = snapshot?.account?.id;
    if (typeof id !== 'string') throw Object.assign(new Error('The snapshot names no account.'), { code: 'schema_mismatch' });
    await service.importAccount(id, snapshot);
    await this.setup();
    $('sample').value = id;
    await this.open(id);
  },

  // Keeps the newest view of the closure: polls may answer out of order.
  take(closure) {
    if (host.closure && closure.version < host.closure.version) return;
    host.closure = closure;
    host.state = closure.state;
    const option = [...$('sample').options].find((o) => o.value === closure.account);
    if (option) option.textContent = accountLabel(closure.account, closure.phase);
  },

  // Reads the closure and the clock again; the audit trail only when the closure moved.
  async refresh() {
    const [closure, clock] = await Promise.all([service.closure(host.account), service.clock()]);
    setClock(clock.now);
    const before = host.closure?.version;
    if (closure) this.take(closure);
    if (host.closure?.version !== before) await this.trail();
  },

  async trail() {
    if (!host.state) {
      showTrail([]);
      return;
    }
    const { events, verification } = await service.audit(host.account);
    showTrail(events, verification);
  },

  async assess() {
    return service.assessment(host.account, host.actor);
  },

  // Changes the account's data in the service (only when the facts changed).
  async change(apply) {
    const next = structuredClone(host.snapshot);
    apply(next);
    if (JSON.stringify(next) !== JSON.stringify(host.snapshot)) {
      await service.importAccount(next.account.id, next);
      host.snapshot = next;
      learnNames(next);
    }
  },

  async send(command) {
    const id = host.account;
    let applied;
    switch (command.type) {
      case 'request': applied = await service.request(id, host.actor, command.feedback); break;
      // The closure the person decided on: the version the page shows (a
      // closure that changed since answers version_mismatch, and nothing
      // is confirmed). A cancel stands whatever the workers did meanwhile.
      case 'confirm': applied = await service.confirm(id, host.actor, command.value, host.closure?.version); break;
      case 'cancel': applied = await service.cancel(id, host.actor); break;
      default: throw new Error(`The page does not send ${command.type} to the service.`);
    }
    this.take(applied.closure);
    await this.trail();
    return { state: host.state, audit: applied.audit, notices: applied.notices, effects: applied.effects };
  },

  // The service's workers perform what confirmation issued.
  async confirmed() {},

  async cancelled() {},

  // Follows the locks and notices until the workers have performed them.
  watchGrace() {
    const scheduled = () => host.state.phase.phase === 'scheduled';
    follow(
      () => !scheduled() || host.state.effects.every((r) => r.stage != null || settled(r)),
      () => { if (scheduled()) renderGrace(); },
    ).catch(showError);
  },

  canSkipGrace: () => host.timeTravel,

  // Moves the service's test clock to each moment the closure waits for and
  // lets a worker tick it (the service runs with --allow-time-travel).
  async skipGrace() {
    for (let guard = 0; guard < 50 && host.state.phase.phase === 'scheduled'; guard++) {
      const due = host.closure.next_tick_at;
      if (due) {
        const wait = Math.ceil((Date.parse(due) - Date.parse(host.now)) / 1000);
        if (wait > 0) setClock((await service.advanceClock(wait)).now);
      }
      const version = host.closure.version;
      await follow(() => host.closure.version !== version);
    }
  },

  // The workers run the plan; the page watches it until it ends.
  async execute() {
    await follow(() => host.state.phase.phase !== 'executing', renderClosing);
  },
};

const world = service ? againstTheService : inThePage;

const accountLabel = (id, phase) => (phase ? `${id} (${phase.replaceAll('_', ' ')})` : id);

// Polls the service until `until()` holds, calling `render` after each answer.
// Stops quietly when the person moves to another view.
async function follow(until, render = () => {}) {
  const view = host.view;
  const deadline = Date.now() + 120_000;
  for (;;) {
    render();
    if (until() || host.view !== view) return;
    if (Date.now() > deadline) throw new Error('The service has not moved this closure on for two minutes; is a worker running?');
    await sleep(POLL_MS);
    await world.refresh();
  }
}

// Performs effects in this tab: each one, then reports its outcome.
async function performAll(effects) {
  for (const effect of effects) {
    await sleep(EFFECT_DELAY_MS);
    const result = run({ type: 'report_outcome', effect: effect.id, outcome: { result: 'succeeded' } }, SYSTEM);
    if (host.view === 'closing') renderClosing();
    await performAll(result.effects);
  }
}

// Effects outside the execution plan: locks, notices, reminders.
const lifecycleOnly = (effects) =>
  effects.filter((e) => host.state.effects.find((r) => r.effect.id === e.id)?.stage == null);

const settled = (record) => ['succeeded', 'failed'].includes(record.status.status);

const MARKS = { planned: ['planned', '·'], pending: ['pending', '…'], retry_scheduled: ['pending', '↻'], succeeded: ['done', '✓'], failed: ['failed', '✗'], withdrawn: ['planned', '–'] };

// One list item per effect record, marked with where it stands.
const effectItems = (records) => records.map((r) => {
  const [state, mark] = MARKS[r.status.status] ?? ['pending', '…'];
  return el('li', { class: state, 'data-effect': r.effect.id },
    el('span', { class: 'status', 'aria-hidden': 'true' }, mark), describe(r.effect.action));
});

// ------------------------------------------------------------------ steps
async function loadSample() {
  showError(null);
  await world.open($('sample').value);
  await resume();
}

async function start(snapshot) {
  showError(null);
  await world.adopt(snapshot);
  await resume();
}

// Shows the view for where the closure stands: the review for a new one, or
// the step a closure stored by the service has reached.
async function resume() {
  const phase = host.state?.phase.phase ?? 'idle';
  switch (phase) {
    case 'awaiting_confirmation':
      prepareConfirm();
      show('confirm');
      return;
    case 'scheduled':
      return afterConfirm();
    case 'executing':
    case 'failed':
      return execute();
    case 'closed':
    case 'purged':
      return done();
    default:
      await review();
      show('review');
  }
}

async function request() {
  const reason = $('reason').value;
  const comment = $('comment').value.trim();
  const feedback = reason ? { reason, comment: comment || null } : null;
  try {
    await world.send({ type: 'request', feedback });
  } catch (err) {
    if (err.code === 'blocked') {
      await review();
      show('review');
    }
    showError(err);
    return;
  }
  prepareConfirm();
  show('confirm');
}

function prepareConfirm() {
  const phrase = host.policy.confirmation.method.phrase;
  const target = phrase === 'display_name' ? 'your display name' : phrase === 'email' ? 'your email address' : `“${phrase.fixed}”`;
  $('confirm-label').textContent = `Type ${target} to confirm`;
  $('confirm-lead').textContent = host.policy.grace_period_days > 0
    ? `You will have ${host.policy.grace_period_days} days to change your mind.`
    : 'This cannot be undone: the account is closed as soon as you confirm.';
  $('confirm-input').value = '';
  $('confirm-feedback').textContent = '';
}

async function confirm(event) {
  event.preventDefault();
  showError(null);
  let result;
  try {
    result = await world.send({ type: 'confirm', value: $('confirm-input').value });
  } catch (err) {
    $('confirm-feedback').textContent = err.message;
    return;
  }
  const rejected = result.notices.find((n) => n.notice === 'confirmation_rejected');
  if (rejected) {
    $('confirm-feedback').textContent = rejected.locked_until
      ? `That does not match. Too many attempts: try again after ${when(rejected.locked_until)}.`
      : `That does not match. ${count(rejected.attempts_left, 'attempt')} left.`;
    return;
  }
  await world.confirmed(result);
  await afterConfirm();
}

function renderGrace() {
  $('grace-effects').replaceChildren(...effectItems(host.state.effects.filter((r) => r.stage == null)));
}

async function afterConfirm() {
  const phase = host.state.phase;
  if (phase.phase === 'scheduled') {
    const skip = world.canSkipGrace();
    $('grace-lead').textContent = `It closes on ${when(phase.execute_at)}. Until then you can cancel and everything is restored. We'll remind you before it happens.`
      + (skip ? '' : ' The service runs it then; you can close this page and come back.');
    $('skip-grace').hidden = !skip;
    renderGrace();
    show('grace');
    world.watchGrace();
  } else if (phase.phase === 'executing' || phase.phase === 'closed') {
    // The service's workers may have finished the plan already: show it anyway.
    await execute();
  }
}

function renderClosing() {
  const records = host.state.effects.filter((r) => r.stage != null).sort((a, b) => a.stage - b.stage);
  $('closing-effects').replaceChildren(...effectItems(records));
  const phase = host.state.phase;
  const bar = $('progress');
  if (phase.phase === 'executing' || phase.phase === 'failed') {
    bar.max = phase.stages;
    bar.value = phase.stage;
  } else if (phase.phase === 'closed' || phase.phase === 'purged') {
    bar.value = bar.max;
  }
}

async function execute() {
  show('closing');
  renderClosing();
  await world.execute();
  renderClosing();
  const phase = host.state.phase;
  if (phase.phase === 'closed' || phase.phase === 'purged') {
    done();
  } else if (phase.phase === 'failed') {
    showError({ message: `The closure stopped: ${phase.reason}. Support can retry or abort it.`, code: 'failed' });
  }
}

async function skipGrace() {
  await world.skipGrace();
  const phase = host.state.phase.phase;
  if (phase === 'halted') {
    showError({ message: 'The closure stopped: something changed since you confirmed. Review it again.' });
    return;
  }
  await afterConfirm();
}

async function cancel() {
  const result = await world.send({ type: 'cancel' });
  $('cancelled-lead').textContent = `Nothing was deleted and your access is restored. You can ask again after ${when(host.state.phase.cooldown_until)}.`;
  show('cancelled');
  await world.cancelled(result);
}

function done() {
  const phase = host.state.phase;
  const receipt = phase.receipt;
  $('done-lead').textContent = 'Thank you for using Acme Cloud. This receipt holds no personal data.';
  const row = (term, value) => [el('dt', {}, term), el('dd', {}, value)];
  // What the person keeps: dates and what was done, no ids or hashes (the
  // audit trail beside it is where the chain is checked).
  $('receipt').replaceChildren(
    ...row('Requested', when(receipt.requested_at)),
    ...row('Closed', when(receipt.closed_at)),
    ...row('Steps performed', String(receipt.effects_performed)),
    ...row('Policy', receipt.policy),
    ...row('Reason given', receipt.exit_reason ? words(receipt.exit_reason) : '—'),
  );
  $('purges').replaceChildren(
    ...(phase.purges ?? []).map((p) => el('li', {}, `${capital(words(p.class))}: ${day(p.due)}`)),
  );
  show('done');
}

// ------------------------------------------------------------------ wiring
const act = (work) => () => { work().catch(showError); };

$('start').addEventListener('click', act(loadSample));
$('load-paste').addEventListener('click', act(async () => {
  let snapshot;
  try {
    snapshot = JSON.parse($('paste').value);
  } catch (err) {
    throw { message: `That is not JSON: ${err.message}`, code: 'malformed_json' };
  }
  await start(snapshot);
}));
$('to-feedback').addEventListener('click', () => show('feedback'));
$('back-review').addEventListener('click', act(async () => { await review(); show('review'); }));
$('to-confirm').addEventListener('click', act(request));
$('back-feedback').addEventListener('click', () => show('feedback'));
$('confirm-form').addEventListener('submit', (event) => { confirm(event).catch(showError); });
$('skip-grace').addEventListener('click', act(skipGrace));
$('cancel-closure').addEventListener('click', act(cancel));
$('restart').addEventListener('click', act(loadSample));
$('restart-cancelled').addEventListener('click', act(loadSample));

world.setup().then(loadSample).catch(showError);
