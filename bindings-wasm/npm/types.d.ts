// Generated from offboard's JSON Schemas (themselves generated from the Rust types).
// Do not edit: run ./scripts/regenerate.sh.

/**
 * Everything the host knows about one account at one instant.
 *
 * Entities owned by a tenant name it in their `tenant` field; entities owned
 * by the account directly leave it out. Every tenant listed must have the
 * account among its members.
 */
export type Snapshot = {
  /**
   * The account.
   */
  account: Account;
  /**
   * The account's own balance with the platform, if it has one.
   */
  balance?: (Balance | null);
  /**
   * Domains of the account and its tenants.
   */
  domains?: Array<Domain>;
  /**
   * Invoices of the account and its tenants.
   */
  invoices?: Array<Invoice>;
  /**
   * Legal holds on the account's records.
   */
  legal_holds?: Array<LegalHold>;
  /**
   * Payment methods of the account and its tenants.
   */
  payment_methods?: Array<PaymentMethod>;
  /**
   * Schema version of this document; must be [`SNAPSHOT_VERSION`].
   */
  schema_version: number;
  /**
   * Subscriptions and add-ons of the account and its tenants.
   */
  subscriptions?: Array<Subscription>;
  /**
   * When the host took the snapshot.
   */
  taken_at: string;
  /**
   * Tenants the account is a member of.
   */
  tenants?: Array<Tenant>;
};

/**
 * A closure policy.
 */
export type ClosurePolicy = {
  /**
   * Who may close which accounts, and how fresh their sign-in must be.
   */
  authorization: Authorization;
  /**
   * How subscriptions the closure cancels are ended and settled.
   */
  billing: BillingDisposition;
  /**
   * What each condition does: block the closure, get cleared by it, or warn.
   */
  conditions: Conditions;
  /**
   * How the person confirms.
   */
  confirmation: ConfirmationPolicy;
  /**
   * Hours after a cancelled closure before a new request is accepted.
   */
  cooldown_hours: number;
  /**
   * Days between confirmation and execution during which the holder can
   * cancel. Zero makes the closure immediate and irreversible.
   */
  grace_period_days: number;
  /**
   * When the account's identifiers (username, email) may be reused.
   */
  identifier_reuse: IdentifierReuse;
  /**
   * Days after the closure during which invoices can still be downloaded.
   */
  invoice_download_days: number;
  /**
   * What happens around the grace period.
   */
  lifecycle: Lifecycle;
  /**
   * A name for the policy, shown in assessments.
   */
  name: string;
  /**
   * How long each record class is kept, counted from the closure request.
   */
  retention: Retention;
  /**
   * How failed effects are retried.
   */
  retry: RetryPolicy;
  /**
   * Schema version of this document; must be [`POLICY_VERSION`].
   */
  schema_version: number;
  /**
   * What happens to tenants the account owns that have other members.
   */
  shared_tenants: SharedTenantRule;
  /**
   * The data-protection law whose response deadline applies.
   */
  statutory_regime: StatutoryRegime;
};

/**
 * The person asking to close the account.
 *
 * The re-authentication time belongs here rather than in the snapshot: it is
 * a property of the acting session, which may be an SSO super admin's or a
 * support operator's rather than the account holder's.
 */
export type Actor = {
  /**
   * Who is acting.
   */
  id: UserId;
  /**
   * When this person last proved their identity again (password, passkey,
   * SSO round trip), if the host knows.
   */
  reauthenticated_at?: (string | null);
  /**
   * In what capacity.
   */
  role: ActorRole;
};

/**
 * Everything the machine remembers about one account's closure. The host
 * stores it (as JSON) between steps and hands it back unchanged.
 */
export type ClosureState = {
  /**
   * The account being closed.
   */
  account: UserId;
  /**
   * The current attempt's identity, part of every effect key; new at each
   * attempt, never repeated (see [`AttemptId`]).
   */
  attempt?: (AttemptId | null);
  /**
   * The audit chain's cursor.
   */
  audit: AuditCursor;
  /**
   * The latest `now` a step accepted; time may not go backwards.
   */
  clock?: (string | null);
  /**
   * The host's id for this closure (stable across steps).
   */
  closure: string;
  /**
   * What was confirmed: the plan the person saw, its dates and the policy
   * it was confirmed under. Execution compares a fresh assessment with
   * it and runs no more than it; steps under another policy are refused.
   */
  confirmed?: (ConfirmedPlan | null);
  /**
   * Whether the deadline has been extended (allowed once per request).
   */
  deadline_extended: boolean;
  /**
   * Every effect issued for the current request, with its progress.
   */
  effects: Array<EffectRecord>;
  /**
   * Optional exit feedback; never blocks.
   */
  feedback?: (ExitFeedback | null);
  /**
   * How many attempts (requests from idle, after a cancel or after an
   * abort) this closure has had.
   */
  generation: number;
  /**
   * The closure's one hold set: every legal hold that applies to the
   * account, whether it came in a snapshot or was placed through the
   * machine. A snapshot's holds are merged in by every step that carries
   * one; a hold leaves the set only by `release_hold` (never because a
   * later snapshot lacks it). Purges, the checks before execution and
   * [`ClosureState::next_tick`] all read this set.
   */
  holds: Array<HoldEntry>;
  /**
   * Where the closure stands.
   */
  phase: Phase;
  /**
   * When the current request was received (the statutory clock starts here).
   */
  requested_at?: (string | null);
  /**
   * Who made the current request and on what authority, re-checked at
   * execution; it decides who may confirm or cancel it.
   */
  requester?: (Requester | null);
  /**
   * The statutory response deadline of the current request, if any.
   */
  response_due?: (string | null);
  /**
   * Schema version of this document: [`STATE_VERSION`].
   */
  schema_version: number;
  /**
   * The latest `now` a tick was applied at: whatever was due up to then
   * has been dealt with, so [`ClosureState::next_tick`] names only later
   * moments. Other commands advance `clock` but not this (a report at the
   * very second a retry falls due must not hide the retry). Absent in
   * states stored before it existed, which read as never ticked.
   */
  ticked?: (string | null);
};

/**
 * What the host asks the machine to do.
 */
