// The shared bad-input corpus through WebAssembly: the same codes as in Rust.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as offboard from '../npm/node.js';
import { jsonFiles, read } from './helpers.mjs';

const expected = (file) => file.split('--')[0];

test('every bad snapshot gets the code its file is named for', () => {
  const files = jsonFiles('tests/fixtures/bad/snapshot');
  assert.ok(files.length >= 40);
  for (const file of files) {
    const text = read(`tests/fixtures/bad/snapshot/${file}`);
    // The actor is the holder at the snapshot's time when it can be read; else any valid one.
    let actor = { id: 'u_a', role: 'user', reauthenticated_at: '2026-11-23T10:00:00Z' };
    let now = '2026-11-23T10:00:00Z';
    try {
      const parsed = JSON.parse(text);
      actor = { id: parsed.account.id, role: 'user', reauthenticated_at: parsed.taken_at };
      now = parsed.taken_at;
    } catch {
      // Malformed on purpose: the defaults will do.
    }
    assert.throws(
      () => offboard.json.assess(text, JSON.stringify(actor), offboard.json.preset('prerequisite'), String(now)),
      (err) => err.code === expected(file),
      file,
    );
  }
});

test('every bad policy gets the code its file is named for', () => {
  const snapshot = read('examples/data/lone-user.json');
  const actor = JSON.stringify({ id: 'u_lena', role: 'user', reauthenticated_at: '2026-11-23T10:00:00Z' });
  for (const file of jsonFiles('tests/fixtures/bad/policy')) {
    const policy = read(`tests/fixtures/bad/policy/${file}`);
    assert.throws(() => offboard.json.assess(snapshot, actor, policy, '2026-11-23T10:00:00Z'), (err) => err.code === expected(file), file);
  }
});
