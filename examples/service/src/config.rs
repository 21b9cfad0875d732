//! Command-line configuration.

use std::net::SocketAddr;

use offboard::ClosurePolicy;

use crate::adapters::{Adapter, Mode};
use crate::auth::{AuthFlags, AuthMode};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://file?mode=rwc` (the default) or `postgres://…`.
    pub database_url: String,
    /// PostgreSQL schema to keep the tables in.
    pub schema: Option<String>,
    /// Drop the schema first (tests).
    pub reset_schema: bool,
    /// Where the HTTP API listens; `None` runs workers only.
    pub listen: Option<SocketAddr>,
    /// Worker tasks in this process.
    pub workers: usize,
    /// This process's name, for worker ids and the downstream record.
    pub name: String,
    /// The closure policy.
    pub policy: ClosurePolicy,
    /// Idle sleep between worker passes.
    pub poll_ms: u64,
    /// How long a leased effect stays with its worker.
    pub lease_seconds: i64,
    /// How long an adapter call may take.
    pub adapter_timeout_ms: u64,
    /// Closures whose effects one worker performs at once. Each performs
    /// its effects one after the other, two transactions apiece, so this
    /// bounds the worker's demand on the connection pool.
    pub effect_concurrency: usize,
    /// How often a halted closure is looked at again.
    pub halted_recheck_seconds: i64,
    /// Share of first calls the adapters fail at random (by key).
    pub flaky_percent: u8,
    /// Adapter modes set at start.
    pub adapter_modes: Vec<(Adapter, Mode)>,
    /// Whether `POST /v1/ops/clock` may move the clock (tests only).
    pub allow_time_travel: bool,
    /// A test fault point: the process aborts right after its Nth adapter
    /// call has succeeded, before the outcome is reported, so a crash test
    /// lands in the window where the downstream has acted and the closure
    /// does not know it yet.
    pub crash_after_adapter_calls: Option<u64>,
    /// A web origin whose pages may call the API (CORS), or `*` for any.
    pub allow_origin: Option<String>,
    /// Host names the API answers to, besides the loopback names
    /// (`localhost`, `127.0.0.1`, `[::1]`) and the listening address: a
    /// request naming any other `Host` is refused (DNS rebinding).
    pub allow_hosts: Vec<String>,
    /// How callers are identified.
    pub auth: AuthMode,
    /// How much one request may ask of the service.
    pub limits: Limits,
    /// How long a stopping process waits for its workers.
    pub shutdown_grace_ms: u64,
    /// Billing on Stripe instead of the fake.
    pub stripe: Option<StripeConfig>,
}

/// Where billing's Stripe API is, and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeConfig {
    /// The API's base URL (`https://api.stripe.com`, or a localstripe).
    pub api: String,
    /// A file holding the secret key (`sk_…`).
    pub key_file: String,
}

/// How much one request may ask of the service; each refusal is typed
/// ([`crate::ServiceError::LimitExceeded`], 413 `limit_exceeded`, or 413
/// `input_too_large` for the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// The most entities (tenants, members, subscriptions, domains, payment
    /// methods, invoices, legal holds) in one account's snapshot.
    pub snapshot_entities: usize,
    /// The most effects in one closure's plan.
    pub plan_effects: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 4 * 1024 * 1024,
            snapshot_entities: 25_000,
            plan_effects: 25_000,
        }
    }
}

/// The usage text.
pub const USAGE: &str = "\
offboard-service: a durable account-closure service (reference host for the offboard crate)

