// Browser and bundler entry point (Vite, webpack, esbuild, Rollup), with no
// top-level await: call `await init()` once, then use the functions. By
// default `init()` instantiates the module this package carries inline (no
// .wasm file for a dev server or bundler to locate); pass a URL, Response,
// bytes or WebAssembly.Module to load it from elsewhere instead.
import initModule, * as glue from './wasm/offboard.js';
import { markReady } from './state.js';

let loading = null;

/** Instantiates the WebAssembly module once; later calls return the same
 * promise. A failed attempt (a wrong URL, say) is forgotten, so the next call
 * tries again. */
export function init(input) {
  loading ??= (async () => {
    const module_or_path = input ?? (await import('./wasm/inline.js')).bytes();
    await initModule({ module_or_path });
    markReady(glue);
  })().catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

export default init;
export * from './api.js';
