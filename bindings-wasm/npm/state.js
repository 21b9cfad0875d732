// Whether the WebAssembly module is instantiated; the entry points set it.
// The API refuses to run before, with an Error that says what to do.
let ready = false;
let bound = null;

/** Marks the module instantiated (called by the entry points), with the
 * glue module whose functions the API calls. */
export function markReady(module) {
  bound = module;
  ready = true;
}

/** The instantiated module's glue (after `needReady`). */
export function glue() {
  return bound;
}

/** Throws the package's `not_initialised` error unless the module is ready. */
export function needReady() {
  if (!ready) {
    const error = new Error("offboard is not initialised: `await init()` first (or import from 'offboard/auto')");
    error.code = 'not_initialised';
    error.number = 0;
    throw error;
  }
}