usage: offboard-service [options]
  --database URL            sqlite://offboard-service.db?mode=rwc (default) or postgres://...
  --schema NAME             PostgreSQL: keep the tables in this schema
  --reset-schema            PostgreSQL: drop that schema first (tests)
  --listen ADDR             HTTP address (default 127.0.0.1:8080; port 0 picks one)
  --no-api                  run workers only
  --workers N               worker tasks in this process (default 1; 0 for API only)
  --name NAME               this process's name (default w<pid>)
  --policy NAME|FILE        cascade (default), prerequisite, or a policy JSON file
  --poll-ms N               idle sleep between worker passes (default 200)
  --lease-seconds N         how long a worker holds an effect (default 30)
  --adapter-timeout-ms N    how long an adapter call may take (default 5000)
  --effect-concurrency N    closures whose effects a worker performs at once (default 32, a whole batch)
  --halted-recheck-seconds N  how often a halted closure is re-checked (default 3600)
  --flaky-percent N         fail N% of first adapter calls, chosen by key (default 0)
  --adapter NAME=MODE       ok, fail, fail_permanently or stall:MILLIS (repeatable)
  --allow-time-travel       let POST /v1/ops/clock move the clock forward (tests only)
  --crash-after-adapter-calls N  abort after the Nth successful adapter call, before its report (crash tests only)
  --allow-origin ORIGIN     let pages from ORIGIN (e.g. http://localhost:8000, or *) call the API
  --allow-host NAME         answer requests naming this Host too (repeatable; loopback names always)
  --max-body-bytes N        the largest request body (default 4194304)
  --max-snapshot-entities N the most entities in an account's snapshot (default 25000)
  --max-plan-effects N      the most effects in a closure's plan (default 25000)
  --shutdown-grace-ms N     on SIGTERM, how long to wait for busy workers (default 5000)
  --stripe-api URL          billing on Stripe's API at URL (with --stripe-key-file) instead of the fake
  --stripe-key-file FILE    the Stripe secret key (sk_...)

authentication (bearer JWTs; without it only /health answers, and only on loopback):
  --auth-hs256-secret-file FILE   an HMAC secret of at least 32 bytes (development)
  --auth-public-key FILE    a PEM RSA or EC public key (repeatable)
  --auth-jwks FILE          a JWKS document, as an OIDC provider publishes (repeatable)
  --auth-issuer ISS         the `iss` every token must carry (required with a key)
  --auth-audience AUD       the `aud` every token must name (required with a key)
  --auth-roles-claim PATH   the claim with the caller's roles (default roles; dots walk objects)
  --auth-operator-role NAME the role of support operators (default offboard:support)
  --auth-sso-admin-role NAME  the role of SSO super admins (default offboard:sso_super_admin)
  --insecure-trust-actor-header  take the x-offboard-actor header at its word (local demos
                            and tests only; refused on a non-loopback address)
";

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match number::<usize>(flag, value)? {
        0 => Err(format!("{flag}: at least 1")),
        n => Ok(n),
    }
}

fn mode(text: &str) -> Result<Mode, String> {
    match text {
        "ok" => Ok(Mode::Ok),
        "fail" => Ok(Mode::Fail),
        "fail_permanently" => Ok(Mode::FailPermanently),
        _ => match text.strip_prefix("stall:") {
            Some(ms) => Ok(Mode::Stall {
                millis: number("--adapter", ms)?,
            }),
            None => Err(format!(
                "--adapter: `{text}` is not ok, fail, fail_permanently or stall:MILLIS"
            )),
        },
    }
}

fn policy(choice: &str) -> Result<ClosurePolicy, String> {
    match ClosurePolicy::preset(choice) {
        Some(policy) => Ok(policy),
        None => {
            let text = std::fs::read_to_string(choice)
                .map_err(|e| format!("--policy: cannot read `{choice}`: {e}"))?;
            ClosurePolicy::from_json(&text).map_err(|e| format!("--policy: {e}"))
        }
    }
}

