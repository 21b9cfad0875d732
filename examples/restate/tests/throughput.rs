//! The closure rate end to end on Restate, one node and three, beside the
//! reference service on PostgreSQL, in one run on one machine: the figures
//! of BENCHMARKS.md's Restate section. Not a test of behaviour (it asserts
//! only that every closure closed); `scripts/bench.sh restate` runs it
//! through `scripts/test-restate.sh throughput`, inside the loopback-only
//! network namespace, and `scripts/test.sh` runs its smoke pass.
//!
//! Each run: N accounts (half copies of `lone-user`, half of `team-owner`)
//! in the service's account tables on PostgreSQL, then from 8 client
//! threads a request and a confirmation for each under the cascade preset
//! (no grace period), through the nodes' ingresses in turn, until every
//! closure is `closed` (its purges are due 30 days on). The rate runs from
//! the first request to the last closure closed, as `offboard-load`'s does.
//!
//! Environment: `OFFBOARD_BENCH_CLOSURES` (default 2000),
//! `OFFBOARD_BENCH_DATABASE` (a PostgreSQL URL), `OFFBOARD_LOAD` (the
//! `offboard-load` binary), `OFFBOARD_BENCH_OUT` (the Markdown file to write).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use common::{
    alive_nodes, partition_leaders, register, require_loopback_only, runtime, store_in, wait_for,
    Auth, Endpoint, Ingress, Node, Ports,
};
use serde_json::json;

const CLIENTS: usize = 8;

struct Figures {
    label: String,
    closures: usize,
    seconds: f64,
    effects: usize,
}

fn restate_run(nodes: usize, closures: usize, database: &str) -> Figures {
    let dir = std::env::temp_dir().join(format!(
        "offboard-restate-bench{nodes}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let schema = format!("offboard_restate{nodes}");
    let ids: Vec<String> = (0..closures).map(|i| format!("u_rb_{i:05}")).collect();
    {
        let store = store_in(database, Some(&schema), true);
        let rt = runtime();
        for (i, id) in ids.iter().enumerate() {
            let sample = if i % 2 == 0 {
                "lone-user"
            } else {
                "team-owner"
            };
            let data = offboard_service::samples::copy_of(sample, id).unwrap();
            rt.block_on(store.put_account(id, &data, chrono::Utc::now()))
                .unwrap();
        }
    }
    let ports = Ports::new(nodes);
    let cluster: Vec<Node> = (1..=u32::try_from(nodes).unwrap())
        .map(|id| Node::start(&dir, id, &ports))
        .collect();
    if nodes > 1 {
        wait_for("every node Alive", Duration::from_secs(90), || {
            (alive_nodes(cluster[0].port).len() == nodes).then_some(())
        });
        wait_for(
            "a leader for every partition",
            Duration::from_secs(90),
            || (partition_leaders(cluster[0].port).len() == 4).then_some(()),
        );
    }
    let auth = Auth::new(&dir);
    let mut args: Vec<String> = [
        "--database",
        database,
        "--schema",
        &schema,
        "--policy",
        "cascade",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(auth.args());
    let endpoint = Endpoint::start(&dir, &args);
    let agent = common::agent();
    register(&agent, cluster[0].admin, &endpoint);
    let ingress: Vec<Ingress> = cluster
        .iter()
        .map(|n| Ingress {
            agent: agent.clone(),
            port: n.ingress,
            reader: Some(auth.token("ops_1", true, chrono::Utc::now(), 86_400)),
        })
        .collect();
    for each in &ingress {
        wait_for(
            "the ingress to know Closure",
            Duration::from_secs(60),
            || each.status("u_rb_probe"),
        );
    }

    let start = Instant::now();
    std::thread::scope(|scope| {
        for lane in 0..CLIENTS {
            let (ids, ingress, auth) = (&ids, &ingress, &auth);
            scope.spawn(move || {
                for (i, id) in ids.iter().enumerate().skip(lane).step_by(CLIENTS) {
                    // Signed in a second ago (the closure reads its own time just after).
                    let at = chrono::Utc::now() - chrono::Duration::seconds(1);
                    let user = auth.token(id, false, at, 3600);
                    let via = &ingress[i % ingress.len()];
                    let body = json!({"command": {"type": "request"}});
                    let (status, answer) =
                        via.command(id, "request", &body, &format!("rq-{id}"), &user);
                    assert_eq!(status, 200, "{id}: {answer}");
                    let body = json!({"command": {"type": "confirm",
                        "value": format!("{id}@example.test")}});
                    let (status, answer) =
                        via.command(id, "confirm", &body, &format!("cf-{id}"), &user);
                    assert_eq!(status, 200, "{id}: {answer}");
                }
            });
        }
    });
    let mut pending: BTreeSet<String> = ids.iter().cloned().collect();
    while !pending.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "{} closures not closed in 30 minutes",
            pending.len()
        );
        let list: Vec<String> = pending.iter().cloned().collect();
        let closed = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for lane in 0..CLIENTS {
                let (list, ingress, closed) = (&list, &ingress, &closed);
                scope.spawn(move || {
                    for id in list.iter().skip(lane).step_by(CLIENTS) {
                        let status = ingress[0].status(id);
                        if status.is_some_and(|s| s["phase"] == "closed") {
                            closed.lock().unwrap().push(id.clone());
                        }
                    }
                });
            }
        });
        for id in closed.into_inner().unwrap() {
            pending.remove(&id);
        }
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let effects = runtime()
        .block_on(store_in(database, Some(&schema), false).downstream_record())
        .unwrap()
        .len();
    drop(endpoint);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    Figures {
        label: format!("Restate, {nodes} node{}", if nodes == 1 { "" } else { "s" }),
        closures,
        seconds,
        effects,
    }
}

