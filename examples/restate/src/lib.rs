//! Account closures on Restate.
//!
//! The offboard machine is pure: time, identities and outcomes go in;
//! a new state, audit events and effects come out. On Restate that maps to:
//!
//! - a virtual object [`Closure`], one per account (its key is the account
//!   id, which is also the closure's id), whose exclusive handlers are the
//!   commands and whose state is the `ClosureState`, its version and its
//!   audit log. Restate runs one exclusive handler per key at a time, the
//!   single writer the machine needs;
//! - the time and the account's snapshot read inside `ctx.run` steps, so a
//!   replay after a crash steps the machine on exactly the inputs the first
//!   run saw;
//! - each effect handed to the [`Effects`] service, which performs it in a
//!   `ctx.run` step under the effect's id as idempotency key and sends the
//!   outcome back to the object's `report` handler;
//! - `next_tick` as a delayed call of the object's own `tick` handler: a
//!   durable timer, whether it is a second or ten years away.
//!
//! The downstream systems are the reference service's fakes
//! ([`offboard_service::adapters`]), recording each key in a database that
//! also holds the account tables the snapshots are read from.

pub mod clock;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use offboard::audit::AuditEvent;
use offboard::machine::{
    step, ClosureState, Command, CommandKind, Context as StepContext, Outcome, Waiting,
};
use offboard::model::{Actor, UserId};
use offboard::plan::{Effect, EffectId};
use offboard::{ClosurePolicy, Snapshot};
use offboard_service::adapters::{
    Adapter, Adapters, Answer as DownstreamAnswer, Call, Downstream, Mode, Refusal,
};
use offboard_service::auth::{AuthError, Authenticator, Caller};
use offboard_service::store::Store;
use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

pub use clock::Clock;

/// What every handler of this deployment shares.
#[derive(Debug)]
pub struct Env {
    /// The account tables and the downstream fakes' record.
    pub store: Store,
    /// The downstream systems.
    pub adapters: Adapters,
    /// The closure policy every closure runs under.
    pub policy: ClosurePolicy,
    /// Where time comes from.
    pub clock: Clock,
    /// This process's name, recorded by the fakes with each call.
    pub worker: String,
    /// Whether the test switches (`Ops/set_mode`) answer; off by default.
    pub test_switches: bool,
    /// How long an adapter call may take before it counts as a retryable failure.
    pub call_timeout: Duration,
    /// Who is calling: bearer tokens, as the service verifies them. With
    /// nothing configured every caller is anonymous and every command and
    /// read is refused.
    pub auth: Authenticator,
}

/// A command as the ingress carries it: the command and the version it
/// was decided on, if any (`If-Match`). Who sends it comes from the
/// request's `Authorization: Bearer <token>` header, never from the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCall {
    /// What it asks.
    pub command: Command,
    /// The closure's version the sender saw; a different one is refused.
    #[serde(default)]
    pub if_version: Option<u64>,
}

/// An effect's outcome, sent back by [`Effects`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The effect.
    pub effect: EffectId,
    /// How it went.
    pub outcome: Outcome,
}

/// A durable timer's call: the time it was set for (a timer whose time is
/// no longer the one the object waits for is stale and does nothing).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickCall {
    /// When it was due, in the closure's time.
    pub due: DateTime<Utc>,
}

/// An effect to perform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PerformCall {
    /// The account (and closure) it belongs to.
    pub account: String,
    /// The effect, its id the idempotency key.
    pub effect: Effect,
    /// The delivery, counting from 1.
    pub attempt: i64,
}

/// What the status handler answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// The phase, `none` before the first request.
    pub phase: String,
    /// Accepted commands so far.
    pub version: u64,
    /// When the closure next acts on its own, if ever.
    pub next_tick: Option<DateTime<Utc>>,
    /// What the closure waits for, named (empty at an end).
    pub waiting: Vec<Waiting>,
    /// Why the closure cannot move on its own, when its last timer or
    /// outcome was refused for a reason only an operator clears (the
    /// policy changed under it: `migrate_policy`). Outcomes refused so are
    /// kept and delivered again once a command is accepted.
    pub held_up: Option<String>,
    /// Outcomes performed downstream and refused for that reason, kept.
    pub kept_outcomes: usize,
    /// The state itself (the `status` handler's answer; command answers
    /// leave it out).
    pub state: Option<ClosureState>,
}