impl Config {
    /// Reads the command line (without the program name).
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config {
            database_url: "sqlite://offboard-service.db?mode=rwc".into(),
            schema: None,
            reset_schema: false,
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            workers: 1,
            name: format!("w{}", std::process::id()),
            policy: ClosurePolicy::cascade(),
            poll_ms: 200,
            lease_seconds: 30,
            adapter_timeout_ms: 5_000,
            effect_concurrency: 32,
            halted_recheck_seconds: 3_600,
            flaky_percent: 0,
            adapter_modes: Vec::new(),
            allow_time_travel: false,
            crash_after_adapter_calls: None,
            allow_origin: None,
            allow_hosts: Vec::new(),
            auth: AuthMode::Unconfigured,
            limits: Limits::default(),
            shutdown_grace_ms: 5_000,
            stripe: None,
        };
        let (mut stripe_api, mut stripe_key) = (None, None);
        let mut auth = AuthFlags::default();
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--database" => config.database_url = value()?,
                "--schema" => config.schema = Some(value()?),
                "--reset-schema" => config.reset_schema = true,
                "--listen" => {
                    let v = value()?;
                    config.listen = Some(
                        v.parse()
                            .map_err(|_| format!("--listen: `{v}` is not an address"))?,
                    );
                }
                "--no-api" => config.listen = None,
                "--workers" => config.workers = number(flag, &value()?)?,
                "--name" => config.name = value()?,
                "--policy" => config.policy = policy(&value()?)?,
                "--poll-ms" => config.poll_ms = number(flag, &value()?)?,
                "--lease-seconds" => config.lease_seconds = number(flag, &value()?)?,
                "--adapter-timeout-ms" => config.adapter_timeout_ms = number(flag, &value()?)?,
                "--effect-concurrency" => config.effect_concurrency = number(flag, &value()?)?,
                "--halted-recheck-seconds" => {
                    config.halted_recheck_seconds = number(flag, &value()?)?
                }
                "--flaky-percent" => {
                    let v: u8 = number(flag, &value()?)?;
                    if v > 100 {
                        return Err("--flaky-percent: at most 100".into());
                    }
                    config.flaky_percent = v;
                }
                "--adapter" => {
                    let v = value()?;
                    let (name, m) = v
                        .split_once('=')
                        .ok_or_else(|| format!("--adapter: `{v}` is not NAME=MODE"))?;
                    config.adapter_modes.push((name.parse()?, mode(m)?));
                }
                "--allow-time-travel" => config.allow_time_travel = true,
                "--crash-after-adapter-calls" => {
                    let v: u64 = number(flag, &value()?)?;
                    if v == 0 {
                        return Err("--crash-after-adapter-calls: at least 1".into());
                    }
                    config.crash_after_adapter_calls = Some(v);
                }
                "--allow-origin" => {
                    let v = value()?;
                    if v != "*" && !(v.starts_with("http://") || v.starts_with("https://")) {
                        return Err(format!(
                            "--allow-origin: `{v}` is not * or an origin such as http://localhost:8000"
                        ));
                    }
                    config.allow_origin = Some(v.trim_end_matches('/').to_owned());
                }
                "--allow-host" => {
                    let v = value()?.to_ascii_lowercase();
                    if v.is_empty() || v.contains(['/', ' ', ':']) {
                        return Err(format!(
                            "--allow-host: `{v}` is not a host name (no scheme, port or path)"
                        ));
                    }
                    config.allow_hosts.push(v);
                }
                AuthFlags::SWITCH => auth.set(flag, None)?,
                flag if AuthFlags::takes_value(flag) => auth.set(flag, Some(value()?))?,
                "--max-body-bytes" => config.limits.body_bytes = positive(flag, &value()?)?,
                "--max-snapshot-entities" => {
                    config.limits.snapshot_entities = positive(flag, &value()?)?
                }
                "--stripe-api" => stripe_api = Some(value()?),
                "--stripe-key-file" => stripe_key = Some(value()?),
                "--shutdown-grace-ms" => config.shutdown_grace_ms = number(flag, &value()?)?,
                "--max-plan-effects" => config.limits.plan_effects = positive(flag, &value()?)?,
                other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
            }
        }
        config.auth = auth.mode()?;
        if let Some(addr) = config.listen {
            if !addr.ip().is_loopback() && !matches!(config.auth, AuthMode::Jwt(_)) {
                return Err(format!(
                    "refusing to listen on {addr} without authentication: configure token keys \
                     (--auth-jwks, --auth-public-key or --auth-hs256-secret-file), or listen on 127.0.0.1"
                ));
            }
        }
        config.stripe = match (stripe_api, stripe_key) {
            (Some(api), Some(key_file)) => Some(StripeConfig { api, key_file }),
            (None, None) => None,
            _ => return Err("--stripe-api and --stripe-key-file go together".into()),
        };
        if config.listen.is_none() && config.workers == 0 {
            return Err("--no-api with --workers 0 would do nothing".into());
        }
        if config.effect_concurrency < 1 {
            return Err("--effect-concurrency: at least 1".into());
        }
        if config.lease_seconds < 1 {
            return Err("--lease-seconds: at least 1".into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeySource;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults_are_sqlite_with_one_worker() {
        let config = Config::from_args(&[]).unwrap();
        assert!(config.database_url.starts_with("sqlite:"));
        assert_eq!(config.workers, 1);
        assert_eq!(config.policy.name, "cascade");
    }

    #[test]
    fn every_option_is_read() {
        let config = Config::from_args(&args(
            "--database postgres:///x --schema t1 --reset-schema --listen 127.0.0.1:0 --workers 3 \
             --name a --policy prerequisite --poll-ms 5 --lease-seconds 2 --adapter-timeout-ms 50 \
             --effect-concurrency 7 \
             --halted-recheck-seconds 9 --flaky-percent 20 --adapter billing=fail \
             --adapter mail=stall:100 --allow-time-travel --allow-origin http://localhost:8000/ \
             --allow-host Offboard.Example --max-body-bytes 1000 --max-snapshot-entities 20 \
             --max-plan-effects 30 --crash-after-adapter-calls 4",
        ))
        .unwrap();
        assert_eq!(config.crash_after_adapter_calls, Some(4));
        assert_eq!(config.schema.as_deref(), Some("t1"));
        assert!(config.reset_schema && config.allow_time_travel);
        assert_eq!(
            config.allow_origin.as_deref(),
            Some("http://localhost:8000")
        );
        assert_eq!(config.allow_hosts, ["offboard.example"]);
        assert_eq!(
            config.limits,
            Limits {
                body_bytes: 1000,
                snapshot_entities: 20,
                plan_effects: 30
            }
        );
        assert_eq!(config.workers, 3);
        assert_eq!(config.policy.name, "prerequisite");
        assert_eq!((config.poll_ms, config.lease_seconds), (5, 2));
        assert_eq!(config.adapter_timeout_ms, 50);
        assert_eq!(config.effect_concurrency, 7);
        assert_eq!(config.halted_recheck_seconds, 9);
        assert_eq!(config.flaky_percent, 20);
        assert_eq!(
            config.adapter_modes,
            vec![
                (Adapter::Billing, Mode::Fail),
                (Adapter::Mail, Mode::Stall { millis: 100 })
            ]
        );
    }

    #[test]
    fn authentication_is_off_by_default_and_tokens_are_configured_by_flags() {
        assert_eq!(Config::from_args(&[]).unwrap().auth, AuthMode::Unconfigured);
        let config = Config::from_args(&args(
            "--listen 0.0.0.0:8080 --auth-jwks /etc/jwks.json --auth-public-key /etc/rsa.pem \
             --auth-issuer https://id.example --auth-audience offboard \
             --auth-roles-claim realm_access.roles --auth-operator-role staff \
             --auth-sso-admin-role org_admin",
        ))
        .unwrap();
        let AuthMode::Jwt(jwt) = config.auth else {
            panic!("not JWT: {:?}", config.auth)
        };
        assert_eq!(
            jwt.keys,
            [
                KeySource::JwksFile("/etc/jwks.json".into()),
                KeySource::PublicKeyFile("/etc/rsa.pem".into())
            ]
        );
        assert_eq!(
            (jwt.issuer.as_str(), jwt.audience.as_str()),
            ("https://id.example", "offboard")
        );
        assert_eq!(jwt.roles_claim, "realm_access.roles");
        assert_eq!(
            (jwt.operator_role.as_str(), jwt.sso_admin_role.as_str()),
            ("staff", "org_admin")
        );
        assert_eq!(
            Config::from_args(&args("--insecure-trust-actor-header"))
                .unwrap()
                .auth,
            AuthMode::InsecureActorHeader
        );
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        for (line, needle) in [
            ("--workers many", "not a valid number"),
            ("--listen nowhere", "not an address"),
            ("--flaky-percent 101", "at most 100"),
            ("--adapter billing", "NAME=MODE"),
            ("--adapter ftp=ok", "no adapter"),
            ("--adapter mail=sometimes", "stall:MILLIS"),
            ("--policy /no/such/file.json", "cannot read"),
            ("--lease-seconds 0", "at least 1"),
            ("--effect-concurrency 0", "at least 1"),
            ("--max-plan-effects 0", "at least 1"),
            ("--stripe-api http://127.0.0.1:8420", "go together"),
            ("--max-body-bytes lots", "not a valid number"),
            ("--no-api --workers 0", "nothing"),
            ("--frobnicate", "unknown option"),
            ("--database", "needs a value"),
            ("--allow-origin localhost:8000", "not * or an origin"),
            ("--allow-host http://x", "not a host name"),
            ("--listen 0.0.0.0:8080", "without authentication"),
            ("--listen 0.0.0.0:8080 --insecure-trust-actor-header", "without authentication"),
            ("--auth-jwks k.json", "need --auth-issuer and --auth-audience"),
            ("--auth-issuer https://id.example", "without a key"),
            (
                "--auth-jwks k.json --auth-issuer i --auth-audience a --insecure-trust-actor-header",
                "exclude each other",
            ),
        ] {
            let err = Config::from_args(&args(line)).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