export type Command = ({
  /**
   * Optional exit feedback.
   */
  feedback?: (ExitFeedback | null);
  /**
   * Why; absent means [`RequestReason::Requested`]. The system actor
   * requests only for [`RequestReason::Inactivity`].
   */
  reason?: (RequestReason | null);
  /**
   * For the token method: SHA-256 (hex) of the token the host sends the person.
   */
  token_digest?: (string | null);
  type: "request";
} | {
  type: "confirm";
  /**
   * What the person typed, or the token they presented.
   */
  value: string;
} | {
  type: "cancel";
} | {
  type: "tick";
} | {
  /**
   * The effect.
   */
  effect: EffectId;
  /**
   * How it went.
   */
  outcome: Outcome;
  type: "report_outcome";
} | {
  type: "retry";
} | {
  type: "abort";
} | {
  /**
   * The hold.
   */
  hold: LegalHold;
  type: "place_hold";
} | {
  /**
   * The hold's id.
   */
  hold: LegalHoldId;
  type: "release_hold";
} | {
  type: "extend_deadline";
} | {
  /**
   * The fingerprint the closure is pinned to now, as a check that
   * the operator migrates what they think they migrate.
   */
  from: string;
  type: "migrate_policy";
});

/**
 * The answer to "can this actor close this account now, and what would happen?".
 */
export type Assessment = {
  /**
   * The account assessed.
   */
  account: UserId;
  /**
   * Who asked.
   */
  actor: UserId;
  /**
   * How the actor stands towards the account.
   */
  actor_relation: ActorRelation;
  /**
   * The instant the assessment is for.
   */
  assessed_at: string;
  /**
   * Everything standing in the way, all at once, in a stable order.
   */
  blockers: Array<Blocker>;
  /**
   * True when there are no blockers.
   */
  can_close: boolean;
  /**
   * What closing would do, once the blockers are cleared.
   */
  consequences: Consequences;
  /**
   * The name of the policy applied.
   */
  policy: string;
  /**
   * Schema version of this document: [`ASSESSMENT_VERSION`].
   */
  schema_version: number;
  /**
   * Things worth knowing that do not block.
   */
  warnings: Array<Warning>;
};

/**
 * What one accepted step produced.
 */
export type Step = {
  /**
   * Events to append to the audit log.
   */
  audit: Array<AuditEvent>;
  /**
   * Effects to perform now.
   */
  effects: Array<Effect>;
  /**
   * Things the host should tell the person or an operator.
   */
  notices: Array<Notice>;
  /**
   * The new state, to store in place of the old.
   */
  state: ClosureState;
};

/**
 * What one accepted step changed: the closure's new version and phase,
 * the effects to perform now, the audit events to append, the notices, and
 * when to tick next.
 */
export type Change = {
  /**
   * Events to append to the audit log.
   */
  audit: Array<AuditEvent>;
  /**
   * Effects to perform now.
   */
  effects: Array<Effect>;
  /**
   * When to tick next, if ever (see [`ClosureState::next_tick`]).
   */
  next_tick: (string | null);
  /**
   * Things the host should tell the person or an operator.
   */
  notices: Array<Notice>;
  /**
   * The phase after the step.
   */
  phase: PhaseKind;
  /**
   * The closure's version after the step: the number of audit events
   * its chain holds. A step that logged nothing (an idle tick) leaves it.
   */
  version: number;
};

/**
 * Something the host must do.
 */
export type Effect = {
  /**
   * What to do.
   */
  action: Action;
  /**
   * Id and idempotency key.
   */
  id: EffectId;
};

/**
 * One audited transition.
 */
export type AuditEvent = {
  /**
   * The account being closed.
   */
  account: UserId;
  /**
   * Who gave the command.
   */
  actor: UserId;
  /**
   * In what capacity.
   */
  actor_role: ActorRole;
  /**
   * When the command was applied (the `now` the host passed in).
   */
  at: string;
  /**
   * The closure.
   */
  closure: string;
  /**
   * The command.
   */
  command: CommandKind;
  /**
   * SHA-256 (hex) of the command's canonical JSON, payload included (a
   * hold, an outcome and its reason, a token digest), with what the
   * person typed withheld (the confirmation value and the exit comment,
   * which are personal data): the command is covered without its text
   * being kept.
   */
  command_digest: string;
  /**
   * Effects issued or settled by this step, with their actions' digests.
   */
  effects: Array<AuditedEffect>;
  /**
   * What happened.
   */
  event: Event;
  /**
   * The phase before.
   */
  from: PhaseKind;
  /**
   * SHA-256 (or, keyed, HMAC-SHA-256) of this event's canonical encoding
   * without this field, in lower-case hex.
   */
  hash: string;
  /**
   * The id of the [`AuditKey`] the hash is keyed with; absent for a plain
   * hash chain.
   */
  key: (string | null);
  /**
   * Hash of the previous event ([`GENESIS`] for the first).
   */
  previous: string;
  /**
   * Schema version of this event: [`AUDIT_VERSION`].
   */
  schema_version: number;
  /**
   * Position in the closure's log, from 0.
   */
  sequence: number;
  /**
   * The phase after.
   */
  to: PhaseKind;
};

/**
 * The result of verifying an audit log.
 */
export type Verification = {
  /**
   * Events checked.
   */
  events: number;
  /**
   * Hash of the last event.
   */
  head: (string | null);
  /**
   * What is wrong, when it is not valid.
   */
  problem: (AuditError | null);
  /**
   * Whether the log is intact (and ends at the expected head, if one was given).
   */
  valid: boolean;
};

/**
 * An error as a binding carries it.
 */
export type ErrorReport = {
  /**
   * For `blocked`: every blocker with its remedy.
   */
  blockers?: (Array<Blocker> | null);
  /**
   * The stable code, e.g. `duplicate_id`.
   */
  code: ErrorCode;
  /**
   * A sentence for people.
   */
  message: string;
  /**
   * The stable number of the code.
   */
  number: number;
};

/**
 * Stable, machine-readable error codes. The string ([`ErrorCode::as_str`])
 * and the number ([`ErrorCode::number`]) of a code never change and are never
 * reused; 0 is kept free for "no error" in the C binding.
 */
export type ErrorCode = ("malformed_json" | "schema_mismatch" | "unsupported_version" | "duplicate_id" | "dangling_reference" | "invalid_value" | "invalid_policy" | "not_allowed" | "wrong_state" | "blocked" | "confirmation_expired" | "locked_out" | "cooldown" | "unknown_effect" | "time_went_backwards" | "input_too_large" | "wrong_account" | "past_point_of_no_return" | "date_out_of_range" | "policy_changed" | "audit_key_mismatch");

/**
 * The account whose closure is being considered.
 */
export type Account = {
  /**
   * Display name; personal data.
   */
  display_name: string;
  /**
   * Email address; personal data, used for the typed confirmation.
   */
  email: string;
  /**
   * The account holder's user id.
   */
  id: UserId;
  /**
   * How the holder signs in.
   */
  identity: Identity;
  /**
   * Self-serve or under contract.
   */
  kind: AccountKind;
  /**
   * Standing of the account on the platform.
   */
  status: AccountStatus;
};

/**
 * Who the account belongs to commercially.
 */
export type AccountKind = ({
  type: "self_serve";
} | {
  /**
   * The customer-success contact who handles closure.
   */
  customer_success: Contact;
  type: "contract";
});

