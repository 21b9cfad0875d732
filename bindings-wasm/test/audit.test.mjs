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
