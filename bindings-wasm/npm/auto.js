// The convenient entry point: initialised on import, with top-level await
// (ES2022 targets and Node). `import { assess } from 'offboard/auto'`.
import { init } from './index.js';

await init();

export * from './index.js';
export { default } from './index.js';