/// What the audit handler answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditAnswer {
    /// Every event, oldest first.
    pub events: Vec<AuditEvent>,
    /// Whether the chain verifies up to the head the state records.
    pub verified: bool,
    /// Why not, when it does not.
    pub problem: Option<String>,
}

/// An adapter's behaviour to set (a test switch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetMode {
    /// Which system.
    pub adapter: Adapter,
    /// How it behaves from now on.
    pub mode: Mode,
}

const STATE: &str = "state";
const VERSION: &str = "version";
const AUDIT: &str = "audit";
const TIMER: &str = "timer";
const HELD_UP: &str = "held_up";
/// How soon a refused tick is tried again, in real time.
const TICK_AGAIN: Duration = Duration::from_secs(10);
const PENDING: &str = "pending_reports";

/// A refusal of a timer or an outcome that an operator's command clears.
fn operator_clears(refused: &Refused) -> bool {
    refused.code == "policy_changed"
}

/// A command refused: its stable code and message. Nothing was written.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The library's error code (`wrong_state`, `not_allowed`, …), or this
    /// host's (`version_mismatch`, `no_closure`, `wrong_handler`).
    pub code: String,
    /// What to tell the caller.
    pub message: String,
}

impl Refused {
    fn new(code: &str, message: impl std::fmt::Display) -> Refused {
        Refused {
            code: code.to_owned(),
            message: message.to_string(),
        }
    }

    /// As a terminal error with an HTTP-like status, `code: message`.
    fn terminal(self) -> HandlerError {
        let status = match self.code.as_str() {
            "authentication_required" | "token_expired" | "token_invalid" => 401,
            "version_mismatch" | "wrong_state" | "blocked" | "policy_changed" => 409,
            "not_allowed" | "reauthentication_required" => 403,
            _ => 422,
        };
        TerminalError::new_with_code(status, format!("{}: {}", self.code, self.message)).into()
    }
}

/// Who sends a command: the closure's own machinery (timers, outcomes:
/// handlers the ingress cannot reach), or a caller through the ingress,
/// identified by the request's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    System,
    Ingress,
}

/// The caller of an ingress request, from its `authorization` header (or,
/// under `--insecure-trust-actor-header`, its `x-offboard-actor` header)
/// checked at `now`: anonymous callers and bad credentials are refused.
pub fn identify(
    auth: &Authenticator,
    headers: &restate_sdk::context::HeaderMap,
    now: DateTime<Utc>,
) -> Result<Caller, Refused> {
    let mut map = offboard_service::auth::HeaderMap::new();
    for name in ["authorization", "x-offboard-actor"] {
        if let Some(value) = headers.get(name) {
            let value = offboard_service::auth::HeaderValue::from_str(value).map_err(|_| {
                Refused::new("token_invalid", format!("the {name} header is not text"))
            })?;
            map.insert(name, value);
        }
    }
    match auth.identify(&map, now) {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(Refused::new(AuthError::Missing.code(), AuthError::Missing)),
        Err(e) => Err(Refused::new(e.code(), &e)),
    }
}

/// Whether `caller` may send commands about `account` at all, as the
/// service's gate has it: support, the holder, or a person whose token
/// carries the SSO super admin role (the machine then checks that their
/// organisation manages the account). Checked before anything about the
/// closure is looked at, so a stranger learns nothing of it.
fn may_command(caller: &Caller, account: &str) -> bool {
    match caller.actor.role {
        offboard::ActorRole::SupportOperator => true,
        offboard::ActorRole::User => caller.actor.id.as_str() == account || caller.sso_admin,
        offboard::ActorRole::System => false,
    }
}

