//! The Restate deployment of offboard: an HTTP endpoint serving the
//! `Closure` virtual object and the `Effects` and `Ops` services, for a
//! Restate server (or cluster) to invoke. See README.md.

use std::sync::Arc;
use std::time::Duration;

use offboard::ClosurePolicy;
use offboard_restate::{Clock, Closure, Effects, Env, Ops, Recorder};
use offboard_service::auth::{AuthFlags, AuthMode, Authenticator};
use offboard_service::config::Limits;
use offboard_service::store::{Store, StoreOptions};
use restate_sdk::endpoint::{HandlerOptions, ServiceOptions};
use restate_sdk::prelude::{Endpoint, HttpServer};
use restate_sdk::service::IntoServiceDefinition;

const USAGE: &str =
    "usage: offboard-restate [--listen 127.0.0.1:9080] --database URL [--schema NAME] \
[--policy cascade|prerequisite|FILE] [--worker NAME] [--flaky-percent N] \
[--call-timeout-ms N] [--clock-anchor RFC3339 --clock-speed N] [--test-switches]
  who may call this endpoint (one is required):
  --restate-identity-key publickeyv1_...   accept only requests the cluster signed with this
                            key's private half ([worker.invoker] request-identity-private-key-pem-file;
                            repeatable, for key rotation)
  --insecure-no-request-identity   accept unsigned requests (anyone who reaches the port can
                            perform effects; local demos only)
  authentication (without it every command and read is refused):
  --auth-hs256-secret-file FILE | --auth-public-key FILE | --auth-jwks FILE  (repeatable)
  --auth-issuer ISS --auth-audience AUD [--auth-roles-claim PATH] [--auth-operator-role NAME]
  --auth-sso-admin-role NAME      the role of SSO super admins (default offboard:sso_super_admin)
  --insecure-trust-actor-header   take the x-offboard-actor header at its word (demos only)";

struct Args {
    listen: String,
    database: String,
    /// The PostgreSQL schema of the account tables (the default one without).
    schema: Option<String>,
    policy: ClosurePolicy,
    worker: String,
    flaky_percent: u8,
    call_timeout: Duration,
    clock: Clock,
    test_switches: bool,
    auth: AuthMode,
    identity_keys: Vec<String>,
    unsigned: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        listen: "127.0.0.1:9080".to_owned(),
        database: String::new(),
        schema: None,
        policy: ClosurePolicy::cascade(),
        worker: "restate".to_owned(),
        flaky_percent: 0,
        call_timeout: Duration::from_secs(10),
        clock: Clock::system(),
        test_switches: false,
        auth: AuthMode::Unconfigured,
        identity_keys: Vec::new(),
        unsigned: false,
    };
    let mut auth = AuthFlags::default();
    let (mut anchor, mut speed) = (None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--listen" => parsed.listen = value()?,
            "--database" => parsed.database = value()?,
            "--schema" => parsed.schema = Some(value()?),
            "--policy" => {
                let choice = value()?;
                parsed.policy = match ClosurePolicy::preset(&choice) {
                    Some(policy) => policy,
                    None => {
                        let text = std::fs::read_to_string(&choice)
                            .map_err(|e| format!("--policy: cannot read `{choice}`: {e}"))?;
                        ClosurePolicy::from_json(&text).map_err(|e| format!("--policy: {e}"))?
                    }
                }
            }
            "--worker" => parsed.worker = value()?,
            "--flaky-percent" => {
                parsed.flaky_percent = value()?
                    .parse()
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or("--flaky-percent takes 0 to 100")?
            }
            "--call-timeout-ms" => {
                let ms: u64 = value()?
                    .parse()
                    .map_err(|_| "--call-timeout-ms takes a number")?;
                parsed.call_timeout = Duration::from_millis(ms.max(1));
            }
            "--clock-anchor" => {
                anchor = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--clock-anchor: {e}"))?,
                )
            }
            "--clock-speed" => {
                speed = Some(
                    value()?
                        .parse::<u32>()
                        .map_err(|e| format!("--clock-speed: {e}"))?,
                )
            }
            "--test-switches" => parsed.test_switches = true,
            AuthFlags::SWITCH => auth.set(flag, None)?,
            flag if AuthFlags::takes_value(flag) => auth.set(flag, Some(value()?))?,
            "--restate-identity-key" => parsed.identity_keys.push(value()?),
            "--insecure-no-request-identity" => parsed.unsigned = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    parsed.clock = match (anchor, speed) {
        (None, None) => Clock::system(),
        (Some(anchor), Some(speed)) => Clock::fast(anchor, speed),
        _ => return Err("--clock-anchor and --clock-speed go together".to_owned()),
    };
    parsed.auth = auth.mode()?;
    match (parsed.identity_keys.is_empty(), parsed.unsigned) {
        (true, false) => {
            return Err(
                "refusing to start without --restate-identity-key: anyone who reaches this port \
                 could perform effects and read accounts (--insecure-no-request-identity for a \
                 local demo)"
                    .to_owned(),
            )
        }
        (false, true) => {
            return Err(
                "--restate-identity-key and --insecure-no-request-identity exclude each other"
                    .to_owned(),
            )
        }
        _ => {}
    }
    if parsed.database.is_empty() {
        return Err(format!("--database is required\n{USAGE}"));
    }
    Ok(parsed)
}

