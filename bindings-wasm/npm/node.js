// Node entry point: instantiates the module synchronously from the package,
// so the functions work on import; `init()` is there for code shared with
// the browser, and resolves at once.
import { readFileSync } from 'node:fs';
import * as glue from './wasm/node/offboard.js';
import { markReady } from './state.js';

// Node gets the speed-optimised build of the same crate (wasm/node/), with
// its own glue; the browser entry keeps the size-optimised one.
glue.initSync({ module: readFileSync(new URL('./wasm/node/offboard_bg.wasm', import.meta.url)) });
markReady(glue);

/** The module is ready on import in Node; kept for code shared with the browser. */
export function init() {
  return Promise.resolve();
}

export default init;
export * from './api.js';
