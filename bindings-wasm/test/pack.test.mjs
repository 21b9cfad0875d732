// `npm pack` makes a tarball that a fresh project installs and imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { read } from './helpers.mjs';

const pkgDir = fileURLToPath(new URL('../npm/', import.meta.url));

test('the packed tarball installs into a fresh project and works', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'offboard-pack-'));
  try {
    const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' });
    const [{ filename, files }] = JSON.parse(packed);
    const names = files.map((f) => f.path);
    for (const needed of ['node.js', 'index.js', 'auto.js', 'api.js', 'state.js', 'index.d.ts', 'auto.d.ts', 'types.d.ts', 'wasm/offboard_bg.wasm', 'wasm/inline.js', 'schemas/snapshot.schema.json', 'LICENSE-MIT', 'LICENSE-APACHE', 'README.md']) {
      assert.ok(names.includes(needed), `${needed} is not in the tarball`);
    }
    const project = path.join(work, 'app');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(work, filename)], { cwd: project, encoding: 'utf8' });
    assert.ok(readdirSync(path.join(project, 'node_modules')).includes('offboard'));
    writeFileSync(path.join(project, 'snapshot.json'), read('examples/data/contract.json'));
    const script = `
      import init, { assess, Closure } from 'offboard';
      import * as auto from 'offboard/auto';
      import { readFileSync } from 'node:fs';
      await init();
      if (auto.assess !== assess || typeof Closure !== 'function') throw new Error('offboard/auto is not the same API');
      const snapshot = JSON.parse(readFileSync('snapshot.json', 'utf8'));
      const actor = { id: snapshot.account.id, role: 'user', reauthenticated_at: snapshot.taken_at };
      const report = assess(snapshot, actor, 'prerequisite', snapshot.taken_at);
      console.log(JSON.stringify(report.blockers.map((b) => b.code)));
      const schema = JSON.parse(readFileSync(new URL(import.meta.resolve('offboard/schemas/snapshot.schema.json')), 'utf8'));
      console.log(schema.title);
    `;
    writeFileSync(path.join(project, 'main.mjs'), script);
    const out = execFileSync('node', ['main.mjs'], { cwd: project, encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(JSON.parse(out[0]), ['contract_account']);
    assert.equal(out[1], 'Snapshot');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
