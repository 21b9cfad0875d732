//! Three Restate nodes (replicated metadata, replicated log, replication
//! 2, four partitions), 200 closures in flight, and `kill -9` of the node
//! leading the most partitions while their effects run. Then, with two
//! nodes of three: the partitions get new leaders, the closures in flight
//! resume, and 20 new closures are accepted and run to their ends. The
//! killed node restarts and rejoins (Alive, a processor again). In the end
//! every closure is where the pure simulation (`offboard simulate` on the
//! same snapshot, policy and commands) ends, every audit chain verifies,
//! and no effect key was performed twice downstream.
//!
//! The inputs vary: five sample accounts (one of them blocked by an open
//! dispute, so its request is refused), some closures cancelled in their
//! grace period, some with a legal hold on personal data never released.
//!
//! Runs only inside the loopback-only network namespace that
//! `scripts/test-restate.sh` makes. Every wait is on what the cluster
//! answers (restatectl's node and partition tables, the closures' status),
//! bounded; none is a fixed sleep.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use common::{
    alive_nodes, partition_leaders, partition_processors, policy, register, require_loopback_only,
    runtime, store, wait_for, Auth, Endpoint, Ingress, Node, Ports,
};
use serde_json::{json, Value};

/// The partitions `Node::start` provisions.
const PARTITIONS: u32 = 4;
/// Closures started before the kill, and with two nodes of three.
const IN_FLIGHT: usize = 200;
const AFTER_KILL: usize = 20;
/// The test clock's speed: a day of grace is 10 s, the last purge about
/// 40 s after the request.
const SPEED: f64 = 8640.0;

/// One closure's inputs.
#[derive(Debug, Clone)]
struct Plan {
    id: String,
    cancel: bool,
    hold: bool,
}

const SAMPLES: [&str; 5] = [
    "lone-user",
    "team-owner",
    "contract",
    "sso-member",
    "domain-owner",
];

fn plan(i: usize) -> (Plan, &'static str) {
    let cancel = i % 7 == 3;
    let plan = Plan {
        id: format!("u_r3_{i:03}"),
        cancel,
        hold: !cancel && i % 11 == 5,
    };
    (plan, SAMPLES[i % SAMPLES.len()])
}

/// The phase `offboard simulate` ends in for the same snapshot, policy and
/// commands; `none` where the request is refused (no closure starts).
fn simulated(snapshot: &Path, policy: &Path, plan: &Plan) -> String {
    let cli =
        std::env::var("OFFBOARD_CLI").expect("OFFBOARD_CLI: run through scripts/test-restate.sh");
    let mut command = Process::new(cli);
    command
        .arg("simulate")
        .arg(snapshot)
        .arg("--policy")
        .arg(policy);
    if plan.cancel {
        command.arg("--cancel");
    }
    if plan.hold {
        command.args(["--hold", "personal_data"]);
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let phase = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("final phase: "))
        .unwrap_or_else(|| panic!("offboard simulate printed no final phase:\n{text}"));
    if phase == "idle" {
        "none".to_owned()
    } else {
        phase.to_owned()
    }
}

fn phase(status: &Value) -> &str {
    status["phase"].as_str().unwrap_or("?")
}

/// The endpoint's clock, as the test reads it: the anchor plus the real
/// time since, times the speed.
#[derive(Debug, Clone, Copy)]
struct Clock {
    anchor: chrono::DateTime<chrono::Utc>,
    since: Instant,
}

impl Clock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let real = self.since.elapsed().as_secs_f64() * SPEED;
        self.anchor + chrono::Duration::milliseconds((real * 1000.0) as i64)
    }
}