/**
 * The account's standing on the platform.
 */
export type AccountStatus = ("active" | "suspended" | "locked" | "closed");

/**
 * The actions a closure asks of the host.
 */
export type Action = ({
  type: "revoke_sessions";
} | {
  type: "block_writes";
} | {
  type: "restore_access";
} | {
  /**
   * Which message.
   */
  message: Message;
  /**
   * To whom.
   */
  recipient: Recipient;
  type: "notify";
} | {
  /**
   * The subscription.
   */
  subscription: SubscriptionId;
  /**
   * When service ends.
   */
  timing: CancelTiming;
  type: "cancel_subscription";
  /**
   * What happens to unused paid time.
   */
  unused_time: UnusedTime;
} | {
  /**
   * The domain.
   */
  domain: DomainName;
  type: "disable_auto_renew";
} | {
  /**
   * The domain.
   */
  domain: DomainName;
  type: "release_domain";
} | {
  /**
   * The tenant.
   */
  tenant: TenantId;
  type: "remove_members";
  /**
   * The members removed.
   */
  users: Array<UserId>;
} | {
  /**
   * The tenant.
   */
  tenant: TenantId;
  /**
   * The new primary owner (already an owner of the tenant).
   */
  to: UserId;
  type: "transfer_primary_owner";
} | {
  /**
   * The tenant.
   */
  tenant: TenantId;
  type: "leave_tenant";
} | {
  /**
   * The tenant.
   */
  tenant: TenantId;
  type: "delete_tenant";
} | {
  /**
   * The amount, in minor units (positive).
   */
  amount: number;
  /**
   * Its currency.
   */
  currency: Currency;
  /**
   * The tenant whose balance it is; absent for the account's own.
   */
  tenant?: (TenantId | null);
  type: "refund_credit";
} | {
  /**
   * The payment method.
   */
  payment_method: PaymentMethodId;
  type: "delete_payment_method";
} | {
  /**
   * How many invoices.
   */
  count: number;
  type: "publish_invoice_archive";
  /**
   * Until when.
   */
  until: string;
} | {
  type: "delete_account";
} | {
  type: "quarantine_identifiers";
  /**
   * Until when; absent for ever.
   */
  until?: (string | null);
} | {
  /**
   * The record class.
   */
  class: RecordClass;
  type: "purge";
});

/**
 * How an [`Actor`] stands towards the account being closed.
 */
export type ActorRelation = ("holder" | "sso_super_admin" | "support_operator" | "system" | "unrelated");

/**
 * The capacity an actor acts in.
 */
export type ActorRole = ("user" | "support_operator" | "system");

/**
 * One attempt of a closure: `at_` and 32 hex digits. Each request that
 * starts an attempt (from idle, after a cancel or an abort) derives a new
 * one from the closure, the attempt before it, the attempt's number and the
 * time of the request, so an attempt identity never repeats within a state,
 * and a fresh state under an old closure id, requested at another time,
 * gets another. Effect keys include it.
 */
export type AttemptId = string;

/**
 * Where the next event of a chain goes: recorded in the closure state.
 */
export type AuditCursor = {
  /**
   * Hash of the last event ([`GENESIS`] before the first).
   */
  head: string;
  /**
   * The id of the key the chain is keyed with, fixed by its first event;
   * absent for a plain chain. Every later step must pass the same key.
   */
  key?: (string | null);
  /**
   * A check value of the key's secret ([`AuditKey::check`]): a step with
   * the same key id but another secret is refused. It reveals nothing of
   * the secret.
   */
  key_check?: (string | null);
  /**
   * Sequence number of the next event.
   */
  next_sequence: number;
};

/**
 * Why a log does not verify.
 */
export type AuditError = ({
  /**
   * Sequence expected.
   */
  expected: number;
  /**
   * Sequence found.
   */
  found: number;
  /**
   * Position in the log given.
   */
  index: number;
  problem: "sequence";
} | {
  problem: "broken_link";
  /**
   * The event's sequence.
   */
  sequence: number;
} | {
  problem: "altered";
  /**
   * The event's sequence.
   */
  sequence: number;
} | {
  /**
   * The key's id.
   */
  key: string;
  problem: "key_required";
  /**
   * The event's sequence.
   */
  sequence: number;
} | {
  problem: "wrong_key";
  /**
   * The event's sequence.
   */
  sequence: number;
} | {
  problem: "checkpoint_mismatch";
  /**
   * The checkpoint's sequence.
   */
  sequence: number;
} | {
  /**
   * Head recorded in the state.
   */
  expected: string;
  /**
   * Head of the log given.
   */
  found: string;
  problem: "head_mismatch";
});

/**
 * An action as the audit log records it where no effect was issued for it
 * (a plan item that grew, changed or was dropped): its kind and the digest
 * of its canonical JSON, so the log proves which action it was without
 * keeping the ids it names (co-members, domains) past the purge.
 */
export type AuditedAction = {
  /**
   * The action's `type` tag, e.g. `remove_members`.
   */
  action: string;
  /**
   * SHA-256 (hex) of the action's canonical JSON.
   */
  digest: string;
};

/**
 * An effect as the audit log records it.
 */
export type AuditedEffect = {
  /**
   * Its action's `type` tag, e.g. `delete_tenant`.
   */
  action: string;
  /**
   * SHA-256 (hex) of the action's canonical JSON: what exactly was asked.
   */
  digest: string;
  /**
   * The effect's id (its idempotency key).
   */
  id: EffectId;
};

/**
 * Who may close which accounts.
 */
export type Authorization = {
  /**
   * Accounts under contract.
   */
  contract_accounts: ContractRule;
  /**
   * Whether the host's system may request the closure of an inactive
   * account (with the reason `inactivity`). Only the system or support
   * can then confirm or cancel it.
   */
  inactivity_closure?: boolean;
  /**
   * Maximum age, in minutes, of the actor's last re-authentication;
   * absent to not require one.
   */
  max_reauth_age_minutes?: (number | null);
  /**
   * SSO-managed accounts.
   */
  sso_accounts: SsoRule;
};

/**
 * A signed amount on an account: positive is credit in the customer's
 * favour, negative is money the customer owes.
 */
export type Balance = {
  /**
   * Amount in minor units (cents); negative when owed.
   */
  amount: number;
  /**
   * Currency of the amount.
   */
  currency: Currency;
};

/**
 * How subscriptions the closure cancels are ended and settled.
 */
export type BillingDisposition = {
  /**
   * When the service ends.
   */
  cancel: CancelTiming;
  /**
   * What happens to time paid for but not used.
   */
  unused_time: UnusedTime;
};

/**
 * Something that stands in the way of the closure.
 */
