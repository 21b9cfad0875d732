// The package API from Node: the same scenarios as the Rust tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as offboard from '../npm/node.js';
import { expectedBlockers, holder, sample, support, system } from './helpers.mjs';

test('every sample meets the same blockers as in Rust, under both presets', () => {
  for (const [name, presets] of Object.entries(expectedBlockers)) {
    const snapshot = sample(name);
    for (const [policy, codes] of Object.entries(presets)) {
      const report = offboard.assess(snapshot, holder(snapshot), policy, snapshot.taken_at);
      assert.deepEqual(report.blockers.map((b) => b.code), codes, `${name} under ${policy}`);
      assert.equal(report.can_close, codes.length === 0);
    }
  }
});

test('consequences come with counts and subjects', () => {
  const snapshot = sample('team-owner');
  const report = offboard.assess(snapshot, holder(snapshot), 'cascade', new Date(snapshot.taken_at));
  const { counts, tenants_deleted: deleted } = report.consequences;
  assert.equal(counts.tenants_deleted, 2);
  assert.equal(counts.members_removed, 4);
  assert.deepEqual(deleted[0].members_removed, ['u_ines', 'u_kwame', 'u_mei', 'u_tom']);
  assert.deepEqual(report.consequences.tenants_left, ['t_globex']);
});

test('text in, text out gives the same answer', () => {
  const snapshot = sample('lone-user');
  const text = offboard.json.assess(
    JSON.stringify(snapshot),
    JSON.stringify(holder(snapshot)),
    offboard.json.preset('prerequisite'),
    snapshot.taken_at,
  );
  assert.deepEqual(JSON.parse(text), offboard.assess(snapshot, holder(snapshot), 'prerequisite', snapshot.taken_at));
});

test('errors are Error objects with the stable code and number', () => {
  const snapshot = sample('lone-user');
  const cases = [
    [() => offboard.assess('{', holder(snapshot), 'cascade', snapshot.taken_at), 'malformed_json', 1],
    [() => offboard.assess({ ...snapshot, schema_version: 2 }, holder(snapshot), 'cascade', snapshot.taken_at), 'unsupported_version', 3],
    [() => offboard.assess(snapshot, { id: 'x' }, 'cascade', snapshot.taken_at), 'schema_mismatch', 2],
    [() => offboard.assess(snapshot, holder(snapshot), 'cascade', 'yesterday'), 'invalid_value', 6],
    [() => offboard.preset('lenient'), 'invalid_value', 6],
    [() => offboard.assess(' '.repeat(256 * 1024 * 1024 + 1), holder(snapshot), 'cascade', snapshot.taken_at), 'input_too_large', 16],
    [() => offboard.assess(snapshot, holder(snapshot), { ...offboard.preset('cascade'), grace_period_days: 365 }, snapshot.taken_at), 'invalid_policy', 7],
  ];
  for (const [run, code, number] of cases) {
    assert.throws(run, (err) => {
      assert.ok(err instanceof Error, 'an Error, not a string');
      assert.equal(err.code, code, err.message);
      assert.equal(err.number, number);
      assert.ok(err.message.length > 10);
      return true;
    });
  }
});

test('a blocked request throws with every blocker and its remedy', () => {
  const snapshot = sample('domain-owner');
  const state = offboard.createClosure('cl_dana', snapshot.account.id);
  const context = { actor: holder(snapshot), policy: 'prerequisite', snapshot, now: snapshot.taken_at };
  assert.throws(() => offboard.step(state, { type: 'request' }, context), (err) => {
    assert.equal(err.code, 'blocked');
    assert.equal(err.number, 10);
    assert.deepEqual(err.blockers.map((b) => b.code), expectedBlockers['domain-owner'].prerequisite);
    assert.ok(err.blockers.every((b) => b.remedy.message.length > 0));
    return true;
  });
});

