// The conformance corpus (tests/fixtures/conformance, written by
// tests/model.rs from its random command sequences) through WebAssembly:
// every step's JSON must be byte-identical to the Rust library's (its
// SHA-256, computed here by Node's own crypto), every refusal the same code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as offboard from '../npm/node.js';
import { read, root } from './helpers.mjs';

const base = 'tests/fixtures/conformance';

test('every step of every conformance case gives the Rust answer, byte for byte', () => {
  const cases = readdirSync(path.join(root, base)).sort();
  assert.ok(cases.length >= 20, `${cases.length} cases`);
  let steps = 0;
  let refusals = 0;
  let keyed = 0;
  let migrated = 0;
  for (const name of cases) {
    const dir = path.join(root, base, name);
    const file = (f) => read(`${base}/${name}/${f}`).replace(/\n$/, '');
    const policies = [file('policy-0.json'), file('policy-1.json')];
    // key.txt, where there is one: the chain's key id and secret (hex).
    const [keyId, keySecret] = existsSync(path.join(dir, 'key.txt'))
      ? file('key.txt').split('\t')
      : [undefined, undefined];
    let state = file('state.json');
    const lines = file('steps.tsv').split('\n');
    lines.forEach((line, i) => {
      const [now, actor, command, snapshot, policy, result, digest, stateLength] = line.split('\t');
      const where = `${name} step ${i + 1}`;
      const given = snapshot === '-' ? undefined : file(`snapshot-${snapshot}.json`);
      assert.ok(policy in policies, `${where}: policy ${policy}`);
      let out;
      try {
        out = offboard.json.step(state, command, actor, policies[policy], given, now, keyId, keySecret);
      } catch (err) {
        assert.equal(result, 'error', `${where}: refused with ${err.code}`);
        assert.equal(err.code, digest, where);
        refusals += 1;
        steps += 1;
        return;
      }
      assert.equal(result, 'ok', `${where}: accepted, Rust refused with ${digest}`);
      assert.equal(createHash('sha256').update(out, 'utf8').digest('hex'), digest, where);
      // The length is in bytes of UTF-8, as the library wrote them.
      state = Buffer.from(out, 'utf8').subarray(9, 9 + Number(stateLength)).toString('utf8');
      keyed += keyId === undefined ? 0 : 1;
      migrated += command.includes('"migrate_policy"') ? 1 : 0;
      steps += 1;
    });
  }
  assert.ok(steps > 600 && refusals > 50, `${steps} steps, ${refusals} refusals`);
  assert.ok(keyed > 100 && migrated >= 2, `${keyed} keyed steps, ${migrated} migrations`);
});