/// Whether `actor` may read the closure of `account`: its holder, or
/// support. (An SSO organisation's admin reads through the product.)
fn may_read(actor: &Actor, account: &str) -> bool {
    match actor.role {
        offboard::ActorRole::SupportOperator => true,
        offboard::ActorRole::User => actor.id.as_str() == account,
        offboard::ActorRole::System => false,
    }
}

/// What a step answers: the status after it, or the refusal.
type Stepped = Result<Result<Status, Refused>, HandlerError>;

fn refused(code: &str, message: impl std::fmt::Display) -> Stepped {
    Ok(Err(Refused::new(code, message)))
}

/// The closure of one account: a Restate virtual object.
#[derive(Debug, Clone)]
pub struct Closure(pub Arc<Env>);

impl Closure {
    /// Refuses a read unless the caller may read this closure. Reads take
    /// the time straight from the clock: they write nothing to replay.
    fn reader(&self, ctx: &SharedObjectContext<'_>) -> Result<(), HandlerError> {
        let actor = identify(&self.0.auth, ctx.headers(), self.0.clock.now())
            .map_err(Refused::terminal)?
            .actor;
        if !may_read(&actor, ctx.key()) {
            return Err(Refused::new(
                "not_allowed",
                format!("{} may not read the closure of {}", actor.id, ctx.key()),
            )
            .terminal());
        }
        Ok(())
    }

