//! `offboard-load`: a bounded load test of the service on localhost.
//!
//! It starts `offboard-service` (the binary next to this one) on a fresh
//! database, imports N accounts (copies of the samples), asks for and
//! confirms each closure over HTTP from C client threads while the service's
//! workers execute them, reads every closure's status, and waits until all
//! are closed. It prints a Markdown table: throughput and latency per
//! endpoint, and the end-to-end closure rate.
//!
//! ```text
//! offboard-load [--accounts 10000] [--concurrency 8] [--workers 2] [--effect-concurrency 32]
//!               [--database URL] [--schema NAME] [--large SUBSCRIPTIONS]
//!               [--profile requests|inactive-sweep] [--batch 100] [--service PATH]
//!               [--probe on|off]
//! ```
//!
//! `--profile inactive-sweep`: the N accounts are closed by the system for
//! inactivity (`POST /v1/ops/sweeps/inactivity`, `--batch` accounts per
//! call, from the client threads) under the cascade preset with system
//! requests allowed, while one more thread asks for an interactive
//! account's assessment every 10 ms. It prints closures/s and effects/s
//! from the first sweep call until every closure is closed, the interactive
//! request's p50 and p99 meanwhile, and on PostgreSQL the commits per
//! closure (from `pg_stat_database`, split into the service's own, the fake
//! downstream systems' and the load tool's reads) and the closure writes
//! per closure; then it runs `scripts/pgbench-ceiling.sh` with the effects
//! and stages per closure it measured and prints the ratio to that ceiling.
//! `--probe off` leaves the interactive request out, so no commits of its
//! own need taking out of the count. `--service PATH` runs another build of
//! the service (an older one, to compare in the same run).
//! With `--large N`, one more account, with N subscriptions, is asked for and
//! confirmed first, and the N ordinary accounts close while its plan runs:
//! their latencies and closure rate are measured alongside it.
//! Without `--database` it uses a new SQLite file under `target/`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use offboard_service::samples;

struct Args {
    accounts: usize,
    concurrency: usize,
    workers: usize,
    effect_concurrency: usize,
    database: Option<String>,
    schema: Option<String>,
    /// Subscriptions of one large account closing alongside (0: none).
    large: usize,
    /// Which load: `requests` (holders ask and confirm over HTTP) or
    /// `inactive-sweep` (the system closes inactive accounts in bulk).
    profile: Profile,
    /// Accounts per sweep call.
    batch: usize,
    /// The service binary (default: the one next to this tool).
    service: Option<PathBuf>,
    /// Whether the sweep profile times an interactive request meanwhile
    /// (`--probe off` leaves it out, so the commits need no calibration).
    probe: bool,
}

/// The kinds of load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Requests,
    InactiveSweep,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        accounts: 10_000,
        concurrency: 8,
        workers: 2,
        effect_concurrency: 32,
        database: None,
        schema: None,
        large: 0,
        profile: Profile::Requests,
        batch: 100,
        service: None,
        probe: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: `{value}` is not a positive number"))
        };
        match flag.as_str() {
            "--accounts" => args.accounts = number()?,
            "--concurrency" => args.concurrency = number()?,
            "--workers" => args.workers = number()?,
            "--effect-concurrency" => args.effect_concurrency = number()?,
            "--database" => args.database = Some(value),
            "--schema" => args.schema = Some(value),
            "--large" => args.large = number()?,
            "--batch" => args.batch = number()?.min(1000),
            "--service" => args.service = Some(PathBuf::from(&value)),
            "--probe" => {
                args.probe = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("--probe: `{other}` is neither `on` nor `off`")),
                }
            }
            "--profile" => {
                args.profile = match value.as_str() {
                    "requests" => Profile::Requests,
                    "inactive-sweep" => Profile::InactiveSweep,
                    other => {
                        return Err(format!(
                            "--profile: `{other}` is neither `requests` nor `inactive-sweep`"
                        ))
                    }
                }
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(args)
}

/// The service under test; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

/// The load runs authenticated, as a product would: the service checks
/// HS256 tokens that this tool signs with the secret it shares with it.
const SECRET: &str = "offboard-load-secret-0123456789abcdef-0123456789";
const ISSUER: &str = "https://id.offboard-load.test";
const AUDIENCE: &str = "offboard-service";

