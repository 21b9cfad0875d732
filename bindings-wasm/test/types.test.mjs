// The generated TypeScript types accept the sample documents and reject a
// wrong field: tsc checks a file that assigns each sample to its type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonFiles, read } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = path.join(here, '..', 'node_modules', '.bin', 'tsc');
const pkg = path.join(here, '..', 'npm', 'index.js');

function check(source) {
  const dir = mkdtempSync(path.join(tmpdir(), 'offboard-types-'));
  try {
    writeFileSync(path.join(dir, 'check.ts'), source);
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: false },
        files: ['check.ts'],
      }),
    );
    execFileSync(tsc, ['-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (err) {
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const header = `import type { Snapshot, ClosurePolicy, Assessment, Step } from ${JSON.stringify(pkg)};\n`;

test('the types accept every sample snapshot, both presets and real outputs', async () => {
  const offboard = await import('../npm/node.js');
  const lines = [header];
  for (const file of jsonFiles('examples/data')) {
    lines.push(`export const ${file.replace(/\W/g, '_')}: Snapshot = ${read(`examples/data/${file}`)};`);
  }
  for (const name of ['cascade', 'prerequisite']) {
    lines.push(`export const ${name}: ClosurePolicy = ${JSON.stringify(offboard.preset(name))};`);
  }
  const snapshot = JSON.parse(read('examples/data/team-owner.json'));
  const actor = { id: 'u_omar', role: 'user', reauthenticated_at: snapshot.taken_at };
  lines.push(`export const report: Assessment = ${JSON.stringify(offboard.assess(snapshot, actor, 'cascade', snapshot.taken_at))};`);
  const state = offboard.createClosure('cl', 'u_omar');
  const step = offboard.step(state, { type: 'request' }, { actor, policy: 'cascade', snapshot, now: snapshot.taken_at });
  lines.push(`export const step: Step = ${JSON.stringify(step)};`);
  const result = check(lines.join('\n'));
  assert.ok(result.ok, result.output);
});

test('the types reject a wrong field, a wrong enum value and a missing field', () => {
  const good = JSON.parse(read('examples/data/lone-user.json'));
  const cases = {
    unknownField: { ...good, nickname: 'ace' },
    wrongStatus: { ...good, account: { ...good.account, status: 'zombie' } },
    missingAccount: (({ account, ...rest }) => rest)(good),
  };
  for (const [name, value] of Object.entries(cases)) {
    const result = check(`${header}export const x: Snapshot = ${JSON.stringify(value)};\n`);
    assert.equal(result.ok, false, `${name} was accepted`);
    assert.match(result.output, /error TS/, name);
  }
});

test('errors and verifications are typed from the generated declarations', async () => {
  const offboard = await import('../npm/node.js');
  const verification = offboard.verifyAudit([]);
  let thrown;
  try {
    offboard.preset('lenient');
  } catch (err) {
    thrown = { code: err.code, number: err.number, message: err.message };
  }
  const source = `import type { Verification, ErrorReport, OffboardError } from ${JSON.stringify(pkg)};
export const v: Verification = ${JSON.stringify(verification)};
export const e: ErrorReport = ${JSON.stringify(thrown)};
export function codeOf(err: OffboardError): string { return err.code; }
// @ts-expect-error: not an error code
export const wrong: ErrorReport = { code: 'no_such_code', number: 1, message: 'x' };
`;
  const result = check(source);
  assert.ok(result.ok, result.output);
});

test('a misspelt preset is a type error; presets, policy objects and policy JSON text type-check', () => {
  const api = `import init, { assess, step, nextTick, Closure, type Snapshot, type Actor, type ClosurePolicy } from ${JSON.stringify(pkg)};
declare const snapshot: Snapshot;
declare const actor: Actor;
declare const policy: ClosurePolicy;
`;
  const good = check(`${api}
void init();
assess(snapshot, actor, 'cascade', new Date());
assess(snapshot, actor, policy, '2026-11-23T10:00:00Z');
assess(snapshot, actor, '{"schema_version": 1}', new Date());
const closure = new Closure('cl_1', 'u_1', { policy: 'prerequisite' });
const phase: string = closure.phase;
const change = closure.step({ type: 'request' }, { actor, snapshot, now: new Date() });
const version: number = change.version;
const changed: string = change.phase;
nextTick(closure.state, 'cascade');
closure.free();
`);
  assert.ok(good.ok, good.output);
  for (const [name, line] of Object.entries({
    assess: `assess(snapshot, actor, 'cascdae', new Date());`,
    nextTick: `nextTick('{}', 'strict');`,
    closure: `new Closure('cl_1', 'u_1', { policy: 'lenient' });`,
    step: `step('{}', { type: 'tick' }, { actor, policy: 'casade', now: new Date() });`,
  })) {
    const result = check(`${api}${line}\n`);
    assert.equal(result.ok, false, `${name}: a misspelt preset type-checked`);
    assert.match(result.output, /error TS(2345|2322|2820)/, `${name}: ${result.output}`);
  }
});
