// The package's API: objects in, objects out, over the WebAssembly module's
// JSON-text functions. No rule lives here; every decision is made in the Rust
// core. Errors thrown by the module are `Error`s with `code` and `number`
// (and `blockers` when the code is `blocked`).
import * as wasm from './wasm/offboard.js';

const text = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const time = (value) => (value instanceof Date ? value.toISOString() : String(value));
// A policy is a policy object (or its JSON), or the name of a preset.
const policyText = (policy) =>
  typeof policy === 'string' && !policy.trimStart().startsWith('{') ? wasm.preset(policy) : text(policy);

/** Every blocker, the warnings and the consequences of closing. */
export function assess(snapshot, actor, policy, now) {
  return JSON.parse(wasm.assess(text(snapshot), text(actor), policyText(policy), time(now)));
}

/** A new, idle closure for `account`, under the host's id `closure`. */
export function createClosure(closure, account) {
  return JSON.parse(wasm.newState(closure, account));
}

/** Applies one command; returns `{ state, effects, audit, notices }`.
 * `auditKey` (`{ id, secret }`, the secret in hex, at least 32 bytes) keys the
 * audit chain; pass the same key at every step of a keyed closure. */
export function step(state, command, { actor, policy, snapshot, now, auditKey }) {
  const snapshotText = snapshot == null ? undefined : text(snapshot);
  return JSON.parse(wasm.step(text(state), text(command), text(actor), policyText(policy), snapshotText, time(now),
    auditKey?.id, auditKey?.secret));
}

/** When to tick next (an RFC 3339 string), or null. */
export function nextTick(state, policy) {
  return JSON.parse(wasm.nextTick(text(state), policyText(policy)));
}

/** Checks an audit log's hash chain, optionally against the state's head,
 * and with its `auditKey` (`{ id, secret }`) when the chain is keyed. */
export function verifyAudit(events, head, auditKey) {
  return JSON.parse(wasm.verifyAudit(text(events), head ?? undefined, auditKey?.id, auditKey?.secret));
}

/** A preset policy: `cascade` or `prerequisite`. */
export function preset(name) {
  return JSON.parse(wasm.preset(name));
}

/** The closure state diagram, in Mermaid. */
export function diagram() {
  return wasm.diagram();
}

/** Lower-case hex SHA-256 of a text (the digest of a confirmation token). */
export function digest(value) {
  return wasm.digest(value);
}

/** The same functions with JSON text in and out, for callers that already hold text. */
export const json = Object.freeze({
  assess: wasm.assess,
  newState: wasm.newState,
  step: wasm.step,
  nextTick: wasm.nextTick,
  verifyAudit: wasm.verifyAudit,
  preset: wasm.preset,
});
