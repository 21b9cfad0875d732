// The close-account page in real headless Chromium (Debian's package, driven
// by playwright-core): the whole flow, what the page shows at each step, no
// console errors, keyboard and narrow-screen checks, and a screenshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveRepository, launchChromium, openPage, shot, confirmThenCancel } from './browser.mjs';

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

async function open(options = {}, query = '') {
  const opened = await openPage(browser, `${site.origin}/examples/web/index.html${query}`, options);
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
      const who = document.getElementById('who');
      return who.dataset.actor === holder && who.dataset.policy === name;
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
  assert.match(await items.nth(4).innerText(), /Pay the invoice of 1 November 2026 \(49\.00 USD\) of Acme Robotics\./);
  assert.match(await items.nth(0).innerText(), /Who can do this: an owner of Acme Robotics/);
  assert.equal(await page.locator('#to-feedback').isDisabled(), true);
  assert.equal(await page.locator('#continue-hint').innerText(), 'Clear the 5 items above to continue.');
  const stats = await page.locator('#stats').innerText();
  assert.match(stats, /2\s*workspaces deleted/);
  assert.match(stats, /4\s*other members removed/);
  assert.match(await page.locator('#details').innerText(), /You leave Globex hackathon; it carries on without you\./);
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
  await page.getByText('That does not match. 4 attempts left.').waitFor();
  await page.fill('#confirm-input', 'omar@acme.test');
  await page.click('#confirm-button');
  await page.locator('[data-view="grace"]').waitFor();
  assert.match(await page.locator('#grace-lead').innerText(), /It closes on 7 December 2026 at 10:00 UTC/);
  assert.match(await page.locator('#grace-effects').innerText(), /Sign out everywhere/);

  // Skip the grace period: reminders go out, then the plan runs stage by stage.
  await page.click('#skip-grace');
  await page.locator('[data-view="done"]').waitFor({ timeout: 20000 });
  const closing = await page.locator('#closing-effects').innerText();
  assert.match(closing, /Delete the workspace Acme Robotics/);
  assert.match(closing, /Remove 4 members from Acme Robotics/);
  assert.equal(await page.locator('#closing-effects li.pending').count(), 0);
  const receipt = await page.locator('#receipt').innerText();
  assert.match(receipt, /switched service/);
  assert.doesNotMatch(receipt, /omar@acme\.test|Omar Haddad|Moving the team/, 'the receipt holds no personal data');
  assert.match(await page.locator('#verify').innerText(), /hash chain verified/);
  assert.match(await page.locator('#trail').innerText(), /reminder sent/);
  assert.match(await page.locator('#purges').innerText(), /Personal data: 23 November 2027/);
  assert.doesNotMatch(receipt, /[0-9a-f]{32}/, 'the receipt shows no audit hash');

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
  assert.match(await page.locator('#cancelled-lead').innerText(), /ask again after 24 November 2026 at 10:00 UTC/);

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
  assert.match(await page.locator('#who').innerText(), /acting as a support operator/);

  await page.locator('summary').click();
  await page.fill('#paste', '{"schema_version": 9, "taken_at": "2026-11-23T10:00:00Z"}');
  await page.click('#load-paste');
  await page.getByText(/unsupported_version/).waitFor();
  assert.deepEqual(problems, []);
  await page.close();
});

// What a person reads: the flow, the audit trail and the top bar (not the
// demo's own setup panel). No internal id (sub_, pm_, in_, t_, u_ then a
// word character, also inside another id) and no "(s)" plural.
const INTERNAL = /(?<![A-Za-z0-9])(sub|pm|in|t|u)_\w|\(s\)/;

async function readable(page, step) {
  const text = await page.evaluate(() =>
    ['.topbar', '.flow', '.trail'].map((s) => document.querySelector(s).innerText).join('\n'));
  const found = text.split('\n').filter((line) => INTERNAL.test(line) || /\btenants?\b/i.test(line));
  assert.deepEqual(found, [], `${step}: internal wording on screen (ids, "(s)", or "tenant" for a workspace)`);
  // Every option's label fits its select's box (the text is measured in
  // the select's own font; the arrow takes about 24 px).
  const cut = await page.evaluate(() => [...document.querySelectorAll('select')].filter((s) => s.clientWidth > 0).flatMap((select) => {
    const style = getComputedStyle(select);
    const pen = document.createElement('canvas').getContext('2d');
    pen.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
    return [...select.options].filter((o) => pen.measureText(o.text).width > room).map((o) => `${select.id}: ${o.text}`);
  }));
  assert.deepEqual(cut, [], `${step}: a select label is cut off`);
  return text;
}

