// The close-account page against the reference service (examples/service),
// in real headless Chromium: the page on one origin, the service on another
// (it allows the page's origin with --allow-origin), SQLite in a scratch
// directory, the service's own workers performing the effects. The test reads
// the service's API directly as well, to check the page told the truth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './helpers.mjs';
import { serveRepository, launchChromium, openPage, shot, confirmThenCancel } from './browser.mjs';

let site;
let browser;
let service;
let api;
let scratch;

// Starts target/debug/offboard-service (built here if cargo has not yet) and
// waits for its "listening on" line.
async function startService(origin) {
  const built = spawnSync('cargo', ['build', '--quiet', '-p', 'offboard-service'], { cwd: root, stdio: 'inherit' });
  assert.equal(built.status, 0, 'cargo build -p offboard-service failed');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'offboard-web-service-'));
  const child = spawn(path.join(root, 'target', 'debug', 'offboard-service'), [
    '--database', `sqlite://${path.join(scratch, 'service.db')}?mode=rwc`,
    '--listen', '127.0.0.1:0',
    '--policy', 'prerequisite',
    '--poll-ms', '20',
    '--allow-time-travel',
    '--allow-origin', origin,
    // The page is the demo console: it names who acts in a header.
    '--insecure-trust-actor-header',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`offboard-service exited with ${code} before listening`)));
  });
  const match = /^listening on (http:\/\/\S+)$/.exec(first);
  assert.ok(match, `unexpected first line from the service: ${first}`);
  return { child, base: match[1] };
}

// A moment as the page writes it.
const when = (iso) =>
  `${new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso))} UTC`;

// The service's API, read from Node.
async function get(pathname) {
  const response = await fetch(api + pathname, {
    headers: { 'x-offboard-actor': JSON.stringify({ id: 'u_test_support', role: 'support_operator', reauthenticated_at: null }) },
  });
  assert.equal(response.status, 200, `GET ${pathname}: ${response.status}`);
  return response.json();
}