    /// Runs `command` from `sender` on this object's closure, in this
    /// exclusive invocation: reads the time in a journaled step, identifies
    /// the caller before anything about the closure is looked at, reads the
    /// snapshot (when needed) in another journaled step, steps the machine,
    /// and on acceptance stores the state, appends the audit events, hands
    /// out the effects and sets the next timer. A refusal changes nothing.
    async fn apply(
        &self,
        ctx: &ObjectContext<'_>,
        sender: Sender,
        command: &Command,
        if_version: Option<u64>,
    ) -> Stepped {
        let env = &self.0;
        let account = ctx.key().to_owned();
        let clock = env.clock;
        let now: String = ctx
            .run(|| async move { Ok(clock.now().to_rfc3339()) })
            .name("now")
            .await?;
        let now: DateTime<Utc> = now
            .parse()
            .map_err(|e| TerminalError::new(format!("journaled time: {e}")))?;
        // A person reaching someone else's account (an SSO admin) learns
        // nothing of the closure until the machine has found that their
        // organisation manages it.
        let mut reaching_other = false;
        let actor = match sender {
            Sender::System => system(env)?,
            Sender::Ingress => match identify(&env.auth, ctx.headers(), now) {
                Ok(caller) if may_command(&caller, &account) => {
                    reaching_other = caller.actor.role == offboard::ActorRole::User
                        && caller.actor.id.as_str() != account;
                    caller.actor
                }
                Ok(caller) => {
                    return refused(
                        "not_allowed",
                        format!(
                            "{} may reach only their own account, or one their SSO organisation manages",
                            caller.actor.id
                        ),
                    )
                }
                Err(refusal) => return Ok(Err(refusal)),
            },
        };
        let actor = &actor;
        let version = ctx.get::<u64>(VERSION).await?.unwrap_or(0);
        let state = match ctx.get::<Json<ClosureState>>(STATE).await? {
            Some(Json(state)) => state,
            None if matches!(command, Command::Request { .. }) => {
                let id = match UserId::new(account.clone()) {
                    Ok(id) => id,
                    Err(e) => return refused("invalid_value", e),
                };
                match ClosureState::new(account.clone(), id) {
                    Ok(state) => state,
                    Err(e) => return refused(e.code().as_str(), e),
                }
            }
            None if reaching_other => {
                return refused(
                    "not_allowed",
                    format!("{} may not act on the closure of {account}", actor.id),
                )
            }
            None => return refused("no_closure", "no closure was requested"),
        };
        // The closure's time never runs backwards: an endpoint whose clock
        // is behind the one that stepped it last steps at that time.
        let now = state.clock.map_or(now, |seen| now.max(seen));
        let snapshot = if state.needs_snapshot() {
            let store = env.store.clone();
            let read = account.clone();
            let text: Option<String> = ctx
                .run(|| async move {
                    match store.account(&read, now).await {
                        Ok(snapshot) => Ok(Some(serde_json::to_string(&snapshot)?)),
                        Err(offboard_service::error::ServiceError::UnknownAccount(_)) => Ok(None),
                        Err(e) => Err(HandlerError::from(e.to_string())),
                    }
                })
                .name("snapshot")
                .await?;
            text.map(|t| Snapshot::from_json(&t))
                .transpose()
                .map_err(|e| TerminalError::new(format!("journaled snapshot: {e}")))?
        } else {
            None
        };
        let step_ctx = StepContext {
            now,
            actor,
            policy: &env.policy,
            snapshot: snapshot.as_ref(),
            audit_key: None,
        };
        let stepped = match step(&state, command, &step_ctx) {
            Ok(stepped) => stepped,
            // An outcome for an effect already settled: accepted, harmlessly.
            Err(e)
                if matches!(command, Command::ReportOutcome { .. })
                    && e.code().as_str() == "effect_settled" =>
            {
                return Ok(Ok(view(Some(state), version, &env.policy)));
            }
            Err(e) => return refused(e.code().as_str(), e),
        };
        // Checked once the machine has accepted the caller, so a refusal
        // here tells only those it lets act what the version is.
        if if_version.is_some_and(|v| v != version) {
            return refused(
                "version_mismatch",
                format!("the closure is at version {version}"),
            );
        }
        let version = version + 1;
        let mut audit = ctx
            .get::<Json<Vec<AuditEvent>>>(AUDIT)
            .await?
            .map(|Json(events)| events)
            .unwrap_or_default();
        audit.extend(stepped.audit);
        ctx.set(AUDIT, Json(audit));
        ctx.set(VERSION, version);
        for effect in stepped.effects {
            let attempt = stepped
                .state
                .effects
                .iter()
                .find(|r| r.effect.id == effect.id)
                .map_or(1, |r| i64::from(r.failures) + 1);
            ctx.service_client::<EffectsClient>()
                .perform(Json(PerformCall {
                    account: account.clone(),
                    effect,
                    attempt,
                }))
                .send();
        }
        self.arm_timer(ctx, &stepped.state, now).await?;
        ctx.set(STATE, Json(stepped.state.clone()));
        // Accepted: whatever held the closure up is cleared, and outcomes
        // kept back are delivered again (in invocations of their own).
        ctx.clear(HELD_UP);
        if let Some(Json(pending)) = ctx.get::<Json<Vec<Report>>>(PENDING).await? {
            ctx.clear(PENDING);
            for report in pending {
                ctx.object_client::<ClosureClient>(ctx.key())
                    .report(Json(report))
                    .send();
            }
        }
        Ok(Ok(view(Some(stepped.state), version, &env.policy)))
    }

    /// Sets a timer for the state's next tick, unless one is set for it.
    async fn arm_timer(
        &self,
        ctx: &ObjectContext<'_>,
        state: &ClosureState,
        now: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        let next = state.next_tick(&self.0.policy);
        let armed = ctx
            .get::<Json<DateTime<Utc>>>(TIMER)
            .await?
            .map(|Json(t)| t);
        match next {
            Some(due) if armed != Some(due) => {
                ctx.object_client::<ClosureClient>(ctx.key())
                    .tick(Json(TickCall { due }))
                    .send_after(self.0.clock.delay(now, due));
                ctx.set(TIMER, Json(due));
            }
            Some(_) => {}
            None => ctx.clear(TIMER),
        }
        Ok(())
    }