for (const width of [1280, 390]) {
  test(`every step at ${width} px reads as words, not ids: screenshots of each`, async () => {
    const options = width < 600 ? { viewport: { width, height: 844 }, isMobile: true } : { viewport: { width, height: 900 } };
    // Effects slow enough that the closing step can be seen.
    const { page, problems } = await open(options, '?effect-delay=250');
    const step = async (name, number) => {
      const text = await readable(page, name);
      await page.screenshot({ path: shot(`step-${number}-${name}-${width}`), fullPage: true });
      return text;
    };
    await start(page, 'team-owner', 'prerequisite');
    if (width >= 1280) {
      // The six step pills sit on one row.
      const rows = await page.locator('#steps li').evaluateAll((els) => new Set(els.map((e) => e.getBoundingClientRect().top)).size);
      assert.equal(rows, 1, 'the step pills wrap');
    }
    const review = await step('review', 1);
    assert.match(review, /Who can do this: an owner of Acme Robotics/);
    await clearEveryBlocker(page);
    await step('review-clear', 1);
    await page.click('#to-feedback');
    await page.locator('[data-view="feedback"]').waitFor();
    await step('feedback', 2);
    await page.click('#to-confirm');
    await page.locator('[data-view="confirm"]').waitFor();
    await page.fill('#confirm-input', 'nope@acme.test');
    await page.click('#confirm-button');
    await page.getByText('That does not match. 4 attempts left.').waitFor();
    await step('confirm', 3);
    await page.fill('#confirm-input', 'omar@acme.test');
    await page.click('#confirm-button');
    await page.locator('[data-view="grace"]').waitFor();
    await step('grace', 4);
    await page.click('#skip-grace');
    await page.locator('[data-view="closing"]').waitFor();
    await page.locator('#closing-effects li.done').first().waitFor();
    await step('closing', 5);
    await page.locator('[data-view="done"]').waitFor({ timeout: 30000 });
    const done = await step('done', 6);
    assert.doesNotMatch(done, /Audit log head/);
    // The same wording after a cancellation.
    await start(page, 'lone-user', 'prerequisite');
    await clearEveryBlocker(page);
    await confirmThenCancel(page, 'lena@example.org');
    await step('cancelled', 7);
    // Every sample's review, under both presets, reads as words too.
    for (const sample of Object.keys(HOLDERS)) {
      for (const policy of ['prerequisite', 'cascade']) {
        await start(page, sample, policy);
        await readable(page, `${sample} under ${policy}`);
        // Each sentence once: no consequence repeats a warning.
        const repeated = await page.evaluate(() => {
          const plain = (t) => t.toLowerCase().replace(/[^a-z0-9 ]/g, '').trim();
          const warnings = [...document.querySelectorAll('#warnings li')].map((li) => plain(li.innerText));
          return [...document.querySelectorAll('#details li')].map((li) => li.innerText)
            .filter((text) => warnings.some((w) => w.includes(plain(text))));
        });
        assert.deepEqual(repeated, [], `${sample} under ${policy}: shown twice`);
      }
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('a pasted snapshot with blank names still reads as whole sentences', async () => {
  const { page, problems } = await open({ viewport: { width: 1280, height: 900 } });
  const snapshot = JSON.parse(await (await fetch(`${site.origin}/examples/data/team-owner.json`)).text());
  snapshot.tenants[0].name = '';
  snapshot.tenants[1].name = '   ';
  snapshot.subscriptions[0].plan = ' ';
  snapshot.account.display_name = ' ';
  await page.selectOption('#policy', 'cascade');
  await page.locator('summary').click();
  await page.fill('#paste', JSON.stringify(snapshot));
  await page.click('#load-paste');
  await page.waitForFunction(() => document.getElementById('who').dataset.policy === 'cascade');
  const text = await readable(page, 'blank names');
  const broken = text.split('\n').filter((line) => /\s{2}|\s[.,]|^\s*·|of\s*$/.test(line));
  assert.deepEqual(broken, [], 'sentences with a gap where a name was');
  assert.match(text, /an unnamed workspace/i);
  assert.deepEqual(problems, []);
  await page.close();
});