test('a whole closure runs to purged, and its audit chain verifies', () => {
  const snapshot = sample('team-owner');
  const now = snapshot.taken_at;
  let state = offboard.createClosure('cl_omar', snapshot.account.id);
  const log = [];
  const run = (command, actor, at = now) => {
    const step = offboard.step(state, command, { actor, policy: 'cascade', snapshot, now: at });
    state = step.state;
    log.push(...step.audit);
    return step;
  };
  run({ type: 'request', feedback: { reason: 'switched_service', comment: 'moving to another tool' } }, holder(snapshot));
  assert.equal(state.phase.phase, 'awaiting_confirmation');
  const wrong = run({ type: 'confirm', value: 'not-my-email' }, holder(snapshot));
  assert.deepEqual(wrong.notices[0], { notice: 'confirmation_rejected', attempts_left: 4, locked_until: null });
  const confirmed = run({ type: 'confirm', value: snapshot.account.email }, holder(snapshot));
  assert.equal(state.phase.phase, 'executing');
  assert.ok(confirmed.effects.some((e) => e.action.type === 'cancel_subscription'));
  const keys = new Set();
  for (let guard = 0; guard < 100; guard++) {
    const pending = state.effects.find((r) => r.status.status === 'pending');
    if (!pending) break;
    keys.add(pending.effect.id);
    run({ type: 'report_outcome', effect: pending.effect.id, outcome: { result: 'succeeded' } }, system);
  }
  assert.equal(state.phase.phase, 'closed');
  assert.equal(state.phase.receipt.exit_reason, 'switched_service');
  assert.ok(!JSON.stringify(state.phase.receipt).includes('moving to another tool'), 'the free text stays out of the receipt');
  let next;
  while ((next = offboard.nextTick(state, 'cascade'))) {
    const step = run({ type: 'tick' }, system, next);
    for (const effect of step.effects) {
      run({ type: 'report_outcome', effect: effect.id, outcome: { result: 'succeeded' } }, system, next);
    }
  }
  assert.equal(state.phase.phase, 'purged');
  const verified = offboard.verifyAudit(log, state.audit.head);
  assert.equal(verified.valid, true);
  assert.equal(verified.events, log.length);

  const edited = structuredClone(log);
  edited[1].actor = 'u_mallory';
  const broken = offboard.verifyAudit(edited);
  assert.equal(broken.valid, false);
  assert.deepEqual(broken.problem, { problem: 'altered', sequence: 1 });
  assert.equal(offboard.verifyAudit(log.slice(0, -1), state.audit.head).problem.problem, 'head_mismatch');
});

test('refused commands: wrong state, not allowed, unknown effect, time going backwards', () => {
  const snapshot = sample('lone-user');
  const state = offboard.createClosure('cl_lena', snapshot.account.id);
  const ctx = (actor, now = snapshot.taken_at) => ({ actor, policy: 'cascade', snapshot, now });
  const code = (run) => {
    try {
      run();
    } catch (err) {
      return err.code;
    }
    assert.fail('accepted');
  };
  assert.equal(code(() => offboard.step(state, { type: 'cancel' }, ctx(holder(snapshot)))), 'wrong_state');
  assert.equal(code(() => offboard.step(state, { type: 'request' }, ctx({ id: 'u_mallory', role: 'user' }))), 'not_allowed');
  assert.equal(code(() => offboard.step(state, { type: 'retry' }, ctx(holder(snapshot)))), 'not_allowed');
  const requested = offboard.step(state, { type: 'request' }, ctx(holder(snapshot))).state;
  const bogus = { type: 'report_outcome', effect: 'ef_00000000000000000000000000000000', outcome: { result: 'succeeded' } };
  assert.equal(code(() => offboard.step(requested, bogus, ctx(system))), 'unknown_effect');
  assert.equal(code(() => offboard.step(requested, { type: 'cancel' }, ctx(holder(snapshot), '2026-11-23T09:59:59Z'))), 'time_went_backwards');
  assert.equal(code(() => offboard.step(requested, { type: 'explode' }, ctx(support))), 'schema_mismatch');
});

test('token confirmation uses the digest the host keeps', () => {
  const snapshot = sample('lone-user');
  const policy = { ...offboard.preset('cascade'), confirmation: { method: { type: 'token', valid_minutes: 30 }, max_attempts: 3, lockout_minutes: 10 } };
  const ctx = { actor: holder(snapshot), policy, snapshot, now: snapshot.taken_at };
  let state = offboard.createClosure('cl_token', snapshot.account.id);
  state = offboard.step(state, { type: 'request', token_digest: offboard.digest('s3cret') }, ctx).state;
  state = offboard.step(state, { type: 'confirm', value: 's3cret' }, ctx).state;
  assert.equal(state.phase.phase, 'executing');
});