    /// A command handler: the command must be the handler's own kind.
    async fn run_command(
        &self,
        ctx: ObjectContext<'_>,
        call: CommandCall,
        kind: CommandKind,
    ) -> Result<Json<Status>, HandlerError> {
        if call.command.kind() != kind {
            return Err(Refused::new(
                "wrong_handler",
                format!("this handler takes `{}` commands", kind.as_str()),
            )
            .terminal());
        }
        match self
            .apply(&ctx, Sender::Ingress, &call.command, call.if_version)
            .await?
        {
            // What the closure holds is for `status`, which checks who reads.
            Ok(status) => Ok(Json(Status {
                state: None,
                ..status
            })),
            Err(refused) => Err(refused.terminal()),
        }
    }

    /// The status as stored, in an exclusive invocation.
    async fn current(&self, ctx: &ObjectContext<'_>) -> Result<Status, HandlerError> {
        let state = ctx.get::<Json<ClosureState>>(STATE).await?.map(|Json(s)| s);
        let version = ctx.get::<u64>(VERSION).await?.unwrap_or(0);
        Ok(Status {
            held_up: ctx.get::<String>(HELD_UP).await?,
            kept_outcomes: ctx
                .get::<Json<Vec<Report>>>(PENDING)
                .await?
                .map_or(0, |Json(p)| p.len()),
            ..view(state, version, &self.0.policy)
        })
    }
}

fn view(state: Option<ClosureState>, version: u64, policy: &ClosurePolicy) -> Status {
    Status {
        held_up: None,
        kept_outcomes: 0,
        phase: state
            .as_ref()
            .map_or("none".to_owned(), |s| s.phase.kind().as_str().to_owned()),
        version,
        next_tick: state.as_ref().and_then(|s| s.next_tick(policy)),
        waiting: state
            .as_ref()
            .map(|s| s.waiting(policy))
            .unwrap_or_default(),
        state,
    }
}

fn system(env: &Env) -> Result<Actor, HandlerError> {
    let id = UserId::new(env.worker.clone()).map_err(|e| TerminalError::new(e.to_string()))?;
    Ok(Actor::system_as(id))
}

