// The close-account page in real headless Chromium (Debian's package, driven
// by playwright-core): the whole flow, what the page shows at each step, no
// console errors, keyboard and narrow-screen checks, and a screenshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveRepository, launchChromium, openPage, shot } from './browser.mjs';

let site;
let browser;

before(async () => {
  site = await serveRepository();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function open(options = {}) {
  const opened = await openPage(browser, `${site.origin}/examples/web/index.html`, options);
  await opened.page.locator('[data-view="review"]').waitFor();
  return opened;
}

const HOLDERS = { 'lone-user': 'u_lena', 'team-owner': 'u_omar', 'domain-owner': 'u_dana', contract: 'u_chen', 'sso-member': 'u_sam' };

async function start(page, sample, policy) {
  await page.selectOption('#sample', sample);
  await page.selectOption('#policy', policy);
  await page.click('#start');
  // Wait for this sample's review, not the one already on screen.
  await page.waitForFunction(
    ([holder, name]) => {
      const who = document.getElementById('who').textContent;
      return who.includes(`acting as ${holder} `) && who.includes(`“${name}”`);
    },
    [HOLDERS[sample], policy],
  );
}

async function clearEveryBlocker(page) {
  const buttons = page.locator('#blockers .checklist button');
  for (let guard = 0; guard < 30 && (await buttons.count()) > 0; guard++) {
    await buttons.first().click();
  }
  await page.getByText('Nothing stands in the way of closing this account.').waitFor();
}

test('a team owner walks the whole closure, from checklist to receipt', async () => {
  const { page, problems } = await open({ viewport: { width: 1360, height: 1000 } });
  await start(page, 'team-owner', 'prerequisite');

  // The checklist: every blocker with its remedy, and the consequences with counts.
  const items = page.locator('#blockers .checklist li');
  assert.equal(await items.count(), 5);
  assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.dataset.code)), [
    'subscription_active', 'add_on_active', 'subscription_active', 'payment_method_on_file', 'invoice_unpaid',
  ]);
  assert.match(await items.nth(4).innerText(), /Pay invoice in_acme_storage_11 \(49\.00 USD\)/);
  assert.equal(await page.locator('#to-feedback').isDisabled(), true);
  const stats = await page.locator('#stats').innerText();
  assert.match(stats, /2\s*workspaces deleted/);
  assert.match(stats, /4\s*other members removed/);
  assert.match(await page.locator('#details').innerText(), /You leave t_globex/);
  await page.screenshot({ path: shot('checklist'), fullPage: true });

  // Clearing the blockers (simulated) re-assesses each time.
  await clearEveryBlocker(page);
  await page.click('#to-feedback');
  await page.locator('[data-view="feedback"]').waitFor();
  await page.selectOption('#reason', 'switched_service');
  await page.fill('#comment', 'Moving the team to another tool.');
  await page.click('#to-confirm');

  // A wrong confirmation is counted; the right one schedules the closure.
  await page.locator('[data-view="confirm"]').waitFor();
  assert.match(await page.locator('#confirm-label').innerText(), /Type your email address to confirm/);
  await page.fill('#confirm-input', 'omar@wrong.test');
  await page.click('#confirm-button');
  await page.getByText('That does not match. 4 attempt(s) left.').waitFor();
  await page.fill('#confirm-input', 'omar@acme.test');
  await page.click('#confirm-button');
  await page.locator('[data-view="grace"]').waitFor();
  assert.match(await page.locator('#grace-lead').innerText(), /It closes on 7 Dec 2026, 10:00 UTC/);
  assert.match(await page.locator('#grace-effects').innerText(), /Sign out everywhere/);

  // Skip the grace period: reminders go out, then the plan runs stage by stage.
  await page.click('#skip-grace');
  await page.locator('[data-view="done"]').waitFor({ timeout: 20000 });
  const closing = await page.locator('#closing-effects').innerText();
  assert.match(closing, /Delete t_acme/);
  assert.match(closing, /Remove 4 member\(s\) from t_acme/);
  assert.equal(await page.locator('#closing-effects li.pending').count(), 0);
  const receipt = await page.locator('#receipt').innerText();
  assert.match(receipt, /switched service/);
  assert.doesNotMatch(receipt, /omar@acme\.test|Omar Haddad|Moving the team/, 'the receipt holds no personal data');
  assert.match(await page.locator('#verify').innerText(), /hash chain verified/);
  assert.match(await page.locator('#trail').innerText(), /reminder sent/);
  assert.match(await page.locator('#purges').innerText(), /personal data: 23 Nov 2027/);

  await page.screenshot({ path: shot('receipt'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('cancel during the grace period, on a phone-sized screen, by keyboard', async () => {
  const { page, problems } = await open({ viewport: { width: 390, height: 844 }, isMobile: true });
  await start(page, 'lone-user', 'prerequisite');
  assert.equal(await page.locator('#blockers .checklist li').count(), 2);
  await clearEveryBlocker(page);
  await page.click('#to-feedback');
  await page.click('#to-confirm');
  await page.locator('#confirm-input').focus();
  await page.keyboard.type('lena@example.org');
  await page.keyboard.press('Enter');
  await page.locator('[data-view="grace"]').waitFor();
  await page.click('#cancel-closure');
  await page.locator('[data-view="cancelled"]').waitFor();
  assert.match(await page.locator('#cancelled-lead').innerText(), /ask again after 24 Nov 2026, 10:00 UTC/);

  const layout = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    unlabelled: [...document.querySelectorAll('input, select, textarea')].filter((e) => e.labels.length === 0).map((e) => e.id),
    unnamed: [...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length,
  }));
  assert.ok(layout.overflow <= 0, `the page scrolls sideways by ${layout.overflow}px`);
  assert.deepEqual(layout.unlabelled, []);
  assert.equal(layout.unnamed, 0);
  await page.screenshot({ path: shot('phone-cancelled'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('contract accounts say who to contact; a bad pasted snapshot shows its error code', async () => {
  const { page, problems } = await open();
  await start(page, 'contract', 'prerequisite');
  const first = page.locator('#blockers .checklist li').first();
  assert.match(await first.innerText(), /Contact Priya Nair \(priya\.nair@platform\.test\)/);
  await first.locator('button').click();
  assert.match(await page.locator('#who').innerText(), /acting as ops_priya \(support operator\)/);

  await page.locator('summary').click();
  await page.fill('#paste', '{"schema_version": 9, "taken_at": "2026-11-23T10:00:00Z"}');
  await page.click('#load-paste');
  await page.getByText(/unsupported_version/).waitFor();
  assert.deepEqual(problems, []);
  await page.close();
});