export type Blocker = {
  /**
   * Stable machine code.
   */
  code: BlockerCode;
  /**
   * A sentence for the person.
   */
  message: string;
  /**
   * How to clear it, and who can.
   */
  remedy: Remedy;
  /**
   * What it concerns.
   */
  subject: Subject;
};

/**
 * Stable blocker codes; the strings never change once released.
 */
export type BlockerCode = ("actor_not_allowed" | "account_closed" | "account_suspended" | "account_locked" | "contract_account" | "sso_managed" | "reauthentication_required" | "legal_hold" | "shared_tenant_owner" | "subscription_active" | "add_on_active" | "domain_active" | "nameservers_point_here" | "registrar_auto_renew" | "partial_setup_live" | "payment_method_on_file" | "invoice_unpaid" | "balance_owed" | "dispute_open" | "scope_changed");

/**
 * When a cancelled subscription ends.
 */
export type CancelTiming = ("immediately" | "at_period_end");

/**
 * When one record class is purged, and why it is kept until then.
 */
export type ClassRetention = {
  /**
   * The record class.
   */
  class: RecordClass;
  /**
   * Legal holds in force that cover it (their ids only: reasons stay private).
   */
  held_by: Array<LegalHoldId>;
  /**
   * When it is due to be purged; absent while an open-ended hold keeps it.
   */
  purge_due: (string | null);
};

/**
 * The command names, for the transition table, the diagram and the audit log.
 */
export type CommandKind = ("request" | "confirm" | "cancel" | "tick" | "report_outcome" | "retry" | "abort" | "place_hold" | "release_hold" | "extend_deadline" | "migrate_policy");

/**
 * The rule for each condition a closure can meet.
 */
export type Conditions = {
  /**
   * A domain still active on the platform (block or clear).
   */
  active_domain: Rule;
  /**
   * A live subscription or add-on (block or clear).
   */
  active_subscription: Rule;
  /**
   * A legal hold in force (block or warn; either way held records are kept).
   */
  legal_hold: Rule;
  /**
   * A disputed payment (block or warn).
   */
  open_dispute: Rule;
  /**
   * A partial (CNAME) setup whose records still point here (block or warn).
   */
  partial_setup: Rule;
  /**
   * A payment method on file (block or clear, which deletes it).
   */
  payment_method: Rule;
  /**
   * Registrar auto-renew still on (block or clear).
   */
  registrar_auto_renew: Rule;
  /**
   * The registrar still delegates a domain to the platform's nameservers
   * (block or warn: the registrar is outside the platform's reach).
   */
  registrar_nameservers: Rule;
  /**
   * An open or uncollectible invoice, or a balance owed (block or warn).
   */
  unpaid_balance: Rule;
};

/**
 * Confirmation methods.
 */
export type ConfirmationMethod = ({
  /**
   * Which phrase.
   */
  phrase: Phrase;
  type: "typed_phrase";
} | {
  type: "token";
  /**
   * Minutes the token stays valid (at least 1).
   */
  valid_minutes: number;
});

/**
 * How the person confirms the closure.
 */
export type ConfirmationPolicy = {
  /**
   * How long a lockout lasts, in minutes.
   */
  lockout_minutes: number;
  /**
   * Wrong attempts allowed before a lockout (at least 1).
   */
  max_attempts: number;
  /**
   * The confirmation method.
   */
  method: ConfirmationMethod;
};

/**
 * What the person confirmed: the frozen plan.
 */
export type ConfirmedPlan = {
  /**
   * When it was confirmed.
   */
  confirmed_at: string;
  /**
   * When it runs, as shown: every date of the plan (the invoice window,
   * the quarantine, immediate cancellations) counts from here.
   */
  execute_at: string;
  /**
   * [`ClosurePolicy::fingerprint`](crate::ClosurePolicy::fingerprint) of
   * the policy it was confirmed under.
   */
  policy: string;
  /**
   * The plan's stages, as confirmed (ids only: no names, no free text).
   */
  stages: Array<Array<Action>>;
};

/**
 * What closing the account would do, once the blockers are cleared.
 */
export type Consequences = {
  /**
   * Registrations whose auto-renew the closure turns off.
   */
  auto_renew_disabled: Array<DomainName>;
  /**
   * Until when the holder could still cancel; absent when irreversible.
   */
  cancellable_until: (string | null);
  /**
   * When the closure would execute: after the grace period from now.
   */
  closes_at: string;
  /**
   * Summary counts of what follows.
   */
  counts: Counts;
  /**
   * Credit balances paid back to the customer (under `unused_time: refund`).
   */
  credits_refunded: Array<CreditRefund>;
  /**
   * Domains removed from the platform.
   */
  domains_released: Array<DomainName>;
  /**
   * When the account's identifiers may be reused; absent for never.
   */
  identifiers_reusable_at: (string | null);
  /**
   * Invoices of the closed scope, and until when they can be downloaded.
   */
  invoices: InvoiceArchive;
  /**
   * Whether confirming signs the account out everywhere and stops it
   * writing (`revoke_sessions`, `block_writes`) until the closure runs or
   * is cancelled (which gives writing back).
   */
  locked_on_confirmation: boolean;
  /**
   * Payment methods deleted.
   */
  payment_methods_deleted: Array<PaymentMethodId>;
  /**
   * When personal data is due to be purged; absent while an open-ended hold keeps it.
   * Retention counts from the request: assessed just before requesting,
   * as a host shows it, this is the date the machine uses. A closure
   * asked again after a halt keeps its first request's clock, so its data
   * may be purged earlier than a later assessment shows, never later.
   */
  personal_data_purge_due: (string | null);
  /**
   * Tenants the account leaves as their primary owner: who becomes
   * primary owner in its place.
   */
  primary_ownership_transferred: Array<OwnershipTransfer>;
  /**
   * Each record class: when it is purged and what keeps it.
   */
  retention: Array<ClassRetention>;
  /**
   * Subscriptions and add-ons the closure cancels, and how.
   */
  subscriptions_cancelled: Array<SubscriptionCancellation>;
  /**
   * Tenants deleted, with the other members removed from each.
   */
  tenants_deleted: Array<TenantDeletion>;
  /**
   * Tenants the account leaves; they live on with their other members.
   */
  tenants_left: Array<TenantId>;
};

/**
 * A named contact a remedy can point the person to.
 */
export type Contact = {
  /**
   * Where to reach them.
   */
  email: string;
  /**
   * Name of the person or team.
   */
  name: string;
};

/**
 * Who may close an account under contract.
 */
export type ContractRule = ("customer_success_only" | "self_service");

/**
 * Counts of the consequences, for summaries.
 */