#[restate_sdk::object]
impl Closure {
    /// The holder (or support, or the system) asks for the closure.
    #[handler]
    async fn request(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::Request).await
    }

    /// The holder confirms what they were shown.
    #[handler]
    async fn confirm(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::Confirm).await
    }

    /// The holder cancels, while the policy lets them.
    #[handler]
    async fn cancel(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::Cancel).await
    }

    /// Support places a legal hold.
    #[handler]
    async fn place_hold(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::PlaceHold).await
    }

    /// Support releases a legal hold.
    #[handler]
    async fn release_hold(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::ReleaseHold).await
    }

    /// An operator retries a failed closure.
    #[handler]
    async fn retry(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::Retry).await
    }

    /// An operator abandons a failed closure before its point of no return.
    #[handler]
    async fn abort(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::Abort).await
    }

    /// An operator carries a closure over to the policy now deployed
    /// (after a policy change refused its timers and outcomes).
    #[handler]
    async fn migrate_policy(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<CommandCall>,
    ) -> Result<Json<Status>, HandlerError> {
        self.run_command(ctx, call, CommandKind::MigratePolicy)
            .await
    }

    /// An effect's outcome, from [`Effects`].
    #[handler]
    async fn report(
        &self,
        ctx: ObjectContext<'_>,
        Json(report): Json<Report>,
    ) -> Result<Json<Status>, HandlerError> {
        let command = Command::ReportOutcome {
            effect: report.effect.clone(),
            outcome: report.outcome.clone(),
        };
        match self.apply(&ctx, Sender::System, &command, None).await? {
            Ok(status) => Ok(Json(status)),
            // Performed downstream, refused here until an operator acts:
            // kept, so the closure does not wait for it forever.
            Err(refused) if operator_clears(&refused) => {
                let mut pending = ctx
                    .get::<Json<Vec<Report>>>(PENDING)
                    .await?
                    .map(|Json(p)| p)
                    .unwrap_or_default();
                pending.push(report);
                ctx.set(PENDING, Json(pending));
                ctx.set(HELD_UP, format!("{}: {}", refused.code, refused.message));
                Ok(Json(self.current(&ctx).await?))
            }
            Err(refused) => Err(refused.terminal()),
        }
    }

    /// A durable timer fired.
    #[handler]
    async fn tick(
        &self,
        ctx: ObjectContext<'_>,
        Json(call): Json<TickCall>,
    ) -> Result<(), HandlerError> {
        let armed = ctx
            .get::<Json<DateTime<Utc>>>(TIMER)
            .await?
            .map(|Json(t)| t);
        if armed != Some(call.due) {
            return Ok(()); // a timer set before a newer one: nothing to do
        }
        let clock = self.0.clock;
        let now: String = ctx
            .run(|| async move { Ok(clock.now().to_rfc3339()) })
            .name("tick_now")
            .await?;
        let now: DateTime<Utc> = now
            .parse()
            .map_err(|e| TerminalError::new(format!("journaled time: {e}")))?;
        if now < call.due {
            // This endpoint's clock is behind the one that set the timer:
            // wait out the rest rather than step idly.
            let rest = clock.delay(now, call.due);
            ctx.object_client::<ClosureClient>(ctx.key())
                .tick(Json(call))
                .send_after(rest);
            return Ok(());
        }
        ctx.clear(TIMER);
        if let Err(refused) = self
            .apply(&ctx, Sender::System, &Command::Tick, None)
            .await?
        {
            // The closure cannot step now: a policy changed under it, or
            // its account data cannot be read. It says so in `held_up` and
            // tries again on its own (an accepted command, such as
            // `migrate_policy`, moves it at once), so it resumes whenever
            // the cause goes, a rolled-back deploy included.
            ctx.set(HELD_UP, format!("{}: {}", refused.code, refused.message));
            ctx.set(TIMER, Json(call.due));
            ctx.object_client::<ClosureClient>(ctx.key())
                .tick(Json(call))
                .send_after(TICK_AGAIN);
        }
        Ok(())
    }

    /// The closure's phase, version, next tick and what it waits for.
    #[handler]
    async fn status(&self, ctx: SharedObjectContext<'_>) -> Result<Json<Status>, HandlerError> {
        self.reader(&ctx)?;
        let state = ctx.get::<Json<ClosureState>>(STATE).await?.map(|Json(s)| s);
        let version = ctx.get::<u64>(VERSION).await?.unwrap_or(0);
        Ok(Json(Status {
            held_up: ctx.get::<String>(HELD_UP).await?,
            kept_outcomes: ctx
                .get::<Json<Vec<Report>>>(PENDING)
                .await?
                .map_or(0, |Json(p)| p.len()),
            ..view(state, version, &self.0.policy)
        }))
    }

    /// The audit log, verified against the head the state records.
    #[handler]
    async fn audit(&self, ctx: SharedObjectContext<'_>) -> Result<Json<AuditAnswer>, HandlerError> {
        self.reader(&ctx)?;
        let events = ctx
            .get::<Json<Vec<AuditEvent>>>(AUDIT)
            .await?
            .map(|Json(e)| e)
            .unwrap_or_default();
        let head = ctx
            .get::<Json<ClosureState>>(STATE)
            .await?
            .map(|Json(s)| s.audit.head.clone());
        let problem = match head {
            Some(head) => offboard::audit::verify_with_head(&events, &head)
                .err()
                .map(|e| e.to_string()),
            None => None,
        };
        Ok(Json(AuditAnswer {
            verified: problem.is_none(),
            problem,
            events,
        }))
    }
}

/// Performs effects: a Restate service (no state of its own).
#[derive(Debug, Clone)]
pub struct Effects(pub Arc<Env>);