/// At its end: in `want`, no outcome awaited and no tick due for ten
/// (virtual) days, far past any purge date of the policy; what is left is
/// holds and the response deadline's reminders, which move no phase.
fn settled(status: &Value, want: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    let quiet = |w: &Value| match w["for"].as_str() {
        Some("holds") => true,
        Some("time") => w["at"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .is_some_and(|at| at > now + chrono::Duration::days(10)),
        _ => false,
    };
    phase(status) == want
        && status["waiting"]
            .as_array()
            .is_some_and(|w| w.iter().all(quiet))
}

/// Tokens signed in an hour (of the endpoint's time) before its clock
/// starts, good for ten years of it.
struct Signer {
    auth: Auth,
    at: chrono::DateTime<chrono::Utc>,
}

impl Signer {
    fn token(&self, sub: &str, support: bool) -> String {
        self.auth.token(sub, support, self.at, 10 * 365 * 86_400)
    }
}

/// Starts a closure as its plan says; false when the request is refused.
fn submit(ingress: &Ingress, signer: &Signer, plan: &Plan) -> bool {
    let id = &plan.id;
    let user = signer.token(id, false);
    let call = |handler: &str, command: Value, who: &str| {
        let body = json!({ "command": command });
        ingress.command(id, handler, &body, &format!("{handler}-{id}"), who)
    };
    let (status, answer) = call("request", json!({"type": "request"}), &user);
    if status != 200 {
        assert!(
            answer.to_string().contains("blocked"),
            "{id}: {status} {answer}"
        );
        return false;
    }
    let confirm = json!({"type": "confirm", "value": format!("{id}@example.test")});
    let (status, answer) = call("confirm", confirm, &user);
    assert_eq!(status, 200, "{id}: {answer}");
    if plan.hold {
        let hold = json!({"type": "place_hold", "hold": {
            "id": format!("lh_{id}"), "classes": ["personal_data"], "reason": "litigation",
            "placed_by": "ops_1", "placed_at": "2026-01-01T00:00:00Z", "until": null}});
        let (status, answer) = call("place_hold", hold, &signer.token("ops_1", true));
        assert_eq!(status, 200, "{id}: {answer}");
    }
    if plan.cancel {
        let (status, answer) = call("cancel", json!({"type": "cancel"}), &user);
        assert_eq!(status, 200, "{id}: {answer}");
    }
    true
}

/// Submits the plans from four client threads, each closure through one
/// of `ingresses` (as a load balancer would); which were accepted.
fn submit_all(ingresses: &[Ingress], signer: &Signer, plans: &[Plan]) -> BTreeSet<String> {
    let accepted = std::sync::Mutex::new(BTreeSet::new());
    std::thread::scope(|scope| {
        for lane in 0..4 {
            let accepted = &accepted;
            scope.spawn(move || {
                for (i, plan) in plans.iter().enumerate().skip(lane).step_by(4) {
                    if submit(&ingresses[i % ingresses.len()], signer, plan) {
                        accepted.lock().unwrap().insert(plan.id.clone());
                    }
                }
            });
        }
    });
    accepted.into_inner().unwrap()
}

/// Every closure's status, read from four client threads.
fn statuses(ingress: &Ingress, ids: &[String]) -> BTreeMap<String, Option<Value>> {
    let out = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for lane in 0..4 {
            let out = &out;
            scope.spawn(move || {
                for id in ids.iter().skip(lane).step_by(4) {
                    let status = ingress.status(id);
                    out.lock().unwrap().insert(id.clone(), status);
                }
            });
        }
    });
    out.into_inner().unwrap()
}

