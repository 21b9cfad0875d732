// Browser and bundler entry point: fetches and instantiates the module once.
import init from './wasm/offboard.js';

await init({ module_or_path: new URL('./wasm/offboard_bg.wasm', import.meta.url) });

export * from './api.js';
