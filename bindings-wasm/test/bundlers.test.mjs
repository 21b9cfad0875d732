// The npm tarball in fresh bundler projects, as a new user would use it: a
// Vite dev server and a Vite production build for an ES2020 target (no
// top-level await allowed), and a webpack production build, each loaded in
// Chromium with no console error, no failed request and the package's
// answers on the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { read } from './helpers.mjs';
import { launchChromium } from './browser.mjs';

// The two majors in use: Vite 7 pre-bundles dependencies with esbuild (where
// a .wasm beside the package's JS is not found), Vite 8 with Rolldown.
const WEBPACK_VERSION = '5.113.0';
const WEBPACK_CLI_VERSION = '7.3.1';
const VITE_VERSIONS = (process.env.OFFBOARD_VITE_VERSIONS ?? '7.3.8 8.4.0').split(' ');
const pkgDir = fileURLToPath(new URL('../npm/', import.meta.url));

// The page a user would write: init once, then assess and run a closure.
const MAIN = `
import init, { assess, Closure, digest } from 'offboard';
import snapshot from './snapshot.json';

const out = document.querySelector('#out');
let early = 'none';
try {
  assess(snapshot, {}, 'cascade', snapshot.taken_at);
} catch (error) {
  early = error.code;
}
// A failed first attempt (here: the module's source never arrives) is
// forgotten, and init() tries again.
const retried = init(Promise.reject(new Error('offline'))).then(() => 'loaded', (error) => error.message);
retried.then((firstTry) => init().then(() => firstTry)).then((firstTry) => {
  const holder = { id: snapshot.account.id, role: 'user', reauthenticated_at: snapshot.taken_at };
  const report = assess(snapshot, holder, 'prerequisite', snapshot.taken_at);
  const closure = new Closure('cl_vite', snapshot.account.id, { policy: 'cascade' });
  closure.step({ type: 'request' }, { actor: holder, snapshot, now: snapshot.taken_at });
  const step = closure.step({ type: 'confirm', value: snapshot.account.email }, { actor: holder, snapshot, now: snapshot.taken_at });
  out.textContent = JSON.stringify({
    early,
    firstTry,
    blockers: report.blockers.map((b) => b.code),
    phase: closure.phase,
    effects: step.effects.length,
    events: closure.audit.length,
    valid: closure.verify().valid,
    digest: digest('abc'),
  });
  document.body.dataset.done = 'yes';
});
`;

const CONFIG = `
export default {
  build: { target: 'es2020' },
  server: { host: '127.0.0.1', strictPort: true },
  preview: { host: '127.0.0.1', strictPort: true },
  logLevel: 'warn',
};
`;

/** A port free on 127.0.0.1 right now (the system picks it). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `vite <args>` in `project`; resolves once it answers on `port`. */
async function startVite(project, args, port) {
  const child = spawn(path.join(project, 'node_modules', '.bin', 'vite'), [...args, '--port', String(port)], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const origin = `http://127.0.0.1:${port}`;
  // Bounded: 240 tries, 250 ms apart (a minute).
  for (let i = 0; i < 240; i++) {
    if (child.exitCode != null) throw new Error(`vite ${args.join(' ')} exited: ${output}`);
    try {
      const res = await fetch(origin);
      if (res.ok) return { child, origin, output: () => output };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`vite ${args.join(' ')} did not answer on ${origin}: ${output}`);
}

async function check(browser, origin, label) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  page.on('response', (res) => res.status() >= 400 && problems.push(`${res.status()} ${res.url()}`));
  await page.goto(`${origin}/`);
  try {
    await page.waitForSelector('body[data-done="yes"]', { timeout: 30000 }).catch((error) => {
      assert.fail(`${label}: the page never finished (${error.message}); problems: ${JSON.stringify(problems)}`);
    });
    const result = JSON.parse(await page.textContent('#out'));
    assert.equal(result.early, 'not_initialised', `${label}: a call before init() says so`);
    assert.equal(result.firstTry, 'offline', `${label}: the failed init() was retried`);
    assert.deepEqual(result.blockers, ['subscription_active', 'add_on_active', 'subscription_active', 'payment_method_on_file', 'invoice_unpaid'], label);
    assert.equal(result.phase, 'executing', label);
    assert.ok(result.effects > 0, label);
    assert.equal(result.events, 3, label);
    assert.equal(result.valid, true, label);
    assert.equal(result.digest, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', label);
    assert.deepEqual(problems, [], `${label}: console errors or failed requests`);
  } finally {
    await page.close();
  }
}

for (const version of VITE_VERSIONS) test(`the tarball works in a fresh Vite ${version} project: dev server and an ES2020 production build, in Chromium`, { timeout: 600000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'offboard-vite-'));
  const children = [];
  let browser;
  try {
    const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(packed);
    const project = path.join(work, 'app');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, filename), `vite@${version}`], {
      cwd: project,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    writeFileSync(path.join(project, 'index.html'), '<!doctype html>\n<html><head><link rel="icon" href="data:,"></head><body><pre id="out"></pre><script type="module" src="/main.js"></script></body></html>\n');
    writeFileSync(path.join(project, 'main.js'), MAIN);
    writeFileSync(path.join(project, 'vite.config.js'), CONFIG);
    writeFileSync(path.join(project, 'snapshot.json'), read('examples/data/team-owner.json'));
    browser = await launchChromium();

    const dev = await startVite(project, [], await freePort());
    children.push(dev.child);
    await check(browser, dev.origin, `vite ${version} dev`);
    dev.child.kill('SIGTERM');

    execFileSync(path.join(project, 'node_modules', '.bin', 'vite'), ['build'], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const preview = await startVite(project, ['preview'], await freePort());
    children.push(preview.child);
    await check(browser, preview.origin, `vite ${version} build`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  }
});

/** Serves `dir` on 127.0.0.1 (a static host for a built bundle). */
async function serveDir(dir) {
  const { createServer: http } = await import('node:http');
  const { readFile } = await import('node:fs/promises');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = http(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = path.normalize(path.join(dir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)));
    if (!file.startsWith(dir)) return res.writeHead(403).end();
    try {
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

test(`the tarball works in a fresh webpack ${WEBPACK_VERSION} project: a production build, in Chromium`, { timeout: 600000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'offboard-webpack-'));
  let browser;
  let server;
  try {
    const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(packed);
    const project = path.join(work, 'app');
    mkdirSync(path.join(project, 'src'), { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, filename), `webpack@${WEBPACK_VERSION}`, `webpack-cli@${WEBPACK_CLI_VERSION}`], {
      cwd: project,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    writeFileSync(path.join(project, 'src', 'index.js'), MAIN.replace("import snapshot from './snapshot.json';", "import snapshot from './snapshot.json' with { type: 'json' };"));
    writeFileSync(path.join(project, 'src', 'snapshot.json'), read('examples/data/team-owner.json'));
    writeFileSync(path.join(project, 'webpack.config.js'), `
      export default {
        mode: 'production',
        entry: './src/index.js',
        output: { path: new URL('./dist', import.meta.url).pathname, filename: 'main.js', clean: true },
        target: ['web', 'es2020'],
      };
    `);
    execFileSync(path.join(project, 'node_modules', '.bin', 'webpack'), [], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(path.join(project, 'dist', 'index.html'), '<!doctype html>\n<html><head><link rel="icon" href="data:,"></head><body><pre id="out"></pre><script src="/main.js"></script></body></html>\n');
    server = await serveDir(path.join(project, 'dist'));
    browser = await launchChromium();
    await check(browser, server.origin, `webpack ${WEBPACK_VERSION}`);
  } finally {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
});
