// Node entry point: instantiates the module synchronously from the package,
// so the functions work on import; `init()` is there for code shared with
// the browser, and resolves at once.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/offboard.js';
import { markReady } from './state.js';

initSync({ module: readFileSync(new URL('./wasm/offboard_bg.wasm', import.meta.url)) });
markReady();

/** The module is ready on import in Node; kept for code shared with the browser. */
export function init() {
  return Promise.resolve();
}

export default init;
export * from './api.js';