/// The reference service on PostgreSQL, by `offboard-load` (its own 8
/// client threads and 2 worker tasks), on the same kind of accounts.
fn service_run(closures: usize, database: &str) -> Figures {
    let load = std::env::var("OFFBOARD_LOAD").expect("OFFBOARD_LOAD: the offboard-load binary");
    let out = Process::new(load)
        .args(["--accounts", &closures.to_string(), "--database", database])
        .args(["--schema", "offboard_restate_beside"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "offboard-load failed:\n{text}");
    // "... executed to `closed` in 193.0 s from the first request: ... 100000 effects performed"
    let seconds: f64 = text
        .split("executed to `closed` in ")
        .nth(1)
        .and_then(|t| t.split(" s ").next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no closure time in offboard-load's output:\n{text}"));
    let effects: usize = text
        .split(" effects performed")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no effect count in offboard-load's output:\n{text}"));
    Figures {
        label: "the reference service, PostgreSQL".to_owned(),
        closures,
        seconds,
        effects,
    }
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh restate"]
fn closures_per_second_on_one_and_three_nodes_beside_the_service() {
    common::require_restate();
    require_loopback_only();
    let closures: usize = std::env::var("OFFBOARD_BENCH_CLOSURES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let database = std::env::var("OFFBOARD_BENCH_DATABASE")
        .expect("OFFBOARD_BENCH_DATABASE: a PostgreSQL URL");
    let runs = [
        service_run(closures, &database),
        restate_run(1, closures, &database),
        restate_run(3, closures, &database),
    ];
    let mut table = String::from(
        "<!-- generated by scripts/bench.sh; do not edit by hand -->\n\n\
         | runs on | closures | requested → all closed | closures/s | effects performed | effects/s |\n\
         |---|---|---|---|---|---|\n",
    );
    for run in &runs {
        let _ = writeln!(
            table,
            "| {} | {} | {:.1} s | **{:.0}** | {} | {:.0} |",
            run.label,
            run.closures,
            run.seconds,
            run.closures as f64 / run.seconds,
            run.effects,
            run.effects as f64 / run.seconds
        );
    }
    eprint!("{table}");
    if let Ok(path) = std::env::var("OFFBOARD_BENCH_OUT") {
        std::fs::write(path, table).unwrap();
    }
}