test('the diagram and presets come from the core', () => {
  assert.match(offboard.diagram(), /^stateDiagram-v2\n/);
  assert.match(offboard.diagram(), /Executing --> Closed: report_outcome/);
  assert.equal(offboard.preset('prerequisite').grace_period_days, 14);
  assert.equal(offboard.digest('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('a Closure keeps the state and the audit log together, from request to purged', () => {
  const snapshot = sample('team-owner');
  const actor = holder(snapshot);
  let now = snapshot.taken_at;
  const closure = new offboard.Closure('cl_class', snapshot.account.id, { policy: 'cascade' });
  assert.equal(closure.phase, 'idle');
  closure.step({ type: 'request' }, { actor, snapshot, now });
  // A refused command changes neither the state nor the log.
  const before = JSON.stringify(closure.toJSON());
  assert.throws(() => closure.step({ type: 'cancel' }, { actor: system, snapshot, now }), { code: 'not_allowed' });
  assert.equal(JSON.stringify(closure.toJSON()), before);
  let due = closure.step({ type: 'confirm', value: snapshot.account.email }, { actor, snapshot, now }).effects;
  // Stored and restored halfway: the same closure goes on.
  const stored = JSON.stringify(closure);
  const resumed = offboard.Closure.restore(stored, { policy: 'cascade' });
  assert.deepEqual(resumed.toJSON(), closure.toJSON());
  let account = snapshot;
  for (let i = 0; i < 1000; i++) {
    let command;
    if (due.length > 0) {
      const effect = due.shift();
      if (effect.action.type === 'delete_account') account = null;
      command = { type: 'report_outcome', effect: effect.id, outcome: { result: 'succeeded' } };
    } else {
      const tick = resumed.nextTick();
      if (tick === null) break;
      if (tick > now) now = tick;
      command = { type: 'tick' };
    }
    due = due.concat(resumed.step(command, { actor: system, snapshot: account, now }).effects);
  }
  assert.equal(resumed.phase, 'purged');
  assert.equal(resumed.verify().valid, true);
  assert.equal(resumed.audit.length, resumed.verify().events);
  assert.ok(resumed.audit.length > JSON.parse(before).audit.length);
  // The log the class keeps is a copy: changing it changes nothing inside.
  resumed.audit.pop();
  assert.equal(resumed.verify().valid, true);
  assert.throws(() => new offboard.Closure('cl_x', 'u_x'), TypeError);
});

test('a stored Closure is checked when restored, and what it hands out are copies', () => {
  const snapshot = sample('lone-user');
  const actor = holder(snapshot);
  const now = snapshot.taken_at;
  const closure = new offboard.Closure('cl_copies', snapshot.account.id, { policy: 'cascade' });
  closure.step({ type: 'request' }, { actor, snapshot, now });
  const confirmed = closure.step({ type: 'confirm', value: snapshot.account.email }, { actor, snapshot, now });
  // A step answers what changed, not the state (that stays inside).
  assert.equal(confirmed.state, undefined);
  assert.equal(confirmed.phase, 'executing');
  assert.equal(confirmed.version, closure.state.audit.next_sequence);
  assert.deepEqual(confirmed.audit, closure.audit.slice(-confirmed.audit.length));
  assert.equal(confirmed.next_tick, closure.nextTick());
  confirmed.phase = 'purged';
  confirmed.audit[0].actor = 'u_mallory';
  const stored = closure.toJSON();
  // Changing what was handed out changes nothing inside.
  closure.state.phase = 'x';
  stored.state.phase = 'y';
  closure.audit.pop();
  assert.equal(closure.phase, 'executing');
  assert.equal(closure.verify().valid, true);
  // Cut short, edited, or not a stored closure at all: refused with a code.
  const cut = JSON.parse(JSON.stringify(closure));
  cut.audit.pop();
  assert.throws(() => offboard.Closure.restore(cut, { policy: 'cascade' }), { code: 'invalid_value' });
  const edited = JSON.parse(JSON.stringify(closure));
  edited.audit[0].actor = 'u_mallory';
  assert.throws(() => offboard.Closure.restore(edited, { policy: 'cascade' }), { code: 'invalid_value' });
  assert.throws(() => offboard.Closure.restore('{"state":1}', { policy: 'cascade' }), { code: 'schema_mismatch' });
  assert.throws(() => offboard.Closure.restore({ state: { closure: 'cl', account: 'u_x' }, audit: [] }, { policy: 'cascade' }), (e) => typeof e.code === 'string');
  const back = offboard.Closure.restore(JSON.stringify(closure), { policy: 'cascade' });
  assert.deepEqual(back.toJSON(), closure.toJSON());
});

test('a Closure steps exactly as the JSON step does, and frees its memory on request', () => {
  const snapshot = sample('team-owner');
  const actor = holder(snapshot);
  const now = snapshot.taken_at;
  const closure = new offboard.Closure('cl_same', snapshot.account.id, { policy: 'cascade' });
  let state = offboard.createClosure('cl_same', snapshot.account.id);
  for (const command of [{ type: 'request' }, { type: 'confirm', value: snapshot.account.email }]) {
    const plain = offboard.step(state, command, { actor, policy: 'cascade', snapshot, now });
    const change = closure.step(command, { actor, snapshot, now });
    state = plain.state;
    assert.deepEqual(closure.state, plain.state);
    assert.deepEqual(change.effects, plain.effects);
    assert.deepEqual(change.audit, plain.audit);
    assert.deepEqual(change.notices, plain.notices);
  }
  closure.free();
  assert.throws(() => closure.step({ type: 'tick' }, { actor: system, now }), TypeError);
});