/// The bearer token for `url`: the operator's on `/v1/ops/…`, the holder's
/// on `/v1/accounts/{id}/…`, signed in now.
fn bearer(url: &str) -> Result<String, String> {
    let holder = url
        .split_once("/v1/accounts/")
        .and_then(|(_, rest)| rest.split('/').next());
    let (sub, roles): (&str, &[&str]) = match holder {
        Some(id) => (id, &[]),
        None => ("u_load_operator", &["offboard:support"]),
    };
    let token = offboard_service::auth::sign_dev_token(
        SECRET.as_bytes(),
        ISSUER,
        AUDIENCE,
        sub,
        roles,
        chrono::Utc::now(),
        3600,
    )?;
    Ok(format!("Bearer {token}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &Args) -> Result<(Server, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let service = args
        .service
        .clone()
        .unwrap_or_else(|| exe.with_file_name("offboard-service"));
    let (database, label) = match &args.database {
        Some(url) => (
            url.clone(),
            match offboard_service::store::Backend::of_url(url)? {
                offboard_service::store::Backend::Sqlite => "sqlite",
                offboard_service::store::Backend::Postgres => "postgres",
            },
        ),
        None => {
            let dir = PathBuf::from("target/load");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("load.db{suffix}")));
            }
            (
                format!("sqlite://{}?mode=rwc", dir.join("load.db").display()),
                "sqlite",
            )
        }
    };
    let secret = std::env::temp_dir().join(format!("offboard-load-{}.secret", std::process::id()));
    std::fs::write(&secret, SECRET).map_err(|e| e.to_string())?;
    let mut command = Command::new(&service);
    // Warnings and errors only: the load measures the service, not a log
    // line per request.
    command.env("OFFBOARD_LOG", "warn");
    command.arg("--auth-hs256-secret-file").arg(&secret);
    command.args(["--auth-issuer", ISSUER, "--auth-audience", AUDIENCE]);
    command.args(["--database", &database, "--listen", "127.0.0.1:0"]);
    command.args(["--workers", &args.workers.to_string(), "--poll-ms", "20"]);
    command.args(["--effect-concurrency", &args.effect_concurrency.to_string()]);
    if let Some(schema) = &args.schema {
        command.args(["--schema", schema, "--reset-schema"]);
    }
    if args.profile == Profile::InactiveSweep {
        // The cascade preset, with the system allowed to close inactive accounts.
        let mut policy = offboard::ClosurePolicy::cascade();
        policy.authorization.inactivity_closure = true;
        let path =
            std::env::temp_dir().join(format!("offboard-load-{}.policy.json", std::process::id()));
        std::fs::write(&path, policy.to_json()).map_err(|e| e.to_string())?;
        command.arg("--policy").arg(&path);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", service.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("the service said `{}`", line.trim()))?
        .to_owned();
    Ok((Server { child, base }, label.to_owned()))
}

/// Latencies of one endpoint, in microseconds.
struct Phase {
    name: &'static str,
    latencies: Vec<u64>,
    elapsed: Duration,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

/// Runs `call(agent, i)` for every i in 0..n from `threads` threads; each
/// call returns the HTTP status it got, which must be `expect`.
fn phase(
    name: &'static str,
    n: usize,
    threads: usize,
    expect: u16,
    call: impl Fn(&ureq::Agent, usize) -> Result<u16, String> + Sync,
) -> Result<Phase, String> {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let results: Vec<Result<Vec<u64>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let agent = agent();
                    let mut latencies = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(latencies);
                        }
                        let t = Instant::now();
                        let status = call(&agent, i)?;
                        latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                        if status != expect {
                            return Err(format!("{name} #{i}: HTTP {status}, expected {expect}"));
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect()
    });
    let mut latencies = Vec::with_capacity(n);
    for r in results {
        latencies.extend(r?);
    }
    latencies.sort_unstable();
    Ok(Phase {
        name,
        latencies,
        elapsed: start.elapsed(),
    })
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
        .unwrap_or(0)
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: &str) -> Result<u16, String> {
    send_if(agent, method, url, body, None)
}