#[restate_sdk::service]
impl Effects {
    /// Calls the downstream system in a journaled step keyed by the
    /// effect's id, then reports the outcome to the closure. The step is
    /// at least once across a failover; the key makes a repeat harmless.
    #[handler]
    async fn perform(
        &self,
        ctx: Context<'_>,
        Json(call): Json<PerformCall>,
    ) -> Result<(), HandlerError> {
        let env = Arc::clone(&self.0);
        let key = call.effect.id.to_string();
        let account = call.account.clone();
        let action = call.effect.action.clone();
        let attempt = call.attempt;
        let Json(outcome) = ctx
            .run(|| async move {
                // This host's closure ids are its account ids.
                let called = env
                    .adapters
                    .call(&env.worker, &account, &key, attempt, &action);
                let outcome = match tokio::time::timeout(env.call_timeout, called).await {
                    Ok(Ok(())) => Outcome::Succeeded,
                    Ok(Err(Refusal::Retryable(reason))) => Outcome::RetryableFailure { reason },
                    Ok(Err(Refusal::Permanent(reason))) => Outcome::PermanentFailure { reason },
                    Err(_) => Outcome::RetryableFailure {
                        reason: format!("no answer within {:?}", env.call_timeout),
                    },
                };
                Ok(Json(outcome))
            })
            .name(call.effect.id.to_string())
            .await?;
        ctx.object_client::<ClosureClient>(call.account)
            .report(Json(Report {
                effect: call.effect.id,
                outcome,
            }))
            .send();
        Ok(())
    }
}

/// The reference service's fake downstream system, recording in its
/// database, told whose account the identity system acts on (this host
/// keeps no outbox there to look it up by): the closure's id, which here
/// is the account's.
#[derive(Debug)]
pub struct Recorder {
    adapter: Adapter,
    store: Store,
}

impl Recorder {
    /// The four fakes, recording in `store`, `flaky_percent` of first
    /// calls failing retryably (the same keys on every run).
    pub fn adapters(store: &Store, flaky_percent: u8) -> Adapters {
        Adapter::ALL.into_iter().fold(
            Adapters::fakes(store, flaky_percent),
            |adapters, adapter| {
                adapters.with(
                    adapter,
                    Arc::new(Recorder {
                        adapter,
                        store: store.clone(),
                    }),
                )
            },
        )
    }
}

impl Downstream for Recorder {
    fn perform<'a>(&'a self, call: Call<'a>) -> DownstreamAnswer<'a> {
        Box::pin(async move {
            let adapter = self.adapter;
            self.store
                .downstream_perform_for(
                    adapter,
                    call.key,
                    call.action,
                    call.worker,
                    Some(call.closure),
                )
                .await
                .map_err(|e| Refusal::Retryable(format!("{adapter} unreachable: {e}")))
        })
    }
}

/// Operator tools of this deployment.
#[derive(Debug, Clone)]
pub struct Ops(pub Arc<Env>);

