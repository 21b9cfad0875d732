//! Crash safety: the service is killed while it works through a batch of
//! closures, and restarted each time. Every other round it is killed with
//! SIGKILL at a random moment; in the rounds between, it is started with the
//! test fault point `--crash-after-adapter-calls N` (N drawn at random), so
//! it aborts right after an adapter call returned and before its outcome
//! was reported: the window where the downstream has acted and the closure
//! does not know it. The test asserts that several rounds landed there. In
//! the end every closure must be purged, every effect performed exactly
//! once per idempotency key (the effect caught in the window called again
//! and performed once), and every audit chain must verify.
//!
//! The seed is printed; `OFFBOARD_CRASH_SEED=N` replays a run, and
//! `OFFBOARD_CRASH_KILLS=N` makes it longer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{clone_sample, databases, Db, Rng, Service};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The cascade preset, retrying after 1 s rather than 30 s so the test runs on the wall clock.
fn fast_retry_policy(db: &Db) -> String {
    let mut policy: serde_json::Value =
        serde_json::from_str(include_str!("../../data/policies/cascade.json")).unwrap();
    policy["retry"]["base_delay_seconds"] = 1.into();
    policy["retry"]["max_delay_seconds"] = 2.into();
    let path = db.dir.join("policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    path.display().to_string()
}

fn args(policy: &str) -> [&str; 9] {
    [
        "--poll-ms",
        "5",
        "--lease-seconds",
        "1",
        "--flaky-percent",
        "20",
        "--allow-time-travel",
        "--policy",
        policy,
    ]
}

/// Requests and confirms `account`'s closure, as a client would: a call cut
/// off by a crash is repeated after the restart.
fn submit(s: &Service, account: &str) -> bool {
    let request = s.post(&format!("/v1/accounts/{account}/closure"), "");
    let confirm = s.post(
        &format!("/v1/accounts/{account}/closure/confirm"),
        &format!(r#"{{"value": "{account}@example.test"}}"#),
    );
    request.0 == 201 && confirm.0 == 200
}

fn run(db: &Db) {
    let seed = env_number("OFFBOARD_CRASH_SEED", 0x0ff_b0a2d) | 1;
    let kills = env_number("OFFBOARD_CRASH_KILLS", 8);
    eprintln!("crash test on {}: seed {seed}, {kills} kills", db.label);
    let mut rng = Rng(seed);

    let policy = fast_retry_policy(db);
    let mut s = Service::start(db, true, &args(&policy));
    let accounts: Vec<String> = (0..32).map(|i| format!("u_crash_{i:02}")).collect();
    for (i, account) in accounts.iter().enumerate() {
        let sample = if i % 2 == 0 {
            "lone-user"
        } else {
            "team-owner"
        };
        assert_eq!(
            s.put(
                &format!("/v1/ops/accounts/{account}"),
                &clone_sample(sample, account)
            )
            .0,
            204
        );
    }

    let mut unsubmitted: Vec<&String> = accounts.iter().collect();
    let per_round = accounts
        .len()
        .div_ceil(usize::try_from(kills).unwrap().max(1));
    let mut busy_kills = 0;
    // The effects a process aborted on at the fault point: called, not reported.
    let mut caught_in_window = Vec::new();
    for round in 0..kills {
        for account in unsubmitted.split_off(unsubmitted.len().saturating_sub(per_round)) {
            assert!(submit(&s, account), "{account} could not be submitted");
        }
        std::thread::sleep(Duration::from_millis(rng.below(250)));
        let (_, stats) = s.get("/v1/ops/stats");
        let pending = stats["outbox"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row[0] == "pending");
        busy_kills += usize::from(pending);
        s.kill();
        if round % 2 == 0 {
            // The next process aborts at the fault point, if it gets there.
            let calls = (1 + rng.below(12)).to_string();
            let mut faulty = args(&policy).to_vec();
            faulty.extend(["--crash-after-adapter-calls", calls.as_str()]);
            s = Service::start(db, false, &faulty);
            if s.ended_by_itself(Duration::from_secs(20)) {
                let log = std::fs::read_to_string(&s.log).unwrap();
                let key = log
                    .lines()
                    .filter(|l| l.contains("fault point"))
                    .find_map(|l| l.split("effect=").nth(1))
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or_else(|| panic!("ended without the fault point: {log}"));
                caught_in_window.push(key.to_owned());
            }
        }
        s = Service::start(db, false, &args(&policy));
    }
    for account in unsubmitted {
        assert!(submit(&s, account));
    }
    assert!(busy_kills > 0, "no kill landed while effects were pending");

    for account in &accounts {
        s.wait_phase(account, "closed");
    }
    // Past every retention period; kill once more while the purges run.
    s.advance_clock(11 * 366 * 24 * 3600);
    std::thread::sleep(Duration::from_millis(rng.below(100)));
    s.kill();
    s = Service::start(db, false, &args(&policy));
    for account in &accounts {
        s.wait_phase(account, "purged");
        s.verified_audit(account);
    }

    let effects = s.effects();
    // Each effect caught between its call and its report was called again
    // after the restart, and performed once.
    assert!(
        caught_in_window.len() >= 2,
        "{}: only {} of {} fault-point rounds aborted between a call and its report",
        db.label,
        caught_in_window.len(),
        kills.div_ceil(2)
    );
    for key in &caught_in_window {
        let effect = effects
            .iter()
            .find(|e| e["key"] == key.as_str())
            .unwrap_or_else(|| panic!("no outbox row for {key}"));
        assert!(effect["calls"].as_i64().unwrap() >= 2, "{effect}");
        assert_eq!(effect["performed"], 1, "{effect}");
    }
    // The fake provider honours idempotency keys, as Stripe does: a key it
    // has seen is answered "done" and not performed again, so one key never
    // shows two performances, whatever the service does. What the service
    // must get right is the key itself and the calls: every call counted
    // on the provider's side (`calls`) was a delivery the outbox leased
    // (`deliveries`), and nothing was performed under a key the outbox does
    // not hold. A service that minted a fresh key for a redelivery would
    // perform under an unknown key; one that called twice per lease would
    // count more calls than deliveries.
    let mut redelivered = 0;
    for effect in &effects {
        assert_eq!(effect["status"], "done", "{effect}");
        assert_eq!(effect["performed"], 1, "{effect}");
        let (calls, deliveries) = (
            effect["calls"].as_i64().unwrap(),
            effect["deliveries"].as_i64().unwrap(),
        );
        assert!(
            (1..=deliveries).contains(&calls),
            "every call a leased delivery: {effect}"
        );
        if calls > 1 {
            redelivered += 1;
        }
    }
    let (_, stats) = s.get("/v1/ops/stats");
    assert_eq!(stats["performed_without_outbox"], 0);
    assert_eq!(stats["performed"], effects.len() as u64);
    eprintln!(
        "crash test on {}: {} closures purged through {} kills ({busy_kills} with effects pending, \
         {} at the fault point between a call and its report); \
         {} effects each performed once, {redelivered} called again after a crash",
        db.label,
        accounts.len(),
        kills + 1,
        caught_in_window.len(),
        effects.len()
    );
}

#[test]
fn killed_at_random_moments_every_closure_finishes_and_every_effect_runs_once() {
    for db in databases("crash") {
        run(&db);
    }
}
