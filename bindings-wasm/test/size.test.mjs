// The two builds of the module: the browser's is small and may not grow
// unnoticed; Node's is the same API built for speed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const pkg = new URL('../npm/', import.meta.url);
const browser = readFileSync(new URL('wasm/offboard_bg.wasm', pkg));
const node = readFileSync(new URL('wasm/node/offboard_bg.wasm', pkg));

// 286 025 B at the commit that set it (2026-12-04), with 3 % headroom. The
// issue's goal is 230 KB; BENCHMARKS.md ("WebAssembly size") says what stands
// in the way. Lower it when the module shrinks; never raise it unexplained.
const LIMIT = 295_000;

test(`the browser module gzips to at most ${LIMIT} bytes`, () => {
  const gzipped = gzipSync(browser, { level: 9 }).length;
  assert.ok(gzipped <= LIMIT, `offboard_bg.wasm is ${gzipped} bytes gzipped, over the guard of ${LIMIT}`);
});

test('the Node build is another build of the same module: the same imports and exports', () => {
  assert.notDeepEqual(node, browser);
  const names = (bytes) => {
    const module = new WebAssembly.Module(bytes);
    return {
      exports: WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort(),
      imports: WebAssembly.Module.imports(module).map((e) => `${e.kind} ${e.module}.${e.name.replace(/_[0-9a-f]{16}$/, '')}`),
    };
  };
  const [b, n] = [names(browser), names(node)];
  assert.deepEqual(n.exports, b.exports);
  // The size build may import a helper the speed build inlines, never the reverse.
  for (const name of n.imports) assert.ok(b.imports.includes(name), `the Node build imports ${name}`);
});

test("the package's Node entry runs the Node build", async () => {
  const entry = readFileSync(new URL('node.js', pkg), 'utf8');
  assert.match(entry, /wasm\/node\/offboard_bg\.wasm/);
  const offboard = await import(new URL('node.js', pkg));
  assert.equal(offboard.digest('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