/// `offboard-restate import --database URL [--schema NAME] FILE...`: writes
/// each snapshot file into the account tables (what a product's own user
/// store holds).
async fn import(args: &[String]) -> Result<(), String> {
    const IMPORT: &str = "usage: offboard-restate import --database URL [--schema NAME] FILE...";
    let (mut database, mut schema, mut files) = (None, None, Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database" => database = Some(it.next().ok_or(IMPORT)?.clone()),
            "--schema" => schema = Some(it.next().ok_or(IMPORT)?.clone()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option `{flag}`\n{IMPORT}"))
            }
            file => files.push(file.to_owned()),
        }
    }
    let Some(database) = database.filter(|_| !files.is_empty()) else {
        return Err(IMPORT.to_owned());
    };
    let database = &database;
    let store = open(database, schema).await?;
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let snapshot = offboard::Snapshot::from_json(&text).map_err(|e| format!("{file}: {e}"))?;
        store
            .put_account(snapshot.account.id.as_str(), &text, chrono::Utc::now())
            .await
            .map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(())
}

async fn open(database: &str, schema: Option<String>) -> Result<Store, String> {
    Store::open(&StoreOptions {
        url: database.to_owned(),
        schema,
        reset_schema: false,
        limits: Limits::default(),
    })
    .await
    .map_err(|e| format!("cannot open {database}: {e}"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("import") {
        if let Err(message) = import(args.get(1..).unwrap_or_default()).await {
            eprintln!("{message}");
            std::process::exit(1);
        }
        return;
    }
    let args = match parse(&args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let store = match open(&args.database, args.schema.clone()).await {
        Ok(store) => store,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    };
    let auth = match Authenticator::new(&args.auth) {
        Ok(auth) => auth,
        Err(message) => {
            eprintln!("authentication: {message}");
            std::process::exit(2);
        }
    };
    if matches!(args.auth, AuthMode::Unconfigured) {
        eprintln!(
            "offboard-restate: no authentication configured, so every command and read is refused \
             (see --auth-jwks, --auth-public-key, --auth-hs256-secret-file)"
        );
    }
    let env = Arc::new(Env {
        auth,
        adapters: Recorder::adapters(&store, args.flaky_percent),
        store,
        policy: args.policy,
        clock: args.clock,
        worker: args.worker,
        test_switches: args.test_switches,
        call_timeout: args.call_timeout,
    });
    let address = match args.listen.parse() {
        Ok(address) => address,
        Err(e) => {
            eprintln!("--listen {}: {e}", args.listen);
            std::process::exit(2);
        }
    };
    let mut builder = Endpoint::builder();
    for key in &args.identity_keys {
        builder = match builder.identity_key(key) {
            Ok(builder) => builder,
            Err(e) => {
                eprintln!("--restate-identity-key {key}: {e}");
                std::process::exit(2);
            }
        };
    }
    eprintln!("offboard-restate listening on {address}");
    HttpServer::new(
        builder
            // Outcomes and timers come only from this deployment's own
            // handlers; effects are performed only when a closure sends
            // them. The ingress reaches none of these.
            .bind(
                Closure(Arc::clone(&env)).into_service_definition().options(
                    ServiceOptions::new()
                        .handler("report", HandlerOptions::new().ingress_private(true))
                        .handler("tick", HandlerOptions::new().ingress_private(true)),
                ),
            )
            .bind(
                Effects(Arc::clone(&env))
                    .into_service_definition()
                    .options(ServiceOptions::new().ingress_private(true)),
            )
            .bind(Ops(env))
            .build(),
    )
    .listen_and_serve(address)
    .await;
}
