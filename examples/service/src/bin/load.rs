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
//! ```
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
    let service = exe.with_file_name("offboard-service");
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

fn run(args: &Args) -> Result<(), String> {
    let (server, label) = start(args)?;
    let base = server.base.clone();
    let n = args.accounts;
    let id = |i: usize| format!("u_load_{i:06}");
    let sample = |i: usize| {
        if i.is_multiple_of(2) {
            "lone-user"
        } else {
            "team-owner"
        }
    };
    let c = args.concurrency;

    let import = phase("PUT /v1/ops/accounts/{id}", n, c, 204, |agent, i| {
        let body = samples::copy_of(sample(i), &id(i)).ok_or("no sample")?;
        send(
            agent,
            "PUT",
            &format!("{base}/v1/ops/accounts/{}", id(i)),
            &body,
        )
    })?;
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

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offboard-load: {e}");
            ExitCode::FAILURE
        }
    }
}
