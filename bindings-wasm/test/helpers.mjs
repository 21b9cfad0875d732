// Shared paths and fixtures for the package tests.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const read = (relative) => readFileSync(path.join(root, relative), 'utf8');
export const sample = (name) => JSON.parse(read(`examples/data/${name}.json`));
export const expectedBlockers = JSON.parse(read('tests/fixtures/sample-blockers.json')).samples;
export const jsonFiles = (relative) =>
  readdirSync(path.join(root, relative)).filter((f) => f.endsWith('.json')).sort();

/** The account holder, re-authenticated at `at`. */
export const holder = (snapshot, at = snapshot.taken_at) => ({
  id: snapshot.account.id,
  role: 'user',
  reauthenticated_at: at,
});
export const system = { id: 'worker', role: 'system' };
export const support = { id: 'ops_1', role: 'support_operator', reauthenticated_at: '2026-11-23T10:00:00Z' };
