// `offboard/auto`: the same API, initialised on import (top-level await).
export * from './index.js';
export { default } from './index.js';