#[restate_sdk::service]
impl Ops {
    /// A test switch: how an adapter behaves in this process from now on.
    /// Refused unless the process was started with `--test-switches`.
    #[handler]
    async fn set_mode(
        &self,
        _ctx: Context<'_>,
        Json(set): Json<SetMode>,
    ) -> Result<(), HandlerError> {
        if !self.0.test_switches {
            return Err(TerminalError::new_with_code(
                403,
                "test switches are off (start with --test-switches)",
            )
            .into());
        }
        self.0.adapters.set_mode(set.adapter, set.mode);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use offboard_service::auth::{AuthConfig, AuthMode, KeySource};

    fn headers(pairs: &[(&'static str, &str)]) -> restate_sdk::context::HeaderMap {
        let mut map = restate_sdk::context::HeaderMap::with_capacity(2);
        for (name, value) in pairs {
            map.insert(*name, (*value).to_owned());
        }
        map
    }

    fn now() -> DateTime<Utc> {
        "2026-12-03T10:00:00Z".parse().unwrap()
    }

    const SUPPORT: &str = r#"{"id":"ops_1","role":"support_operator","reauthenticated_at":null}"#;

    #[test]
    fn with_nothing_configured_every_caller_is_refused() {
        let auth = Authenticator::new(&AuthMode::Unconfigured).unwrap();
        for pairs in [
            vec![],
            vec![("x-offboard-actor", SUPPORT)],
            vec![("authorization", "Bearer anything")],
        ] {
            let refused = identify(&auth, &headers(&pairs), now()).unwrap_err();
            assert_eq!(refused.code, "authentication_required", "{pairs:?}");
        }
    }

    #[test]
    fn a_token_names_the_caller_and_a_bad_one_is_refused() {
        let secret = "a-secret-of-at-least-thirty-two-bytes-0123";
        let path =
            std::env::temp_dir().join(format!("offboard-restate-key-{}", std::process::id()));
        std::fs::write(&path, secret).unwrap();
        let mut config = AuthConfig::new("https://id.test", "offboard");
        config
            .keys
            .push(KeySource::Hs256SecretFile(path.display().to_string()));
        let auth = Authenticator::new(&AuthMode::Jwt(config)).unwrap();
        let sign = |secret: &str, roles: &[&str], ttl| {
            offboard_service::auth::sign_dev_token(
                secret.as_bytes(),
                "https://id.test",
                "offboard",
                "ops_1",
                roles,
                now(),
                ttl,
            )
            .unwrap()
        };
        let bearer = |token: &str| format!("Bearer {token}");
        let good = bearer(&sign(secret, &["offboard:support"], 600));
        let actor = identify(&auth, &headers(&[("authorization", &good)]), now())
            .unwrap()
            .actor;
        assert_eq!(actor.id.as_str(), "ops_1");
        assert_eq!(actor.role, offboard::ActorRole::SupportOperator);
        let person = bearer(&sign(secret, &[], 600));
        let actor = identify(&auth, &headers(&[("authorization", &person)]), now())
            .unwrap()
            .actor;
        assert_eq!(actor.role, offboard::ActorRole::User);
        let cases = [
            (bearer(&sign(secret, &[], -3600)), "token_expired"),
            (
                bearer(&sign(
                    "another-secret-of-thirty-two-bytes-or-more",
                    &[],
                    600,
                )),
                "token_invalid",
            ),
            ("Basic b3BzXzE6cGFzcw==".to_owned(), "token_invalid"),
        ];
        for (value, code) in cases {
            let refused =
                identify(&auth, &headers(&[("authorization", &value)]), now()).unwrap_err();
            assert_eq!(refused.code, code, "{value}");
        }
        // Under token keys, the insecure header names nobody.
        let refused =
            identify(&auth, &headers(&[("x-offboard-actor", SUPPORT)]), now()).unwrap_err();
        assert_eq!(refused.code, "authentication_required");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn only_the_holder_and_support_read_a_closure() {
        let actor = |id: &str, role: &str| -> Actor {
            serde_json::from_value(serde_json::json!({
                "id": id, "role": role, "reauthenticated_at": null}))
            .unwrap()
        };
        assert!(may_read(&actor("u_1", "user"), "u_1"));
        assert!(!may_read(&actor("u_2", "user"), "u_1"));
        assert!(may_read(&actor("ops_1", "support_operator"), "u_1"));
        assert!(!may_read(&actor("system", "system"), "u_1"));
    }

    #[test]
    fn a_person_commands_another_account_only_with_the_sso_admin_role() {
        let caller = |id: &str, role: &str, sso_admin: bool| Caller {
            actor: serde_json::from_value(serde_json::json!({
                "id": id, "role": role, "reauthenticated_at": null}))
            .unwrap(),
            sso_admin,
        };
        assert!(may_command(&caller("u_1", "user", false), "u_1"));
        assert!(!may_command(&caller("u_2", "user", false), "u_1"));
        assert!(may_command(&caller("u_2", "user", true), "u_1"));
        assert!(may_command(
            &caller("ops_1", "support_operator", false),
            "u_1"
        ));
        assert!(!may_command(&caller("system", "system", true), "u_1"));
    }
}
