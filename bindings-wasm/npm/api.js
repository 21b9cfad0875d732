// The package's API: objects in, objects out, over the WebAssembly module's
// JSON-text functions. No rule lives here; every decision is made in the Rust
// core. Errors thrown by the module are `Error`s with `code` and `number`
// (and `blockers` when the code is `blocked`).
import { needReady, glue } from './state.js';

// The functions of the module the entry point instantiated (the browser's
// size-optimised build or Node's speed-optimised one: each has its own glue).
const wasm = new Proxy({}, { get: (_, name) => glue()?.[name] });

const text = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const time = (value) => (value instanceof Date ? value.toISOString() : String(value));
// A policy is a policy object (or its JSON), or the name of a preset.
const policyText = (policy) =>
  typeof policy === 'string' && !policy.trimStart().startsWith('{') ? wasm.preset(policy) : text(policy);

/** Every blocker, the warnings and the consequences of closing. */
export function assess(snapshot, actor, policy, now) {
  needReady();
  return JSON.parse(wasm.assess(text(snapshot), text(actor), policyText(policy), time(now)));
}

/** A new, idle closure for `account`, under the host's id `closure`. */
export function createClosure(closure, account) {
  needReady();
  return JSON.parse(wasm.newState(closure, account));
}

/** Applies one command; returns `{ state, effects, audit, notices }`.
 * `auditKey` (`{ id, secret }`, the secret in hex, at least 32 bytes) keys the
 * audit chain; pass the same key at every step of a keyed closure. */
export function step(state, command, { actor, policy, snapshot, now, auditKey }) {
  needReady();
  const snapshotText = snapshot == null ? undefined : text(snapshot);
  return JSON.parse(wasm.step(text(state), text(command), text(actor), policyText(policy), snapshotText, time(now),
    auditKey?.id, auditKey?.secret));
}

/** When to tick next (an RFC 3339 string), or null. */
export function nextTick(state, policy) {
  needReady();
  return JSON.parse(wasm.nextTick(text(state), policyText(policy)));
}

/** Checks an audit log's hash chain, optionally against the state's head,
 * and with its `auditKey` (`{ id, secret }`) when the chain is keyed. */
export function verifyAudit(events, head, auditKey) {
  needReady();
  return JSON.parse(wasm.verifyAudit(text(events), head ?? undefined, auditKey?.id, auditKey?.secret));
}

/** A preset policy: `cascade` or `prerequisite`. */
export function preset(name) {
  needReady();
  return JSON.parse(wasm.preset(name));
}

/** The closure state diagram, in Mermaid. */
export function diagram() {
  needReady();
  return wasm.diagram();
}

/** Lower-case hex SHA-256 of a text (the digest of a confirmation token). */
export function digest(value) {
  needReady();
  return wasm.digest(value);
}

const guarded = (name) => (...args) => {
  needReady();
  return wasm[name](...args);
};

/** The same functions with JSON text in and out, for callers that already hold text. */
export const json = Object.freeze({
  assess: guarded('assess'),
  newState: guarded('newState'),
  step: guarded('step'),
  nextTick: guarded('nextTick'),
  verifyAudit: guarded('verifyAudit'),
  preset: guarded('preset'),
});

/**
 * One closure as a host keeps it: the state and its audit log together,
 * under one policy (and audit key). The state is held inside the module,
 * typed, so `step` parses only the command, actor and snapshot and answers
 * what changed; it appends the audit events; a refused command changes
 * neither. `free()` releases the module's memory at once.
 * `toJSON()` is what to store; `Closure.restore` reads it back.
 */
export class Closure {
  #handle;
  #audit;
  #policy;
  #auditKey;
  #phase;

  /** A new closure for `account` under the host's id `id`. */
  constructor(id, account, { policy, auditKey } = {}) {
    if (policy == null) throw new TypeError('a Closure needs a policy (a preset name or a policy object)');
    needReady();
    this.#policy = typeof policy === 'string' && !policy.trimStart().startsWith('{') ? preset(policy) : policy;
    this.#auditKey = auditKey;
    this.#open(wasm.newState(id, account), []);
  }

  // The state lives in the module (a ClosureHandle): typed, under the parsed
  // policy, so a step parses only its command, actor and snapshot.
  #open(stateText, audit) {
    const handle = new wasm.ClosureHandle(stateText, text(this.#policy), this.#auditKey?.id, this.#auditKey?.secret);
    this.#handle?.free();
    this.#handle = handle;
    this.#audit = audit;
    this.#phase = handle.phase();
  }

  /** A closure stored with `toJSON()`, under its policy (and audit key).
   * The state is read by the core and the log is checked against the
   * state's head: a stored closure that was cut short or edited throws an
   * `Error` with a code (`schema_mismatch`, `invalid_value`, ...). */
  static restore(stored, { policy, auditKey } = {}) {
    const parsed = typeof stored === 'string' ? JSON.parse(stored) : stored;
    const { state, audit } = parsed ?? {};
    if (state === null || typeof state !== 'object' || !Array.isArray(audit)) {
      throw Object.assign(new Error('a stored closure is { state, audit }, as Closure#toJSON() gives it'), {
        code: 'schema_mismatch',
        number: 2,
      });
    }
    const closure = new Closure(state.closure, state.account, { policy, auditKey });
    // The core reads the state (and refuses one it cannot use)...
    closure.#open(JSON.stringify(state), []);
    // ... and the log must end where the state says it does.
    const verified = verifyAudit(audit, state.audit.head, auditKey);
    if (!verified.valid) {
      throw Object.assign(new Error(`the stored audit log does not match the state: ${verified.problem?.problem ?? 'invalid'}`), {
        code: 'invalid_value',
        number: 6,
      });
    }
    closure.#audit = structuredClone(audit);
    return closure;
  }

  /** The current state (a copy: changing it changes nothing inside). */
  get state() {
    return JSON.parse(this.#handle.state());
  }

  /** The phase's name, e.g. `awaiting_confirmation` or `purged`. */
  get phase() {
    return this.#phase;
  }

  /** Every audit event so far, oldest first (a copy). */
  get audit() {
    return structuredClone(this.#audit);
  }

  /** The policy the closure runs under. */
  get policy() {
    return this.#policy;
  }

  /** Applies `command` as `actor` at `now`; returns what changed: `{ version,
   * phase, effects, audit, notices, next_tick }` (the state stays inside;
   * read `state` to store it). Throws the library's error on a refusal, and
   * then nothing changed. */
  step(command, { actor, snapshot, now }) {
    needReady();
    const snapshotText = snapshot == null ? undefined : text(snapshot);
    const answer = this.#handle.step(text(command), text(actor), snapshotText, time(now));
    const change = JSON.parse(answer);
    // Kept apart from what the caller gets, so changing the answer changes nothing inside.
    this.#audit.push(...JSON.parse(answer).audit);
    this.#phase = change.phase;
    return change;
  }

  /** When to tick next (an RFC 3339 string), or null. */
  nextTick() {
    return JSON.parse(this.#handle.nextTick());
  }

  /** Verifies the log against the state's head (and key). */
  verify() {
    return verifyAudit(this.#audit, this.#handle.auditHead(), this.#auditKey);
  }

  /** What to store: `{ state, audit }` (a copy). */
  toJSON() {
    return { state: this.state, audit: structuredClone(this.#audit) };
  }

  /** Releases the module's memory for this closure now (otherwise it goes
   * when the object is collected). The closure is unusable afterwards. */
  free() {
    this.#handle?.free();
    this.#handle = undefined;
  }
}