export type Counts = {
  /**
   * Add-ons cancelled.
   */
  add_ons_cancelled: number;
  /**
   * Registrations with auto-renew turned off.
   */
  auto_renew_disabled: number;
  /**
   * Credit balances refunded.
   */
  credits_refunded: number;
  /**
   * Domains released.
   */
  domains_released: number;
  /**
   * Invoices in the archive.
   */
  invoices: number;
  /**
   * Other members removed from deleted tenants.
   */
  members_removed: number;
  /**
   * Payment methods deleted.
   */
  payment_methods_deleted: number;
  /**
   * Tenants whose primary ownership passes to a co-owner.
   */
  primary_ownership_transferred: number;
  /**
   * Plans cancelled.
   */
  subscriptions_cancelled: number;
  /**
   * Tenants deleted.
   */
  tenants_deleted: number;
  /**
   * Tenants the account leaves.
   */
  tenants_left: number;
};

/**
 * A credit balance the closure refunds.
 */
export type CreditRefund = {
  /**
   * The amount, in minor units.
   */
  amount: number;
  /**
   * Its currency.
   */
  currency: Currency;
  /**
   * The tenant whose balance it is; absent for the account's own.
   */
  tenant: (TenantId | null);
};

/**
 * An ISO 4217 currency code: three upper-case letters.
 */
export type Currency = string;

/**
 * A domain on the platform.
 */
export type Domain = {
  /**
   * Whether the platform still serves the domain (the zone is active).
   */
  active: boolean;
  /**
   * The domain name.
   */
  name: DomainName;
  /**
   * Present when the domain is registered through the platform's registrar.
   */
  registration?: (Registration | null);
  /**
   * How the domain points at the platform.
   */
  setup: DomainSetup;
  /**
   * The tenant it belongs to; absent when the account owns it directly.
   */
  tenant?: (TenantId | null);
};

/**
 * A domain name, stored in lower case (so `Example.com` and `example.com` are
 * the same domain).
 */
export type DomainName = string;

/**
 * How a domain is connected to the platform.
 */
export type DomainSetup = ({
  /**
   * Whether the registrar still lists the platform's nameservers.
   */
  nameservers_point_here: boolean;
  type: "full";
} | {
  /**
   * Whether records at the DNS provider still point at the platform.
   */
  cname_records_live: boolean;
  type: "partial";
});

/**
 * An effect id, which is also its idempotency key: `ef_` and 32 hex digits
 * (128 bits of a SHA-256 digest).
 *
 * **What makes a key unique.** The digest covers a versioned, canonical
 * encoding ([`EFFECT_KEY_VERSION`]) of the account id, the closure id, the
 * closure's attempt identity ([`AttemptId`], new at every request, never
 * repeated within a closure's state) and the action's stable fields, each
 * written as its length and its bytes so no two field lists encode alike.
 * The encoding names fields by literals of its own, not by their Rust or
 * serde names, so a rename changes no key; the golden test in this module
 * pins the keys of one sample closure.
 *
 * **What the host must guarantee:** closure ids unique per account (never
 * two live states with one id for one account). A host that starts a fresh
 * state under an old closure id still gets fresh keys, as the attempt
 * identity covers the time of the request, but only unique ids make that a
 * guarantee rather than a consequence of the clock.
 */
export type EffectId = string;

/**
 * An effect issued by the machine and its progress.
 */
export type EffectRecord = {
  /**
   * The effect.
   */
  effect: Effect;
  /**
   * Attempts reported as failed so far.
   */
  failures: number;
  /**
   * The plan stage it belongs to; absent for notifications and locks.
   */
  stage?: (number | null);
  /**
   * Where it stands.
   */
  status: EffectStatus;
};

/**
 * Progress of one effect.
 */
export type EffectStatus = ({
  status: "planned";
} | {
  status: "pending";
} | {
  /**
   * When a tick issues it again.
   */
  retry_at: string;
  status: "retry_scheduled";
} | {
  /**
   * When the success was reported.
   */
  at: string;
  status: "succeeded";
} | {
  /**
   * Why.
   */
  reason: string;
  status: "failed";
} | {
  /**
   * When it was withdrawn.
   */
  at: string;
  status: "withdrawn";
});

/**
 * What happened in one audited transition: one variant per kind of event,
 * with what is worth proving about it.
 */
export type Event = ({
  kind: "requested";
  /**
   * Why.
   */
  reason: RequestReason;
  /**
   * On what authority.
   */
  relation: ActorRelation;
} | {
  kind: "re_requested";
  /**
   * Why.
   */
  reason: RequestReason;
  /**
   * On what authority.
   */
  relation: ActorRelation;
} | {
  kind: "confirmation_failed";
} | {
  kind: "locked_out";
  /**
   * The end of the lockout.
   */
  until: string;
} | {
  /**
   * When it runs.
   */
  execute_at: string;
  kind: "confirmed";
  /**
   * SHA-256 (hex) of the confirmed plan's canonical JSON.
   */
  plan: string;
  /**
   * The policy's fingerprint.
   */
  policy: string;
} | {
  kind: "cancelled";
  /**
   * The fingerprint of the policy the cancel ran under (a cancel is
   * let through the policy pin; its cooldown is this policy's).
   */
  policy: string;
} | {
  /**
   * Days before execution, of each reminder sent.
   */
  days_before: Array<number>;
  kind: "reminder_sent";
} | {
  kind: "effects_reissued";
} | {
  /**
   * When the plan grew: the items it would add.
   */
  added: Array<AuditedAction>;
  /**
   * The blockers' codes.
   */
  blockers: Array<BlockerCode>;
  /**
   * When the plan grew: the items it would do on other terms, as
   * they would now be.
   */
  changed: Array<AuditedAction>;
  kind: "halted";
} | {
  /**
   * Protections as they now run (more invoices in the archive, a
   * window counted from a later execution).
   */
  adjusted: Array<AuditedAction>;
  kind: "plan_adjusted";
  /**
   * What the confirmed plan had and this one does not.
   */
  removed: Array<AuditedAction>;
} | {
  /**
   * The fingerprint before.
   */
  from: string;
  kind: "policy_migrated";
  /**
   * The fingerprint after.
   */
  to: string;
} | {
  /**
   * The new deadline.
   */
  due: string;
  kind: "deadline_extended";
} | {
  kind: "execution_started";
  /**
   * SHA-256 (hex) of the plan's canonical JSON, as it runs.
   */
  plan: string;
  /**
   * Stages in the plan.
   */
  stages: number;
} | {
  kind: "effect_succeeded";
} | {
  kind: "effect_retry_scheduled";
  /**
   * Why, as the host reported it.
   */
  reason: string;
  /**
   * When it is issued again.
   */
  retry_at: string;
} | {
  kind: "effect_failed";
  /**
   * Why, as the host reported it.
   */
  reason: string;
} | {
  kind: "stage_started";
  /**
   * Its index.
   */
  stage: number;
} | {
  kind: "closed";
} | {
  kind: "purge_issued";
} | {
  kind: "purged";
} | {
  kind: "retried";
} | {
  kind: "aborted";
} | {
  /**
   * The hold.
   */
  hold: LegalHoldId;
  kind: "hold_placed";
} | {
  /**
   * The holds.
   */
  holds: Array<LegalHoldId>;
  kind: "hold_recorded";
} | {
  /**
   * The holds.
   */
  holds: Array<LegalHoldId>;
  kind: "hold_widened";
} | {
  /**
   * The hold.
   */
  hold: LegalHoldId;
  kind: "hold_narrowed";
} | {
  /**
   * The hold.
   */
  hold: LegalHoldId;
  kind: "hold_released";
} | {
  kind: "purge_recalled";
});

