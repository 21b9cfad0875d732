// The audit chain as evidence, through the package: the shared tamper
// corpus (tests/fixtures/audit/, written by the Rust test audit_tamper.rs)
// holds one sample log and one copy per event field with that field changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as offboard from '../npm/node.js';
import { jsonFiles, read } from './helpers.mjs';

test('the sample log verifies against its head', () => {
  const log = JSON.parse(read('tests/fixtures/audit/log.json'));
  const head = read('tests/fixtures/audit/head.txt').trim();
  const verified = offboard.verifyAudit(log, head);
  assert.equal(verified.valid, true);
  assert.equal(verified.events, log.length);
});

test('changing any one field of an event is detected', () => {
  const files = jsonFiles('tests/fixtures/audit/tampered');
  assert.ok(files.length >= 25, `only ${files.length} tamper cases`);
  for (const file of files) {
    const log = JSON.parse(read(`tests/fixtures/audit/tampered/${file}`));
    const verified = offboard.verifyAudit(log);
    assert.equal(verified.valid, false, `${file} went unnoticed`);
    assert.ok(verified.problem.problem, file);
  }
});

test('a keyed chain verifies only with its key', () => {
  const snapshot = JSON.parse(read('examples/data/lone-user.json'));
  const now = snapshot.taken_at;
  const auditKey = { id: 'k_2026', secret: '07'.repeat(32) };
  const actor = { id: snapshot.account.id, role: 'user', reauthenticated_at: now };
  let state = offboard.createClosure('cl_keyed', snapshot.account.id);
  const log = [];
  for (const command of [{ type: 'request' }, { type: 'confirm', value: snapshot.account.email }]) {
    const step = offboard.step(state, command, { actor, policy: 'cascade', snapshot, now, auditKey });
    state = step.state;
    log.push(...step.audit);
  }
  assert.ok(log.every((e) => e.key === 'k_2026'));
  assert.equal(offboard.verifyAudit(log, state.audit.head, auditKey).valid, true);
  assert.equal(offboard.verifyAudit(log).problem.problem, 'key_required');
  const guessed = { id: 'k_2026', secret: '08'.repeat(32) };
  assert.equal(offboard.verifyAudit(log, null, guessed).problem.problem, 'altered');
  // A step without the key on a keyed chain is refused with its code.
  assert.throws(
    () => offboard.step(state, { type: 'tick' }, { actor: { id: 'worker', role: 'system' }, policy: 'cascade', now }),
    (e) => e.code === 'audit_key_mismatch' && e.number === 21,
  );
  assert.throws(
    () => offboard.step(state, { type: 'tick' }, { actor, policy: 'cascade', now, auditKey: { id: 'k', secret: 'zz' } }),
    (e) => e.code === 'invalid_value',
  );
});
