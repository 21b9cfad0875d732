// The shared bad-input corpus through WebAssembly: the same codes as in Rust.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as offboard from '../npm/node.js';
import { jsonFiles, read, root } from './helpers.mjs';

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

test('every machine case gives the result its directory is named for', async () => {
  const { readdirSync, existsSync } = await import('node:fs');
  const path = await import('node:path');
  const base = path.join(root, 'tests/fixtures/bad/step');
  const cases = readdirSync(base).sort();
  assert.ok(cases.length >= 10);
  for (const name of cases) {
    const file = (f) => read(`tests/fixtures/bad/step/${name}/${f}`);
    const snapshot = existsSync(path.join(base, name, 'snapshot.txt'))
      ? read(`examples/data/${file('snapshot.txt').trim()}.json`)
      : undefined;
    let got = 'ok';
    try {
      offboard.json.step(
        file('state.json'),
        file('command.json'),
        file('actor.json'),
        offboard.json.preset(file('policy.txt').trim()),
        snapshot,
        file('now.txt').trim(),
      );
    } catch (err) {
      got = err.code;
    }
    assert.equal(got, expected(name), name);
  }
});