/**
 * Optional feedback from the person leaving.
 */
export type ExitFeedback = {
  /**
   * Free text (may be personal; never copied into the receipt or the audit log).
   */
  comment?: (string | null);
  /**
   * The main reason.
   */
  reason: ExitReason;
};

/**
 * Structured exit reasons (Stripe's list).
 */
export type ExitReason = ("customer_service" | "low_quality" | "missing_features" | "switched_service" | "too_complex" | "too_expensive" | "unused" | "other");

/**
 * One legal hold in the closure's hold set, and where it came from.
 */
export type HoldEntry = {
  /**
   * The hold. For one placed with `place_hold`, `placed_at` is the step's
   * `now` (whatever the operator's tool wrote); for one from a snapshot,
   * what the host's records say, as `assess` reads it.
   */
  hold: LegalHold;
  /**
   * Where the machine learnt of it.
   */
  source: HoldSource;
};

/**
 * Grounds for a legal hold (GDPR Art. 17(3) exceptions and their kin).
 */
export type HoldReason = ("litigation" | "abuse_investigation" | "regulatory_request" | "tax_audit" | "other");

/**
 * Where a hold in the hold set came from.
 */
export type HoldSource = ("snapshot" | "placed");

/**
 * When identifiers of a closed account may be reused.
 */
export type IdentifierReuse = ({
  after_days: number;
} | "never");

/**
 * How the account holder authenticates.
 */
export type Identity = ({
  type: "password";
} | {
  /**
   * The identity provider, e.g. `okta`.
   */
  provider: string;
  /**
   * The super admin who manages this account at the provider.
   */
  super_admin: UserId;
  type: "sso";
});

/**
 * An invoice.
 */
export type Invoice = {
  /**
   * Amount still due, in minor units (cents); never negative.
   */
  amount_due: number;
  /**
   * Currency of the amount.
   */
  currency: Currency;
  /**
   * Invoice id.
   */
  id: InvoiceId;
  /**
   * When it was issued.
   */
  issued_at: string;
  /**
   * Invoice status.
   */
  status: InvoiceStatus;
  /**
   * The subscription it bills, if any.
   */
  subscription?: (SubscriptionId | null);
  /**
   * The tenant billed; absent when the account was billed directly.
   */
  tenant?: (TenantId | null);
};

/**
 * The invoices the person loses access to.
 */
export type InvoiceArchive = {
  /**
   * How many invoices.
   */
  count: number;
  /**
   * Until when they can be downloaded.
   */
  downloadable_until: string;
};

/**
 * An invoice.
 */
export type InvoiceId = string;

/**
 * Invoice statuses.
 */
export type InvoiceStatus = ("paid" | "open" | "uncollectible" | "void" | "disputed");

/**
 * A legal obligation to keep some records despite the closure.
 */
export type LegalHold = {
  /**
   * The record classes it covers (at least one).
   */
  classes: Array<RecordClass>;
  /**
   * Hold id.
   */
  id: LegalHoldId;
  /**
   * When it was placed.
   */
  placed_at: string;
  /**
   * Who placed the hold.
   */
  placed_by: UserId;
  /**
   * Why the records are held.
   */
  reason: HoldReason;
  /**
   * When it lapses; absent for an open-ended hold.
   */
  until?: (string | null);
};

/**
 * A legal hold.
 */
export type LegalHoldId = string;

/**
 * What happens around the grace period.
 */
export type Lifecycle = {
  /**
   * Revoke sessions and tokens and block writes as soon as the closure is
   * confirmed (restored on cancel), so nothing new is created and orphaned.
   */
  lock_on_confirm: boolean;
  /**
   * Send a reminder this many days before the grace period ends (each
   * shorter than the grace period).
   */
  reminder_days_before: Array<number>;
};

/**
 * One member of a tenant.
 */
export type Member = {
  /**
   * The member's role in this tenant.
   */
  role: Role;
  /**
   * The member's user id.
   */
  user: UserId;
};

/**
 * Notification messages.
 */
export type Message = ({
  /**
   * When it runs.
   */
  execute_at: string;
  kind: "scheduled";
} | {
  /**
   * Whole days left.
   */
  days_left: number;
  /**
   * When it runs.
   */
  execute_at: string;
  kind: "reminder";
} | {
  kind: "cancelled";
} | {
  /**
   * When it halted.
   */
  halted_at: string;
  kind: "halted";
} | {
  /**
   * When.
   */
  execute_at: string;
  kind: "tenant_will_be_deleted";
} | {
  kind: "completed";
} | {
  /**
   * The new deadline.
   */
  due: string;
  kind: "deadline_extended";
});

/**
 * Things worth telling the person or an operator about a step.
 */
export type Notice = ({
  /**
   * Attempts left before a lockout (0 when this one locked).
   */
  attempts_left: number;
  /**
   * Set when this attempt caused a lockout.
   */
  locked_until: (string | null);
  notice: "confirmation_rejected";
} | {
  /**
   * What stands in the way now.
   */
  blockers: Array<Blocker>;
  notice: "halted";
} | {
  /**
   * The effect.
   */
  effect: EffectId;
  notice: "duplicate_outcome";
} | {
  /**
   * The deadline.
   */
  due: string;
  notice: "response_overdue";
} | {
  /**
   * Its action's `type` tag, e.g. `purge`.
   */
  action: string;
  /**
   * The effect.
   */
  effect: EffectId;
  notice: "effect_failed";
  /**
   * Why, as the host reported it.
   */
  reason: string;
} | {
  /**
   * The hold.
   */
  hold: LegalHoldId;
  notice: "hold_not_in_snapshot";
} | {
  /**
   * The class.
   */
  class: RecordClass;
  /**
   * The holds keeping it.
   */
  holds: Array<LegalHoldId>;
  notice: "purge_held";
});

/**
 * How an effect went.
 */
export type Outcome = ({
  result: "succeeded";
} | {
  /**
   * What went wrong.
   */
  reason: string;
  result: "retryable_failure";
} | {
  /**
   * What went wrong.
   */
  reason: string;
  result: "permanent_failure";
});