/// Waits until every closure in `expected` has settled where expected.
fn wait_settled(
    ingress: &Ingress,
    clock: Clock,
    expected: &BTreeMap<String, String>,
    limit: Duration,
) {
    let ids: Vec<String> = expected.keys().cloned().collect();
    let start = Instant::now();
    let mut pending = ids.clone();
    while !pending.is_empty() {
        let now = statuses(ingress, &pending);
        pending.retain(|id| {
            !now[id]
                .as_ref()
                .is_some_and(|s| settled(s, &expected[id], clock.now()))
        });
        if pending.is_empty() {
            break;
        }
        if start.elapsed() > limit {
            let id = &pending[0];
            let mut last = now[id].clone().unwrap_or(Value::Null);
            last["state"] = Value::Null;
            panic!(
                "{} closures did not settle in {limit:?}; {id} should end {} and is at {last}",
                pending.len(),
                expected[id]
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs Restate in a loopback-only namespace: scripts/test-restate.sh"]
fn two_hundred_closures_survive_the_loss_of_a_leading_node() {
    common::require_restate();
    require_loopback_only();
    let dir = std::env::temp_dir().join(format!("offboard-restate3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.join("accounts.db").display());
    let policy_path = dir.join("policy.json");
    std::fs::write(&policy_path, offboard::json::policy_json(&policy())).unwrap();

    // The accounts, and where the pure simulation ends each closure.
    let all: Vec<(Plan, &str)> = (0..IN_FLIGHT + AFTER_KILL).map(plan).collect();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    {
        let store = store(&database);
        let rt = runtime();
        let now = chrono::Utc::now();
        for (plan, sample) in &all {
            let data = offboard_service::samples::copy_of(sample, &plan.id).unwrap();
            rt.block_on(store.put_account(&plan.id, &data, now))
                .unwrap();
            // The snapshot the endpoint reads, as the simulation's input.
            let snapshot = rt.block_on(store.account(&plan.id, now)).unwrap();
            let path = dir.join("snapshots").join(format!("{}.json", plan.id));
            std::fs::write(&path, serde_json::to_string(&snapshot).unwrap()).unwrap();
            expected.insert(plan.id.clone(), simulated(&path, &policy_path, plan));
        }
    }
    let mut ends: BTreeMap<&str, usize> = BTreeMap::new();
    for phase in expected.values() {
        *ends.entry(phase.as_str()).or_default() += 1;
    }
    eprintln!("three nodes: the simulation ends the closures as {ends:?}");
    assert!(
        ["purged", "cancelled", "closed", "none"]
            .iter()
            .all(|p| ends.contains_key(p)),
        "the inputs should reach four different ends: {ends:?}"
    );

    // The cluster: three nodes, every one Alive, a leader for every partition.
    let ports = Ports::new(3);
    let mut nodes: Vec<Node> = (1..=3).map(|id| Node::start(&dir, id, &ports)).collect();
    let started = Instant::now();
    wait_for("three nodes Alive", Duration::from_secs(90), || {
        (alive_nodes(nodes[0].port).len() == 3).then_some(())
    });
    wait_for(
        "a leader for every partition",
        Duration::from_secs(90),
        || (partition_leaders(nodes[0].port).len() == PARTITIONS as usize).then_some(()),
    );
    eprintln!("three nodes: ready in {:?}", started.elapsed());
    let clock = Clock {
        anchor: chrono::Utc::now(),
        since: Instant::now(),
    };
    let signer = Signer {
        auth: Auth::new(&dir),
        at: clock.anchor - chrono::Duration::hours(1),
    };
    let mut args: Vec<String> = [
        "--database",
        &database,
        "--policy",
        &policy_path.display().to_string(),
        "--clock-anchor",
        &clock.anchor.to_rfc3339(),
        "--clock-speed",
        &SPEED.to_string(),
        "--flaky-percent",
        "10",
        "--call-timeout-ms",
        "2000",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(signer.auth.args());
    let endpoint = Endpoint::start(&dir, &args);
    let agent = common::agent();
    register(&agent, nodes[0].admin, &endpoint);
    let ingress: Vec<Ingress> = nodes
        .iter()
        .map(|n| Ingress {
            agent: agent.clone(),
            port: n.ingress,
            reader: Some(signer.token("ops_1", true)),
        })
        .collect();
    // The deployment reaches every node's ingress through the metadata.
    for (i, ingress) in ingress.iter().enumerate() {
        wait_for(
            &format!("n{}'s ingress to know Closure", i + 1),
            Duration::from_secs(60),
            || ingress.status("u_r3_probe"),
        );
    }

    // 1. 200 closures, through all three ingresses.
    let (first, later) = all.split_at(IN_FLIGHT);
    let first: Vec<Plan> = first.iter().map(|(p, _)| p.clone()).collect();
    let later: Vec<Plan> = later.iter().map(|(p, _)| p.clone()).collect();
    let submitted = Instant::now();
    let mut accepted = submit_all(&ingress, &signer, &first);
    eprintln!(
        "three nodes: {} closures requested ({} refused as blocked) in {:?}",
        first.len(),
        first.len() - accepted.len(),
        submitted.elapsed()
    );
    for plan in &first {
        assert_eq!(
            accepted.contains(&plan.id),
            expected[&plan.id] != "none",
            "{}: accepted or refused unlike the simulation",
            plan.id
        );
    }

    // 2. Once effects are in flight, kill -9 the node leading most partitions.
    wait_for("effects in flight", Duration::from_secs(90), || {
        let done = runtime()
            .block_on(store(&database).downstream_record())
            .ok()?;
        (done.len() > 300).then_some(())
    });
    let leaders = partition_leaders(nodes[0].port);
    let mut led: BTreeMap<u32, usize> = BTreeMap::new();
    for node in leaders.values() {
        *led.entry(*node).or_default() += 1;
    }
    let (&victim, &count) = led.iter().max_by_key(|(_, c)| **c).unwrap();
    let victim = usize::try_from(victim - 1).unwrap();
    let live: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    let watcher = &ingress[live[0]];
    let ids: Vec<String> = first
        .iter()
        .filter(|p| accepted.contains(&p.id))
        .map(|p| p.id.clone())
        .collect();
    let before = statuses(watcher, &ids);
    // In flight: effects issued and not yet reported.
    let in_flight: BTreeMap<String, u64> = before
        .iter()
        .filter_map(|(id, s)| {
            let s = s.as_ref()?;
            let waits_outcomes = s["waiting"]
                .as_array()?
                .iter()
                .any(|w| w["for"] == "outcomes");
            waits_outcomes.then(|| (id.clone(), s["version"].as_u64().unwrap_or(0)))
        })
        .collect();
    assert!(
        in_flight.len() >= 3,
        "only {} closures await outcomes at the kill: the kill would not test a run in flight",
        in_flight.len()
    );
    let done_at_kill = runtime()
        .block_on(store(&database).downstream_record())
        .unwrap()
        .len();
    let killed = Instant::now();
    nodes[victim].process.kill();
    eprintln!(
        "three nodes: killed n{} (leader of {count} of {PARTITIONS} partitions) with {} closures \
         awaiting outcomes, {done_at_kill} keys performed so far",
        victim + 1,
        in_flight.len()
    );

    // 3. New leaders, and the closures in flight move again.
    let port = nodes[live[0]].port;
    wait_for("new partition leaders", Duration::from_secs(60), || {
        let leaders = partition_leaders(port);
        (leaders.len() == PARTITIONS as usize
            && leaders
                .values()
                .all(|n| *n != u32::try_from(victim + 1).unwrap()))
        .then_some(())
    });
    let failover = killed.elapsed();
    let mut resumed: BTreeMap<String, Duration> = BTreeMap::new();
    let moving: Vec<String> = in_flight.keys().cloned().collect();
    while resumed.len() < in_flight.len() {
        let pending: Vec<String> = moving
            .iter()
            .filter(|id| !resumed.contains_key(*id))
            .cloned()
            .collect();
        for (id, status) in statuses(watcher, &pending) {
            if status.is_some_and(|s| s["version"].as_u64().unwrap_or(0) > in_flight[&id]) {
                resumed.insert(id, killed.elapsed());
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(120),
            "{} closures in flight at the kill did not move in 120 s",
            in_flight.len() - resumed.len()
        );
    }
    let mut times: Vec<Duration> = resumed.values().copied().collect();
    times.sort();
    eprintln!(
        "three nodes: every partition led again {failover:?} after the kill; the {} closures in \
         flight moved again within {:?} (median {:?})",
        times.len(),
        times.last().copied().unwrap_or_default(),
        times.get(times.len() / 2).copied().unwrap_or_default()
    );

    // 4. Two nodes of three accept new closures and run them to their ends.
    let live_ingress: Vec<Ingress> = live.iter().map(|i| ingress[*i].clone()).collect();
    let new = submit_all(&live_ingress, &signer, &later);
    for plan in &later {
        assert_eq!(
            new.contains(&plan.id),
            expected[&plan.id] != "none",
            "{}: accepted or refused unlike the simulation",
            plan.id
        );
    }
    let later_expected: BTreeMap<String, String> = later
        .iter()
        .map(|p| (p.id.clone(), expected[&p.id].clone()))
        .collect();
    wait_settled(watcher, clock, &later_expected, Duration::from_secs(180));
    eprintln!(
        "three nodes: {} new closures accepted and settled with two nodes",
        later.len()
    );
    accepted.extend(new);

    // 5. The killed node restarts and rejoins.
    let restarted = Instant::now();
    nodes[victim].restart();
    let victim_id = u32::try_from(victim + 1).unwrap();
    wait_for(
        "the killed node Alive again",
        Duration::from_secs(90),
        || (alive_nodes(port).len() == 3).then_some(()),
    );
    wait_for(
        "the restarted node running partitions again",
        Duration::from_secs(90),
        || {
            let processors = partition_processors(port);
            let leaders = partition_leaders(port);
            (leaders.len() == PARTITIONS as usize
                && processors
                    .iter()
                    .any(|(_, node, _, status)| *node == victim_id && status == "Active"))
            .then_some(())
        },
    );
    eprintln!(
        "three nodes: n{victim_id} rejoined in {:?}",
        restarted.elapsed()
    );

    // 6. Every closure ends where the simulation does; asked through the
    // restarted node's ingress, too.
    wait_settled(watcher, clock, &expected, Duration::from_secs(240));
    let through_restarted = statuses(&ingress[victim], &ids[..10]);
    for (id, status) in &through_restarted {
        let status = status
            .as_ref()
            .unwrap_or_else(|| panic!("n{victim_id} does not answer for {id}"));
        assert!(
            settled(status, &expected[id], clock.now()),
            "{id} through n{victim_id}: {status}"
        );
    }

    // 7. Audit chains verify; every key a closure counts done was performed
    // exactly once downstream, and nothing was performed that no closure
    // issued. (A notification sent at confirmation can be performed after
    // a cancel: the cancelled closure no longer awaits its outcome, so it is
    // issued and never counted done. The simulation drops it the same way.)
    let keys = common::audited_keys(&ingress[live[0]], &accepted);
    let record = common::checked_record(&keys, &database);
    let (done, issued) = (&keys.done, &keys.issued);
    for k in &record {
        if !done.contains_key(&k.key) {
            let id = &issued[&k.key];
            assert_eq!(
                expected[id], "cancelled",
                "{id}: {k:?} performed, never counted done, and the closure was not cancelled"
            );
        }
    }
    let repeated = record.iter().filter(|k| k.calls > 1).count();
    let moot = record.iter().filter(|k| !done.contains_key(&k.key)).count();
    eprintln!(
        "three nodes: {} closures settled as simulated ({ends:?}), {} keys performed once \
         ({moot} after a cancel made them moot), {repeated} called more than once; {:?} in all",
        expected.len(),
        record.len(),
        started.elapsed()
    );
    drop(endpoint);
    drop(nodes);
}
