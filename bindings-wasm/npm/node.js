// Node entry point: loads the WebAssembly module synchronously from the package.
import { readFileSync } from 'node:fs';
import { initSync } from './wasm/offboard.js';

initSync({ module: readFileSync(new URL('./wasm/offboard_bg.wasm', import.meta.url)) });

export * from './api.js';