/**
 * A tenant the account leaves as its primary owner, and its new primary
 * owner. **The rule:** the first other member with the `owner` role, in the
 * order the snapshot lists the members (list them oldest first, and the
 * longest-standing co-owner takes over). A tenant with no other owner is
 * not left this way: it is deleted, or blocks until the holder transfers it.
 */
export type OwnershipTransfer = {
  /**
   * The tenant.
   */
  tenant: TenantId;
  /**
   * The co-owner who becomes primary owner.
   */
  to: UserId;
};

/**
 * A stored payment method.
 */
export type PaymentMethod = {
  /**
   * Payment method id.
   */
  id: PaymentMethodId;
  /**
   * What kind of instrument it is.
   */
  kind: PaymentMethodKind;
  /**
   * The tenant that owns it; absent when the account owns it directly.
   */
  tenant?: (TenantId | null);
};

/**
 * A stored payment method.
 */
export type PaymentMethodId = string;

/**
 * Kinds of payment method.
 */
export type PaymentMethodKind = ("card" | "bank_account" | "wallet" | "other");

/**
 * A length of time in days or calendar years.
 */
export type Period = ({
  days: number;
} | {
  years: number;
});

/**
 * Where a closure stands, with the data of that phase.
 */
export type Phase = ({
  phase: "idle";
} | {
  /**
   * Wrong confirmations since the last lockout.
   */
  failed_attempts: number;
  /**
   * Confirmations are refused until then.
   */
  locked_until?: (string | null);
  phase: "awaiting_confirmation";
  /**
   * SHA-256 (hex) of the token the host sent, for the token method.
   */
  token_digest?: (string | null);
  /**
   * When the token stops being accepted.
   */
  token_expires_at?: (string | null);
} | {
  /**
   * When it was confirmed.
   */
  confirmed_at: string;
  /**
   * When it runs.
   */
  execute_at: string;
  phase: "scheduled";
  /**
   * Reminders already sent (days before the end).
   */
  reminders_sent: Array<number>;
} | {
  /**
   * What stands in the way now.
   */
  blockers: Array<Blocker>;
  /**
   * When it halted.
   */
  halted_at: string;
  phase: "halted";
} | {
  phase: "executing";
  /**
   * The stage being performed (index into the plan).
   */
  stage: number;
  /**
   * Number of stages in the plan.
   */
  stages: number;
  /**
   * When execution began.
   */
  started_at: string;
} | {
  /**
   * The effect.
   */
  effect: EffectId;
  /**
   * When.
   */
  failed_at: string;
  phase: "failed";
  /**
   * Why, as the host reported it.
   */
  reason: string;
  /**
   * The stage it belongs to.
   */
  stage: number;
  /**
   * Number of stages in the plan.
   */
  stages: number;
} | {
  /**
   * When.
   */
  aborted_at: string;
  phase: "aborted";
} | {
  /**
   * When.
   */
  cancelled_at: string;
  /**
   * No new request before then.
   */
  cooldown_until: string;
  phase: "cancelled";
} | {
  /**
   * When the last plan effect succeeded.
   */
  closed_at: string;
  phase: "closed";
  /**
   * The purge schedule of each record class.
   */
  purges: Array<PurgeStatus>;
  /**
   * The non-personal record of what was done.
   */
  receipt: Receipt;
} | {
  phase: "purged";
  /**
   * When the last purge succeeded.
   */
  purged_at: string;
  /**
   * The non-personal record of what was done.
   */
  receipt: Receipt;
});

/**
 * The phase names, for the transition table, the diagram and the audit log.
 */
export type PhaseKind = ("idle" | "awaiting_confirmation" | "scheduled" | "halted" | "executing" | "failed" | "aborted" | "cancelled" | "closed" | "purged");

/**
 * The phrase of a typed confirmation.
 */
export type Phrase = ("email" | "display_name" | {
  fixed: string;
});

/**
 * One record class's purge.
 */
export type PurgeStatus = {
  /**
   * The class.
   */
  class: RecordClass;
  /**
   * When its retention ends.
   */
  due: string;
  /**
   * The purge effect, once issued.
   */
  effect?: (EffectId | null);
  /**
   * When it was purged.
   */
  purged_at?: (string | null);
};

/**
 * A tombstone: what was done and when, with no personal data.
 */
export type Receipt = {
  /**
   * The account, by id only.
   */
  account: UserId;
  /**
   * When the account was closed.
   */
  closed_at: string;
  /**
   * The closure.
   */
  closure: string;
  /**
   * Plan effects performed.
   */
  effects_performed: number;
  /**
   * The structured exit reason, if one was given (never the free text).
   */
  exit_reason?: (ExitReason | null);
  /**
   * The policy applied.
   */
  policy: string;
  /**
   * When the request was received.
   */
  requested_at: string;
};

/**
 * Who a notification goes to.
 */
export type Recipient = ({
  to: "holder";
} | {
  /**
   * The tenant.
   */
  tenant: TenantId;
  to: "co_members";
});

/**
 * Classes of record kept about an account, each with its own retention rule.
 */
export type RecordClass = ("personal_data" | "content" | "invoices" | "audit_log");

/**
 * Registration through the platform's own registrar.
 */
export type Registration = {
  /**
   * Whether the registration renews (and bills) automatically.
   */
  auto_renew: boolean;
  /**
   * When the registration expires.
   */
  expires_at: string;
};

/**
 * How to clear a blocker.
 */
export type Remedy = {
  /**
   * What to do.
   */
  action: RemedyAction;
  /**
   * Who can do it.
   */
  by: Responsible;
  /**
   * A sentence for the person.
   */
  message: string;
};

/**
 * Things that clear blockers.
 */
export type RemedyAction = ("ask_account_holder" | "contact_support" | "contact_customer_success" | "ask_sso_super_admin" | "reauthenticate" | "transfer_tenant_ownership" | "cancel_subscription" | "remove_domain" | "change_nameservers" | "disable_auto_renew" | "repoint_dns_records" | "delete_payment_method" | "pay_invoice" | "settle_balance" | "resolve_dispute" | "confirm_again");

/**
 * Why a closure was requested.
 */
export type RequestReason = ("requested" | "inactivity");

/**
 * Who made the current request.
 */
export type Requester = {
  /**
   * Their user id.
   */
  id: UserId;
  /**
   * Why the closure was requested.
   */
  reason: RequestReason;
  /**
   * The authority they requested on: the holder, the account's SSO super
   * admin, support, or the host's system. Only the same authority or a
   * higher one (support over everyone, the SSO super admin over the
   * holder) may confirm, cancel or replace the request.
   */
  relation: ActorRelation;
  /**
   * Their role.
   */
  role: ActorRole;
};