/// [`send`], with an `If-Match` for commands that need one.
fn send_if(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: &str,
    if_match: Option<&str>,
) -> Result<u16, String> {
    let bearer = bearer(url)?;
    let response = match method {
        "PUT" => agent
            .put(url)
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .send(body),
        "POST" => {
            let request = agent
                .post(url)
                .header("authorization", &bearer)
                .header("content-type", "application/json");
            match if_match {
                Some(version) => request.header("if-match", version).send(body),
                None => request.send(body),
            }
        }
        _ => agent.get(url).header("authorization", &bearer).call(),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    // Read the body so the connection can be reused.
    let _ = response.body_mut().read_to_string();
    Ok(response.status().as_u16())
}

fn stats(agent: &ureq::Agent, base: &str) -> Result<serde_json::Value, String> {
    let url = format!("{base}/v1/ops/stats");
    let mut response = agent
        .get(&url)
        .header("authorization", &bearer(&url)?)
        .call()
        .map_err(|e| e.to_string())?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Closures closed, once no effect is left pending (the last notification of
/// a closure may still be on its way when the closure is already `closed`).
fn closed_count(agent: &ureq::Agent, base: &str) -> Result<usize, String> {
    let stats = stats(agent, base)?;
    closed_in(&stats)
}

/// Closures closed once nothing is pending, from a stats answer.
fn closed_in(stats: &serde_json::Value) -> Result<usize, String> {
    let pending = stats
        .get("outbox")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
        .any(|row| row.get(0).and_then(|s| s.as_str()) == Some("pending"));
    if pending {
        return Ok(0);
    }
    usize::try_from(closed_phase(stats)).map_err(|e| e.to_string())
}

/// Closures in phase `closed`, from a stats answer (pending effects or not).
fn closed_phase(stats: &serde_json::Value) -> u64 {
    stats
        .get("closures")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .filter(|row| row.get(0).and_then(|p| p.as_str()) == Some("closed"))
        .filter_map(|row| row.get(1).and_then(|n| n.as_u64()))
        .sum()
}

/// The id of the load's `i`th account.
fn account_id(i: usize) -> String {
    format!("u_load_{i:06}")
}

/// Imports the load's `n` accounts from `c` threads, half of them alone
/// and half owning a team.
fn import_accounts(base: &str, n: usize, c: usize) -> Result<Phase, String> {
    phase("PUT /v1/ops/accounts/{id}", n, c, 204, |agent, i| {
        let sample = if i.is_multiple_of(2) {
            "lone-user"
        } else {
            "team-owner"
        };
        let body = samples::copy_of(sample, &account_id(i)).ok_or("no sample")?;
        send(
            agent,
            "PUT",
            &format!("{base}/v1/ops/accounts/{}", account_id(i)),
            &body,
        )
    })
}

fn run(args: &Args) -> Result<(), String> {
    let (server, label) = start(args)?;
    let base = server.base.clone();
    let n = args.accounts;
    let id = account_id;
    let c = args.concurrency;

    let import = import_accounts(&base, n, c)?;
    const LARGE: &str = "u_load_large";
    let large_started = Instant::now();
    if args.large > 0 {
        let agent = agent();
        let body = samples::with_subscriptions(LARGE, args.large).ok_or("no sample")?;
        let put = send(
            &agent,
            "PUT",
            &format!("{base}/v1/ops/accounts/{LARGE}"),
            &body,
        )?;
        let request = send(
            &agent,
            "POST",
            &format!("{base}/v1/accounts/{LARGE}/closure"),
            "",
        )?;
        let confirm = send_if(
            &agent,
            "POST",
            &format!("{base}/v1/accounts/{LARGE}/closure/confirm"),
            &format!(r#"{{"value": "{LARGE}@example.test"}}"#),
            Some("\"1\""),
        )?;
        if (put, request, confirm) != (204, 201, 200) {
            return Err(format!(
                "the large account answered {put}, {request}, {confirm}"
            ));
        }
    }
    let started = Instant::now();
    let request = phase("POST …/closure (request)", n, c, 201, |agent, i| {
        send(
            agent,
            "POST",
            &format!("{base}/v1/accounts/{}/closure", id(i)),
            "",
        )
    })?;
    let confirm = phase("POST …/closure/confirm", n, c, 200, |agent, i| {
        let body = format!(r#"{{"value": "{}@example.test"}}"#, id(i));
        // A new closure's request leaves it at version 1, and nothing ticks
        // it before its confirmation window ends.
        send_if(
            agent,
            "POST",
            &format!("{base}/v1/accounts/{}/closure/confirm", id(i)),
            &body,
            Some("\"1\""),
        )
    })?;
    let status = phase("GET …/closure (status)", n, c, 200, |agent, i| {
        send(
            agent,
            "GET",
            &format!("{base}/v1/accounts/{}/closure", id(i)),
            "",
        )
    })?;
    let watcher = agent();
    let large_phase = |agent: &ureq::Agent| -> Result<bool, String> {
        let url = format!("{base}/v1/accounts/{LARGE}/closure");
        let mut response = agent
            .get(&url)
            .header("authorization", &bearer(&url)?)
            .call()
            .map_err(|e| e.to_string())?;
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok(text.contains("\"phase\":\"closed\""))
    };
    let (mut ordinary_closed, mut large_closed) = (None, None);
    loop {
        if args.large == 0 {
            if closed_count(&watcher, &base)? >= n {
                break;
            }
        } else {
            // The ordinary closures count as closed when `closed` holds
            // them all, whatever the large plan still has pending.
            let stats = stats(&watcher, &base)?;
            let closed = closed_phase(&stats);
            let large_done = large_phase(&watcher)?;
            if large_done && large_closed.is_none() {
                large_closed = Some(large_started.elapsed());
            }
            let ordinary = usize::try_from(closed).unwrap_or(0) - usize::from(large_done);
            if ordinary >= n && ordinary_closed.is_none() {
                ordinary_closed = Some(started.elapsed());
            }
            if large_closed.is_some() && ordinary_closed.is_some() && closed_in(&stats)? > n {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(3600) {
            return Err("not every closure closed within an hour".into());
        }
        // Counting is not free on a 100 000-row outbox: look once a second.
        std::thread::sleep(Duration::from_millis(if args.large > 0 {
            250
        } else {
            1000
        }));
    }
    let all_closed = ordinary_closed.unwrap_or_else(|| started.elapsed());
    let end = stats(&watcher, &base)?;
    let count = |name: &str| end.get(name).and_then(|p| p.as_u64()).unwrap_or(0);
    let (effects, redeliveries) = (count("performed"), count("redeliveries"));
    // The ordinary closures' own effects (the large plan's are its own line).
    let large_effects = if args.large > 0 {
        args.large as u64 + 6
    } else {
        0
    };
    let effects = effects.saturating_sub(large_effects);
    drop(server);

    println!(
        "| backend | endpoint | calls | throughput | p50 | p99 | max |\n|---|---|---|---|---|---|---|"
    );
    for p in [&import, &request, &confirm, &status] {
        println!(
            "| {label} | {} | {} | {:.0} req/s | {} | {} | {} |",
            p.name,
            p.latencies.len(),
            p.latencies.len() as f64 / p.elapsed.as_secs_f64(),
            ms(percentile(&p.latencies, 0.50)),
            ms(percentile(&p.latencies, 0.99)),
            ms(p.latencies.last().copied().unwrap_or(0)),
        );
    }
    println!(
        "\n{label}: {n} closures ({} with a team) requested, confirmed and executed to `closed` in \
         {:.1} s from the first request: **{:.0} closures/s**, {effects} effects performed \
         ({:.0}/s), {redeliveries} deliveries beyond the first; {c} client threads, {} worker \
         task(s), each performing the effects of up to {} closures at once.\n",
        n / 2,
        all_closed.as_secs_f64(),
        n as f64 / all_closed.as_secs_f64(),
        effects as f64 / all_closed.as_secs_f64(),
        args.workers,
        args.effect_concurrency,
    );
    if let Some(large) = large_closed {
        println!(
            "{label}, alongside: one account with {} subscriptions ({} effects) asked for and \
             confirmed just before the {n} above, closed in {:.1} s; the latencies and the rate \
             above are the {n} ordinary accounts', measured while its plan ran.\n",
            args.large,
            args.large + 6,
            large.as_secs_f64(),
        );
    }
    Ok(())
}

/// The database's commit counter and closure writes, when the stats carry
/// them (PostgreSQL), read after the server has published its counters.
fn counters(
    agent: &ureq::Agent,
    base: &str,
) -> Result<Option<(i64, i64, serde_json::Value)>, String> {
    // PostgreSQL publishes a backend's counts within about a second.
    std::thread::sleep(Duration::from_millis(1500));
    let stats = stats(agent, base)?;
    let db = stats.get("database").filter(|d| !d.is_null()).cloned();
    Ok(db.map(|d| {
        let commits = d.get("commits").and_then(|v| v.as_i64()).unwrap_or(0);
        let writes = d
            .get("closure_writes")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        (commits, writes, stats)
    }))
}

/// `--profile inactive-sweep`.
fn run_sweep(args: &Args) -> Result<(), String> {
    let (server, label) = start(args)?;
    let base = server.base.clone();
    let n = args.accounts;
    let c = args.concurrency;
    import_accounts(&base, n, c)?;
    const PROBE: &str = "u_load_probe";
    let main_agent = agent();
    let body = samples::copy_of("team-owner", PROBE).ok_or("no sample")?;
    send(
        &main_agent,
        "PUT",
        &format!("{base}/v1/ops/accounts/{PROBE}"),
        &body,
    )?;
    let probe_url = format!("{base}/v1/accounts/{PROBE}/assessment");

    // What an interactive request costs in commits (its reads are
    // transactions too), to take the probe out of the count: the commits of
    // a window of 200 of them, less those of an idle window as long (the
    // workers' empty passes, one stats read).
    const CALIBRATION: usize = 200;
    let idle_from = (counters(&main_agent, &base)?, Instant::now());
    let idle_to = (counters(&main_agent, &base)?, Instant::now());
    for _ in 0..CALIBRATION {
        send(&main_agent, "GET", &probe_url, "")?;
    }
    let probed = (counters(&main_agent, &base)?, Instant::now());
    let probe_cost = match (&idle_from.0, &idle_to.0, &probed.0) {
        (Some(a), Some(b), Some(c)) => {
            let idle_rate = (b.0 - a.0) as f64 / (idle_to.1 - idle_from.1).as_secs_f64();
            let window = (probed.1 - idle_to.1).as_secs_f64();
            (((c.0 - b.0) as f64 - idle_rate * window) / CALIBRATION as f64).max(0.0)
        }
        _ => 0.0,
    };
    // `/v1/ops/stats` reads ten counts, each a transaction of its own.
    let stats_cost = 10.0;

    let start_counts = counters(&main_agent, &base)?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let batches: Vec<Vec<String>> = (0..n)
        .map(account_id)
        .collect::<Vec<_>>()
        .chunks(args.batch)
        .map(<[String]>::to_vec)
        .collect();
    let started = Instant::now();
    let mut polls = 0_u64;
    let (sweep, probe) = std::thread::scope(|scope| -> Result<(Phase, Vec<u64>), String> {
        let prober = scope.spawn(|| -> Result<Vec<u64>, String> {
            let agent = agent();
            let mut latencies = Vec::new();
            while args.probe && !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let status = send(&agent, "GET", &probe_url, "")?;
                latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                if status != 200 {
                    return Err(format!("the interactive request answered HTTP {status}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(latencies)
        });
        let sweep = phase(
            "POST /v1/ops/sweeps/inactivity",
            batches.len(),
            c,
            200,
            |agent, i| {
                let body = serde_json::json!({ "accounts": batches.get(i).ok_or("no batch")? })
                    .to_string();
                send(
                    agent,
                    "POST",
                    &format!("{base}/v1/ops/sweeps/inactivity"),
                    &body,
                )
            },
        );
        let watcher = agent();
        let waited = (|| -> Result<(), String> {
            loop {
                polls += 1;
                if closed_count(&watcher, &base)? >= n {
                    return Ok(());
                }
                if started.elapsed() > Duration::from_secs(3600) {
                    return Err("not every closure closed within an hour".into());
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })();
        stop.store(true, Ordering::Relaxed);
        let probe = prober
            .join()
            .unwrap_or_else(|_| Err("the probe thread panicked".into()));
        let sweep = sweep?;
        waited?;
        let mut probe = probe?;
        probe.sort_unstable();
        Ok((sweep, probe))
    })?;
    let all_closed = started.elapsed();
    let end_counts = counters(&main_agent, &base)?;
    let end = stats(&main_agent, &base)?;
    let count = |name: &str| end.get(name).and_then(|p| p.as_u64()).unwrap_or(0);
    let (effects, calls, redeliveries) = (
        count("performed"),
        count("downstream_calls"),
        count("redeliveries"),
    );
    drop(server);

    let secs = all_closed.as_secs_f64();
    println!("| backend | what | count | rate | p50 | p99 | max |\n|---|---|---|---|---|---|---|");
    println!(
        "| {label} | {} | {} calls of {} accounts | {:.0} accounts/s | {} | {} | {} |",
        sweep.name,
        sweep.latencies.len(),
        args.batch,
        n as f64 / sweep.elapsed.as_secs_f64(),
        ms(percentile(&sweep.latencies, 0.50)),
        ms(percentile(&sweep.latencies, 0.99)),
        ms(sweep.latencies.last().copied().unwrap_or(0)),
    );
    if args.probe {
        println!(
            "| {label} | GET …/assessment (interactive, every 10 ms, during the sweep) | {} | | {} | {} | {} |",
            probe.len(),
            ms(percentile(&probe, 0.50)),
            ms(percentile(&probe, 0.99)),
            ms(probe.last().copied().unwrap_or(0)),
        );
    }
    println!(
        "\n{label}: {n} inactive accounts ({} with a team) closed by the system in {secs:.1} s from the first sweep call: **{:.0} closures/s**, {effects} effects performed ({:.0}/s), {redeliveries} deliveries beyond the first; {c} client threads sweeping {} accounts per call, {} worker task(s).",
        n / 2,
        n as f64 / secs,
        effects as f64 / secs,
        args.batch,
        args.workers,
    );
    if let (Some(a), Some(b)) = (start_counts, end_counts) {
        let total = (b.0 - a.0) as f64;
        let reads = probe.len() as f64 * probe_cost + (polls as f64 + 1.0) * stats_cost;
        let downstream = calls as f64;
        let service = total - reads - downstream;
        let writes = (b.1 - a.1) as f64 / n as f64;
        println!(
            "\n{label} commits per closure (`pg_stat_database`): {:.1} in all; {:.1} the service's own, {:.1} the fake downstream systems' (one per call they receive, {calls} calls), {:.1} this tool's reads (the interactive requests at {probe_cost:.1} each, the stats polls at {stats_cost:.0}). Closure writes per closure: {writes:.1}.",
            total / n as f64,
            service / n as f64,
            downstream / n as f64,
            reads / n as f64,
        );
        // The ceiling for the same writes, in the same run.
        let per_effects = (effects as f64 / n as f64).round().max(1.0) as u64;
        let stages = (writes - 1.0).round().max(1.0) as u64;
        let database = args.database.as_deref().unwrap_or_default();
        let script = std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join("scripts/pgbench-ceiling.sh");
        let out = Command::new(&script)
            .args([
                database,
                &per_effects.to_string(),
                &stages.to_string(),
                "8",
                "10",
            ])
            .output()
            .map_err(|e| format!("{}: {e}", script.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let ceiling = text
            .lines()
            .find_map(|l| l.strip_prefix("ceiling_closures_per_s="))
            .and_then(|v| v.trim().parse::<f64>().ok());
        match ceiling {
            Some(ceiling) => println!(
                "\n{label} ceiling (`scripts/pgbench-ceiling.sh {per_effects} {stages}`: the same writes for a closure of {per_effects} effects in {stages} stages, 8 connections, 10 s, right after): {ceiling:.0} closures/s; the sweep reached **{:.0} %** of it.",
                100.0 * n as f64 / secs / ceiling
            ),
            None => println!(
                "\n{label}: the pgbench ceiling could not be measured: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }
    println!();
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| match args.profile {
        Profile::Requests => run(&args),
        Profile::InactiveSweep => run_sweep(&args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offboard-load: {e}");
            ExitCode::FAILURE
        }
    }
}
