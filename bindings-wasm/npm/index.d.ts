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
  Change,
  Verification,
} from './types.js';

export type * from './types.js';

/** A preset policy's name. */
export type PresetName = 'cascade' | 'prerequisite';

/** A policy document as JSON text (it starts with `{`). */
export type PolicyJson = `{${string}`;

/** A policy: the document, its JSON text, or a preset's name. A misspelt
 * preset name is a type error. */
export type PolicyInput = ClosurePolicy | PresetName | PolicyJson;

/** Where `init()` may load the WebAssembly module from; by default, the copy
 * this package carries inline. */
export type InitInput = URL | string | Request | Response | BufferSource | WebAssembly.Module;

/** Instantiates the WebAssembly module once (later calls return the same
 * promise). Call it before any other function in browsers and bundlers; in
 * Node the module is ready on import and this resolves at once. */
export function init(input?: InitInput | Promise<InitInput>): Promise<void>;
export default init;

/** A time: a `Date` or an RFC 3339 string. */
export type Time = Date | string;

/** The error every function throws on input it cannot use: an `Error` with
 * the core's stable `code` and `number` (and `blockers` for `blocked`). */
export interface OffboardError extends Error {
  /** The core's code, or `not_initialised` when a function ran before `init()`. */
  code: ErrorReport['code'] | 'not_initialised';
  number: ErrorReport['number'];
  blockers?: ErrorReport['blockers'];
}

/** Every blocker, the warnings and the consequences of closing. */
export function assess(snapshot: Snapshot | string, actor: Actor | string, policy: PolicyInput, now: Time): Assessment;

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
  context: { actor: Actor | string; policy: PolicyInput; snapshot?: Snapshot | string | null; now: Time; auditKey?: AuditKey },
): Step;

/** When to tick next (an RFC 3339 string), or null. */
export function nextTick(state: ClosureState | string, policy: PolicyInput): string | null;

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

/** What `Closure#toJSON()` gives, to store and hand to `Closure.restore`. */
export interface StoredClosure {
  state: ClosureState;
  audit: AuditEvent[];
}

/** One closure as a host keeps it: the state and its audit log together,
 * under one policy (and audit key). The state is held in the module, typed,
 * so a step parses only its inputs. A refused command changes neither. */
export class Closure {
  /** A new closure for `account` under the host's id `id`. */
  constructor(id: string, account: string, options: { policy: PolicyInput; auditKey?: AuditKey });
  /** A closure stored with `toJSON()`, under its policy (and audit key).
   * The core reads the state and the log is checked against its head: a
   * cut or edited closure throws an `OffboardError`. */
  static restore(stored: StoredClosure | string, options: { policy: PolicyInput; auditKey?: AuditKey }): Closure;
  /** The current state (a copy: changing it changes nothing inside). */
  readonly state: ClosureState;
  /** The phase's name, e.g. `awaiting_confirmation` or `purged`. */
  readonly phase: ClosureState['phase']['phase'];
  /** Every audit event so far, oldest first (a copy). */
  readonly audit: AuditEvent[];
  /** The policy the closure runs under. */
  readonly policy: ClosurePolicy | PolicyJson;
  /** Applies a command; keeps the new state (inside the module, typed) and
   * appends the audit events. Answers what changed: version, phase,
   * effects, audit events, notices and the next tick. */
  step(command: Command | string, context: { actor: Actor | string; snapshot?: Snapshot | string | null; now: Time }): Change;
  /** When to tick next (an RFC 3339 string), or null. */
  nextTick(): string | null;
  /** Verifies the log against the state's head (and key). */
  verify(): Verification;
  /** What to store (a copy). */
  toJSON(): StoredClosure;
  /** Releases the module's memory for this closure now (otherwise it goes
   * when the object is collected); the closure is unusable afterwards. */
  free(): void;
}