/**
 * Who can carry out a remedy.
 */
export type Responsible = ({
  role: "account_holder";
} | {
  role: "actor";
} | {
  role: "tenant_owner";
  /**
   * The tenant.
   */
  tenant: TenantId;
} | {
  role: "sso_super_admin";
  /**
   * The super admin's user id.
   */
  user: UserId;
} | {
  /**
   * Who to contact.
   */
  contact: Contact;
  role: "customer_success";
} | {
  role: "support";
});

/**
 * How long each record class is kept after the request.
 */
export type Retention = {
  /**
   * The audit trail.
   */
  audit_log: Period;
  /**
   * What the account created.
   */
  content: Period;
  /**
   * Invoices and payment records.
   */
  invoices: Period;
  /**
   * Profile and contact details.
   */
  personal_data: Period;
  /**
   * The legal ground for keeping personal data past the statutory
   * regime's response deadline (GDPR Art. 17(3)). Required when
   * `personal_data` can outlast the deadline; absent otherwise.
   */
  personal_data_basis?: (RetentionBasis | null);
};

/**
 * Why personal data may be kept after an erasure request's deadline
 * (the exceptions of GDPR Art. 17(3) a host may rely on).
 */
export type RetentionBasis = ("legal_obligation" | "legal_claims" | "public_interest");

/**
 * How failed effects are retried: exponential backoff from `now`.
 */
export type RetryPolicy = {
  /**
   * Delay before the first retry, in seconds (at least 1); doubled each time.
   */
  base_delay_seconds: number;
  /**
   * Attempts in all, the first included (at least 1); past it the closure fails.
   */
  max_attempts: number;
  /**
   * The longest delay, in seconds.
   */
  max_delay_seconds: number;
};

/**
 * A member's role in a tenant.
 */
export type Role = ("owner" | "admin" | "billing" | "member");

/**
 * What a condition does to a closure.
 */
export type Rule = ("block" | "clear" | "warn");

/**
 * Tenants the account is primary owner of that have other members.
 */
export type SharedTenantRule = ("block_until_transferred" | "delete_and_remove_members");

/**
 * Who may close an SSO-managed account.
 */
export type SsoRule = ("super_admin_only" | "self_service");

/**
 * Data-protection regimes and their response deadlines for erasure requests.
 */
export type StatutoryRegime = ("gdpr" | "ccpa" | "none");

/**
 * The entity a blocker or warning concerns.
 */
export type Subject = ({
  /**
   * Account id.
   */
  id: UserId;
  kind: "account";
} | {
  /**
   * Actor id.
   */
  id: UserId;
  kind: "actor";
} | {
  /**
   * Tenant id.
   */
  id: TenantId;
  kind: "tenant";
} | {
  /**
   * Subscription id.
   */
  id: SubscriptionId;
  kind: "subscription";
} | {
  kind: "domain";
  /**
   * Domain name.
   */
  name: DomainName;
} | {
  /**
   * Payment method id.
   */
  id: PaymentMethodId;
  kind: "payment_method";
} | {
  /**
   * Invoice id.
   */
  id: InvoiceId;
  kind: "invoice";
} | {
  kind: "balance";
  /**
   * The tenant whose balance it is; absent for the account's own.
   */
  tenant?: (TenantId | null);
} | {
  /**
   * Hold id.
   */
  id: LegalHoldId;
  kind: "legal_hold";
});

/**
 * A subscription or add-on as the billing provider reports it.
 */
export type Subscription = {
  /**
   * For an add-on, the subscription it is attached to; absent for a plan.
   */
  add_on_of?: (SubscriptionId | null);
  /**
   * Whether it is already set to end at the period end instead of renewing.
   */
  cancel_at_period_end?: boolean;
  /**
   * End of the current billing period.
   */
  current_period_end: string;
  /**
   * Subscription id at the billing provider.
   */
  id: SubscriptionId;
  /**
   * Plan or product name.
   */
  plan: string;
  /**
   * Status as the billing provider reports it.
   */
  status: SubscriptionStatus;
  /**
   * The tenant that owns it; absent when the account owns it directly.
   */
  tenant?: (TenantId | null);
};

/**
 * A subscription or add-on the closure cancels.
 */
export type SubscriptionCancellation = {
  /**
   * Whether it is an add-on.
   */
  add_on: boolean;
  /**
   * The instant service ends.
   */
  ends_at: string;
  /**
   * Its plan.
   */
  plan: string;
  /**
   * The subscription.
   */
  subscription: SubscriptionId;
  /**
   * Its tenant, if any.
   */
  tenant: (TenantId | null);
  /**
   * When service ends.
   */
  timing: CancelTiming;
  /**
   * What happens to unused paid time.
   */
  unused_time: UnusedTime;
};

/**
 * A subscription or add-on at the billing provider.
 */
export type SubscriptionId = string;

/**
 * Subscription statuses, as Stripe names them.
 */
export type SubscriptionStatus = ("trialing" | "active" | "past_due" | "unpaid" | "paused" | "canceled" | "incomplete" | "incomplete_expired");

/**
 * A tenant the account is a member of, with all its members.
 */
export type Tenant = {
  /**
   * The tenant's balance with the platform, if it has one.
   */
  balance?: (Balance | null);
  /**
   * Tenant id.
   */
  id: TenantId;
  /**
   * Every member, the account holder included.
   */
  members: Array<Member>;
  /**
   * Display name.
   */
  name: string;
  /**
   * The primary owner: the member who answers for the tenant. Must be a
   * member with the `owner` role.
   */
  primary_owner: UserId;
};

/**
 * A tenant the closure deletes.
 */
export type TenantDeletion = {
  /**
   * The other members removed with it (the holder excluded).
   */
  members_removed: Array<UserId>;
  /**
   * Its name.
   */
  name: string;
  /**
   * The tenant.
   */
  tenant: TenantId;
};

/**
 * A tenant (organisation, workspace, network).
 */
export type TenantId = string;

/**
 * What happens to unused paid time when a subscription ends early.
 */
export type UnusedTime = ("credit" | "refund" | "none");

/**
 * A person: the account holder, a tenant member, an SSO super admin or a
 * support operator.
 */
export type UserId = string;

/**
 * Something worth knowing that does not block.
 */
export type Warning = {
  /**
   * Stable machine code.
   */
  code: WarningCode;
  /**
   * A sentence for the person.
   */
  message: string;
  /**
   * What it concerns.
   */
  subject: Subject;
};

/**
 * Stable warning codes.
 */
export type WarningCode = ("irreversible" | "signed_out_on_confirmation" | "invoices_download_window" | "co_members_lose_access" | "credit_balance" | "legal_hold" | "nameservers_point_here" | "partial_setup_live" | "invoice_unpaid" | "balance_owed" | "dispute_open");
