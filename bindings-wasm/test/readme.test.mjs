// The README's JavaScript tour runs as written (with `offboard` resolved to
// the built package) and prints what its comments say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { read, root } from './helpers.mjs';

test('the README JavaScript tour runs', () => {
  const block = read('README.md').match(/```js\n([\s\S]*?)```/);
  assert.ok(block, 'README.md has a ```js block');
  const pkg = pathToFileURL(path.join(root, 'bindings-wasm', 'npm', 'node.js')).href;
  const source = block[1].replace("from 'offboard'", `from ${JSON.stringify(pkg)}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'offboard-readme-'));
  try {
    writeFileSync(path.join(dir, 'tour.mjs'), source);
    const out = execFileSync('node', [path.join(dir, 'tour.mjs')], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    assert.equal(out[0], 'subscription_active: Cancel the Team (annual) subscription of Acme Robotics.');
    assert.equal(out.filter((line) => line.includes(': ')).length, 5, out.join('\n'));
    assert.equal(out.at(-1), 'purged true');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
