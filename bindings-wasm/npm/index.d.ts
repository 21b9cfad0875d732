// The package's functions. The types they use are generated from the Rust
// types into ./types.d.ts.
import type {
  Actor,
  Assessment,
  AuditEvent,
  ClosurePolicy,
  ClosureState,
  Command,
  ErrorReport,
  Snapshot,
  Step,
  Verification,
} from './types.js';

export type * from './types.js';

/** A preset policy's name. */
export type PresetName = 'cascade' | 'prerequisite';

/** A time: a `Date` or an RFC 3339 string. */
export type Time = Date | string;

/** The error every function throws on input it cannot use: an `Error` with
 * the core's stable `code` and `number` (and `blockers` for `blocked`). */
export interface OffboardError extends Error {
  code: ErrorReport['code'];
  number: ErrorReport['number'];
  blockers?: ErrorReport['blockers'];
}

/** Every blocker, the warnings and the consequences of closing. */
export function assess(snapshot: Snapshot | string, actor: Actor | string, policy: ClosurePolicy | PresetName | string, now: Time): Assessment;

/** A new, idle closure for `account`, under the host's id `closure`. */
export function createClosure(closure: string, account: string): ClosureState;

/** A host's key for a keyed audit chain: an id, and a secret of at least 32 bytes in hex. */
export interface AuditKey {
  id: string;
  secret: string;
}

/** Applies one command. With `auditKey`, the audit chain is keyed (HMAC-SHA-256). */
export function step(
  state: ClosureState | string,
  command: Command | string,
  context: { actor: Actor | string; policy: ClosurePolicy | PresetName | string; snapshot?: Snapshot | string | null; now: Time; auditKey?: AuditKey },
): Step;

/** When to tick next (an RFC 3339 string), or null. */
export function nextTick(state: ClosureState | string, policy: ClosurePolicy | PresetName | string): string | null;

/** Checks an audit log's hash chain, optionally against the state's head, with its key when keyed. */
export function verifyAudit(events: AuditEvent[] | string, head?: string | null, auditKey?: AuditKey): Verification;

/** A preset policy. */
export function preset(name: PresetName): ClosurePolicy;

/** The closure state diagram, in Mermaid. */
export function diagram(): string;

/** Lower-case hex SHA-256 of a text (the digest of a confirmation token). */
export function digest(value: string): string;

/** The same functions with JSON text in and out. */
export const json: {
  assess(snapshot: string, actor: string, policy: string, now: string): string;
  newState(closure: string, account: string): string;
  step(state: string, command: string, actor: string, policy: string, snapshot: string | undefined, now: string, keyId?: string, keySecretHex?: string): string;
  nextTick(state: string, policy: string): string;
  verifyAudit(events: string, head?: string, keyId?: string, keySecretHex?: string): string;
  preset(name: string): string;
};