before(async () => {
  site = await serveRepository();
  service = await startService(site.origin);
  api = service.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  service?.child.kill('SIGTERM');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// Chromium logs every refused request as a console error; these are the
// refusals the page asks for on purpose and handles.
const refusal = (statuses) => (msg) =>
  statuses.some((status) => msg.text().includes(`status of ${status}`)) && msg.location().url.startsWith(api);

// No refusal is expected by default: the page asks only for what exists
// (an account with no closure yet is not asked for one).
async function open(account, expectedRefusals = []) {
  const opened = await openPage(browser, `${site.origin}/examples/web/index.html?api=${encodeURIComponent(api)}`, {
    viewport: { width: 1360, height: 1000 },
  }, refusal(expectedRefusals));
  const { page } = opened;
  // The service's accounts are listed and the first account's view is up.
  await page.waitForFunction(() => document.getElementById('sample').options[0]?.value.startsWith('u_')
    && document.querySelector('[data-view]:not([hidden])'));
  if (account) {
    await page.selectOption('#sample', account);
    await page.click('#start');
  }
  return opened;
}

const reviewing = (page, holder) =>
  page.waitForFunction((who) => document.getElementById('who').dataset.actor === who, holder);

async function clearEveryBlocker(page) {
  const buttons = page.locator('#blockers .checklist button');
  for (let guard = 0; guard < 30 && (await buttons.count()) > 0; guard++) {
    const before = await buttons.count();
    await buttons.first().click();
    // Each click changes the account in the service, then asks it again.
    await page.waitForFunction((n) => document.querySelectorAll('#blockers .checklist button').length < n, before);
  }
  await page.getByText('Nothing stands in the way of closing this account.').waitFor();
}

test('a team owner closes the account through the service, and a reload resumes where it stands', async () => {
  const { page, problems } = await open();
  // The page lists the service's accounts and shows the service's policy.
  assert.match(await page.locator('#mode-hint').innerText(), new RegExp(`drives the service at ${api.replaceAll('.', '\\.')}`));
  assert.equal(await page.locator('#policy').isDisabled(), true);
  assert.match(await page.locator('#policy').innerText(), /prerequisite \(the service's\)/);
  assert.deepEqual(await page.locator('#sample option').evaluateAll((os) => os.map((o) => o.value)),
    ['u_chen', 'u_dana', 'u_lena', 'u_omar', 'u_sam']);
  await reviewing(page, 'u_omar');

  // The service's assessment: the same checklist the package gives in the page.
  const items = page.locator('#blockers .checklist li');
  assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.dataset.code)), [
    // in the service's id order: sub_acme_storage (the add-on) before sub_acme_team
    'add_on_active', 'subscription_active', 'subscription_active', 'payment_method_on_file', 'invoice_unpaid',
  ]);
  assert.match(await page.locator('#stats').innerText(), /2\s*workspaces deleted/);

  // Clearing a blocker changes the account stored in the service.
  await clearEveryBlocker(page);
  const stored = await get('/v1/ops/accounts/u_omar');
  // Omar's own workspaces' subscriptions are cancelled; the one he only belongs to runs on.
  // The service lists an account's records in id order.
  assert.deepEqual(stored.subscriptions.map((s) => [s.id, s.status]), [
    ['sub_acme_storage', 'canceled'], ['sub_acme_team', 'canceled'],
    ['sub_globex_team', 'active'], ['sub_sandbox_trial', 'canceled'],
  ]);
  assert.deepEqual(stored.payment_methods.map((m) => m.id), ['pm_globex_bank']);

  await page.click('#to-feedback');
  await page.selectOption('#reason', 'switched_service');
  await page.click('#to-confirm');
  await page.locator('[data-view="confirm"]').waitFor();
  assert.equal((await get('/v1/accounts/u_omar/closure')).phase, 'awaiting_confirmation');
  await page.fill('#confirm-input', 'omar@wrong.test');
  await page.click('#confirm-button');
  await page.getByText('That does not match. 4 attempts left.').waitFor();
  await page.fill('#confirm-input', 'omar@acme.test');
  await page.click('#confirm-button');
  await page.locator('[data-view="grace"]').waitFor();

  // The grace period as the service scheduled it; its workers perform the locks and notices.
  const scheduled = await get('/v1/accounts/u_omar/closure');
  assert.equal(scheduled.phase, 'scheduled');
  const closesOn = when(scheduled.state.phase.execute_at);
  assert.match(await page.locator('#grace-lead').innerText(), new RegExp(`It closes on ${closesOn}`));
  await page.waitForFunction(() => {
    const items = [...document.querySelectorAll('#grace-effects li')];
    return items.length > 0 && items.every((li) => li.classList.contains('done'));
  });
  assert.match(await page.locator('#grace-effects').innerText(), /Sign out everywhere/);

  // The closure lives in the service: a reload comes back to the grace period.
  await page.reload();
  await page.locator('[data-view="grace"]').waitFor();
  assert.match(await page.locator('#grace-lead').innerText(), new RegExp(`It closes on ${closesOn}`));

  // Skipping the grace period moves the service's test clock; its workers run the plan.
  await page.click('#skip-grace');
  await page.locator('[data-view="done"]').waitFor({ timeout: 60_000 });
  const closing = await page.locator('#closing-effects').innerText();
  assert.match(closing, /Delete the workspace Acme Robotics/);
  assert.match(closing, /Remove 4 members from Acme Robotics/);
  const shown = await page.evaluate(() => ['.flow', '.trail'].map((s) => document.querySelector(s).innerText).join('\n'));
  assert.doesNotMatch(shown, /(?<![A-Za-z0-9])(sub|pm|in|t|u)_\w|\(s\)/, 'what a person reads names things by their names');
  assert.equal(await page.locator('#closing-effects li:not(.done)').count(), 0);
  assert.match(await page.locator('#receipt').innerText(), /switched service/);
  assert.match(await page.locator('#verify').innerText(), /hash chain verified \(here and by the service\)/);
  assert.match(await page.locator('#trail').innerText(), /reminder sent/);

  // What the page showed is what the service holds and did.
  const closed = await get('/v1/accounts/u_omar/closure');
  assert.equal(closed.phase, 'closed');
  const audit = await get('/v1/accounts/u_omar/closure/audit');
  assert.equal(audit.verification.valid, true);
  assert.equal(await page.locator('#trail li').count(), audit.events.length);
  assert.doesNotMatch(await page.locator('#receipt').innerText(), new RegExp(closed.state.audit.head), 'the receipt shows no audit hash');
  const effects = (await get('/v1/ops/effects?limit=1000')).items.filter((e) => e.closure === closed.closure && e.status === 'done');
  assert.ok(effects.length >= 10, `${effects.length} effects done`);
  assert.ok(effects.every((e) => e.performed === 1), 'each effect performed once');
  const staged = closed.state.effects.filter((r) => r.stage != null);
  assert.equal(await page.locator('#closing-effects li').count(), staged.length);

  await page.screenshot({ path: shot('service-receipt'), fullPage: true });
  assert.equal(await page.locator('#sample option:checked').innerText(), 'u_omar (closed)');
  await page.reload();
  await page.locator('[data-view="done"]').waitFor();
  assert.match(await page.locator('#receipt').innerText(), /switched service/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a cancelled closure restores the account; asking again too soon shows the service’s code', async () => {
  const { page, problems } = await open('u_lena', [429]);
  await reviewing(page, 'u_lena');
  assert.equal(await page.locator('#blockers .checklist li').count(), 2);
  await clearEveryBlocker(page);
  await confirmThenCancel(page, 'lena@example.org');
  const cancelled = await get('/v1/accounts/u_lena/closure');
  assert.equal(cancelled.phase, 'cancelled');
  assert.match(await page.locator('#cancelled-lead').innerText(), new RegExp(`ask again after ${when(cancelled.state.phase.cooldown_until)}`));

  // Back to the start: the review again, and a new request is refused for the cooldown.
  await page.click('#restart-cancelled');
  await page.locator('[data-view="review"]').waitFor();
  await page.click('#to-feedback');
  await page.click('#to-confirm');
  await page.locator('#error').getByText(/\(cooldown\)/).waitFor();
  assert.equal((await get('/v1/accounts/u_lena/closure')).version, cancelled.version, 'the refusal wrote nothing');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a pasted snapshot is imported into the service, which judges it', async () => {
  const { page, problems } = await open('u_dana', [400]);
  await reviewing(page, 'u_dana');
  await page.locator('summary').click();
  assert.match(await page.locator('summary').innerText(), /Import your own snapshot into the service/);

  await page.fill('#paste', JSON.stringify({ schema_version: 9, account: { id: 'u_future' } }));
  await page.click('#load-paste');
  await page.locator('#error').getByText(/unsupported_version/).waitFor();

  // Lena's account as another person's: every id and the address with `pasted`
  // for `lena` (record ids are global, so a copy needs its own).
  const copy = JSON.parse(JSON.stringify(await get('/v1/ops/accounts/u_lena')).replaceAll('lena', 'pasted'));
  await page.fill('#paste', JSON.stringify(copy));
  await page.click('#load-paste');
  await reviewing(page, 'u_pasted');
  assert.match(await page.locator('#who').innerText(), /pasted@example\.org/);
  assert.equal(await page.locator('#sample').inputValue(), 'u_pasted');
  assert.equal((await get('/v1/ops/accounts/u_pasted')).account.email, 'pasted@example.org');
  assert.deepEqual(problems, []);
  await page.close();
});
