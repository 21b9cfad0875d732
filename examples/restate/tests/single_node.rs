//! One Restate node, 20 closures from the samples through to `purged`:
//! one with a permanent adapter failure then an operator's retry, one held
//! by a legal hold until it is released, and the endpoint process killed
//! with SIGKILL while effects are in flight and started again. In the end
//! every closure is purged, every effect key the closures count as done
//! was performed downstream exactly once (and no key was performed that no
//! closure issued), and every audit chain verifies.
//!
//! Runs only inside the loopback-only network namespace that
//! `scripts/test-restate.sh` makes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{
    policy, register, require_loopback_only, runtime, store, wait_for, Auth, Endpoint, Ingress,
    Node, Ports,
};
use serde_json::{json, Value};

fn phase(status: &Value) -> &str {
    status["phase"].as_str().unwrap_or("?")
}

#[test]
#[ignore = "needs Restate in a loopback-only namespace: scripts/test-restate.sh"]
fn twenty_closures_reach_purged_on_one_node_through_an_endpoint_kill() {
    common::require_restate();
    require_loopback_only();
    let dir = std::env::temp_dir().join(format!("offboard-restate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.join("accounts.db").display());
    let policy_path = dir.join("policy.json");
    std::fs::write(&policy_path, offboard::json::policy_json(&policy())).unwrap();

    // The accounts, as a product's user store holds them.
    // 20 closures, then 3 more that a policy change catches in flight.
    let accounts: Vec<String> = (0..23).map(|i| format!("u_rs_{i:02}")).collect();
    let (accounts, late) = accounts.split_at(20);
    {
        let store = store(&database);
        let rt = runtime();
        for (i, id) in accounts.iter().chain(late).enumerate() {
            let sample = if i % 4 == 3 {
                "team-owner"
            } else {
                "lone-user"
            };
            let data = offboard_service::samples::copy_of(sample, id).unwrap();
            rt.block_on(store.put_account(id, &data, chrono::Utc::now()))
                .unwrap();
        }
    }

    let ports = Ports::new(1);
    let node = Node::start(&dir, 1, &ports);
    let anchor = chrono::Utc::now();
    let auth = Auth::new(&dir);
    // Tokens signed in an hour (of the endpoint's time) before its clock
    // starts, good for ten years of it.
    let token = |sub: &str, support: bool| {
        auth.token(
            sub,
            support,
            anchor - chrono::Duration::hours(1),
            10 * 365 * 86_400,
        )
    };
    let mut args: Vec<String> = [
        "--database",
        &database,
        "--policy",
        &policy_path.display().to_string(),
        "--clock-anchor",
        &anchor.to_rfc3339(),
        "--clock-speed",
        "43200",
        "--flaky-percent",
        "20",
        "--call-timeout-ms",
        "2000",
        "--test-switches",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(auth.args());
    let mut endpoint = Endpoint::start(&dir, &args);
    let agent = common::agent();
    register(&agent, node.admin, &endpoint);
    let support = token("ops_1", true);
    let ingress = Ingress {
        agent,
        port: node.ingress,
        reader: Some(support.clone()),
    };
    let request = |id: &str| {
        let holder = token(id, false);
        let body = json!({"command": {"type": "request"}});
        let (status, answer) =
            ingress.command(id, "request", &body, &format!("request-{id}"), &holder);
        assert_eq!(status, 200, "{id}: {answer}");
        let confirm =
            json!({"command": {"type": "confirm", "value": format!("{id}@example.test")}});
        let (status, answer) =
            ingress.command(id, "confirm", &confirm, &format!("confirm-{id}"), &holder);
        assert_eq!(status, 200, "{id}: {answer}");
    };

    // 0. Strangers: no token, another person's token, the internal
    // handlers, and an actor named in the body. Nothing changes.
    let target = &accounts[0];
    let request_body = json!({"command": {"type": "request"}});
    let stranger = token("u_stranger", false);
    let neighbour = token(&accounts[1], false);
    // A stranger probing for the closure's existence or version learns
    // nothing: refused before either is looked at.
    let probe = json!({"command": {"type": "cancel"}, "if_version": 999});
    // An SSO super admin of an organisation that does not manage it, too.
    let admin = auth.token_with(
        "u_other_admin",
        &["offboard:sso_super_admin"],
        anchor - chrono::Duration::hours(1),
        10 * 365 * 86_400,
    );
    let refusals = [
        (
            "cancel",
            Some(&probe),
            Some(stranger.as_str()),
            403,
            "not_allowed",
        ),
        (
            "cancel",
            Some(&probe),
            Some(admin.as_str()),
            403,
            "not_allowed",
        ),
        (
            "request",
            Some(&request_body),
            Some(admin.as_str()),
            403,
            "not_allowed",
        ),
        (
            "request",
            Some(&request_body),
            None,
            401,
            "authentication_required",
        ),
        ("status", None, None, 401, "authentication_required"),
        ("audit", None, None, 401, "authentication_required"),
        (
            "request",
            Some(&request_body),
            Some("not-a-token"),
            401,
            "token_invalid",
        ),
        (
            "request",
            Some(&request_body),
            Some(stranger.as_str()),
            403,
            "not_allowed",
        ),
        ("status", None, Some(stranger.as_str()), 403, "not_allowed"),
        ("audit", None, Some(neighbour.as_str()), 403, "not_allowed"),
    ];
    for (handler, body, bearer, want, code) in refusals {
        let (status, answer) = ingress.call_as(target, handler, body, bearer).unwrap();
        assert_eq!(
            (status, answer.to_string().contains(code)),
            (want, true),
            "{handler} with {bearer:?}: {answer}"
        );
    }
    let named = json!({"actor": {"id": "ops_1", "role": "support_operator",
        "reauthenticated_at": null}, "command": {"type": "request"}});
    let (status, answer) = ingress
        .call_as(target, "request", Some(&named), Some(stranger.as_str()))
        .unwrap();
    assert_eq!(status, 400, "an actor in the body is not taken: {answer}");
    // Well-formed bodies, so that only the handlers' privacy refuses them.
    let effect = "ef_0123456789abcdef0123456789abcdef";
    let forged = [
        (
            format!("Closure/{target}/report"),
            json!({"effect": effect, "outcome": {"result": "succeeded"}}),
        ),
        (
            format!("Closure/{target}/tick"),
            json!({"due": "2026-01-01T00:00:00Z"}),
        ),
        (
            "Effects/perform".to_owned(),
            json!({"account": target, "attempt": 1,
                "effect": {"id": effect, "action": {"type": "revoke_sessions"}}}),
        ),
    ];
    for (path, body) in &forged {
        let (status, answer) = ingress.service(path, body).unwrap();
        assert!(
            (400..500).contains(&status),
            "{path} is reachable from the ingress: {status} {answer}"
        );
    }
    // The endpoint itself answers only what the cluster signed: nobody can
    // reach its handlers around the ingress.
    for path in [
        "discover".to_owned(),
        "invoke/Effects/perform".to_owned(),
        format!("invoke/Closure/{target}/request"),
    ] {
        let status = common::unsigned_status(endpoint.port, &path);
        assert_eq!(
            status, 401,
            "an unsigned request to /{path} was answered {status}"
        );
    }
    let untouched = ingress.status(target).unwrap();
    assert_eq!(
        (phase(&untouched), untouched["version"].as_u64()),
        ("none", Some(0))
    );
    let record = runtime()
        .block_on(store(&database).downstream_record())
        .unwrap();
    assert!(
        record.is_empty(),
        "strangers reached downstream: {record:?}"
    );
    let wait_phase = |id: &str, want: &str, limit: u64| {
        let start = std::time::Instant::now();
        loop {
            let status = ingress.status(id);
            if let Some(status) = status.as_ref().filter(|s| phase(s) == want) {
                return status.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(limit),
                "{id} did not reach {want} in {limit} s; last status: {}",
                status.map_or(
                    format!("{:?}", ingress.call(id, "status", None)),
                    |mut s| {
                        s["state"]["audit"] = Value::Null;
                        s.to_string()
                    }
                )
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // 1. A permanent failure (the identity system refuses), then an operator's retry.
    let failing = &accounts[0];
    let mode = |mode: Value| {
        let (status, answer) = ingress
            .service(
                "Ops/set_mode",
                &json!({"adapter": "identity", "mode": mode}),
            )
            .unwrap();
        assert_eq!(status, 200, "{answer}");
    };
    mode(json!({"mode": "fail_permanently"}));
    request(failing);
    let failed = wait_phase(failing, "failed", 60);
    assert!(
        failed["waiting"].to_string().contains("operator"),
        "a failed closure names the operator it waits for: {failed}"
    );
    mode(json!({"mode": "ok"}));
    let retry = json!({"command": {"type": "retry"}});
    let (status, answer) = ingress.command(failing, "retry", &retry, "retry-0", &support);
    assert_eq!(status, 200, "{answer}");

    // 2. The rest; one gets a legal hold on its personal data as soon as
    // it is confirmed (it closes, and keeps that data until the release);
    // the endpoint is killed while their effects run.
    let held = &accounts[1];
    let hold = json!({"command": {"type": "place_hold", "hold": {
        "id": "lh_rs", "classes": ["personal_data"], "reason": "litigation",
        "placed_by": "ops_1", "placed_at": "2026-01-01T00:00:00Z", "until": null}}});
    for id in &accounts[1..] {
        request(id);
        if id == held {
            let (status, answer) = ingress.command(held, "place_hold", &hold, "hold-1", &support);
            assert_eq!(status, 200, "{answer}");
        }
    }
    wait_for("effects in flight", Duration::from_secs(30), || {
        let store = store(&database);
        let done = runtime().block_on(store.downstream_record()).ok()?;
        (done.len() > 40).then_some(())
    });
    endpoint.process.kill();
    endpoint.restart();

    // Everything else ends; the held closure waits for its hold.
    for id in accounts.iter().filter(|id| *id != held) {
        wait_phase(id, "purged", 120);
    }
    let waiting = ingress.status(held).unwrap();
    assert_ne!(phase(&waiting), "purged", "purged under a hold: {waiting}");
    assert!(
        waiting["waiting"].to_string().contains("lh_rs"),
        "the held closure names its hold: {waiting}"
    );
    let release = json!({"command": {"type": "release_hold", "hold": "lh_rs"}});
    let (status, answer) = ingress.command(held, "release_hold", &release, "release-1", &support);
    assert_eq!(status, 200, "{answer}");
    wait_phase(held, "purged", 60);

    // 5. A policy changed under closures in flight: their identity calls
    // stall past the call timeout, the endpoint is killed and comes back
    // with another policy. Their ticks and the outcomes of calls that then
    // go through are refused (`policy_changed`): each closure names that
    // in `held_up` and keeps those outcomes, until support migrates it;
    // then it runs to its end.
    mode(json!({"mode": "stall", "millis": 3000}));
    for id in late {
        request(id);
    }
    wait_for(
        "the late closures' calls in flight",
        Duration::from_secs(30),
        || {
            late.iter()
                .all(|id| {
                    ingress.status(id).is_some_and(|s| {
                        phase(&s) == "executing" && s["waiting"].to_string().contains("outcomes")
                    })
                })
                .then_some(())
        },
    );
    let mut changed = policy();
    changed.retry.max_attempts += 1;
    let changed_path = dir.join("policy-changed.json");
    std::fs::write(&changed_path, offboard::json::policy_json(&changed)).unwrap();
    let at = endpoint.args.iter().position(|a| a == "--policy").unwrap() + 1;
    endpoint.args[at] = changed_path.display().to_string();
    endpoint.process.kill();
    endpoint.restart();
    let mut kept = 0;
    for id in late {
        let stuck = wait_for(
            &format!("{id} to name the policy change"),
            Duration::from_secs(60),
            || {
                ingress.status(id).filter(|s| {
                    s["held_up"]
                        .as_str()
                        .is_some_and(|h| h.starts_with("policy_changed"))
                })
            },
        );
        assert_ne!(phase(&stuck), "purged", "{id}");
        kept += stuck["kept_outcomes"].as_u64().unwrap();
    }
    assert!(
        kept >= 1,
        "no outcome was refused and kept across the policy change"
    );
    // Support migrates the first to the new policy; it runs to its end.
    let migrated = &late[0];
    let pinned = ingress.status(migrated).unwrap()["state"]["confirmed"]["policy"]
        .as_str()
        .unwrap()
        .to_owned();
    let migrate = json!({"command": {"type": "migrate_policy", "from": pinned}});
    let (status, answer) =
        ingress.command(migrated, "migrate_policy", &migrate, "migrate-1", &support);
    assert_eq!(status, 200, "{migrated}: {answer}");
    let done = wait_phase(migrated, "purged", 120);
    assert!(done["held_up"].is_null(), "{migrated}: {done}");
    // Nothing of the others is in flight any more: every outcome they
    // wait for is one they kept. So only their own timers can move them.
    for id in &late[1..] {
        wait_for(
            &format!("{id} to settle into waiting"),
            Duration::from_secs(60),
            || {
                let s = ingress.status(id)?;
                let awaited: usize = s["waiting"]
                    .as_array()?
                    .iter()
                    .filter(|w| w["for"] == "outcomes")
                    .map(|w| w["effects"].as_array().map_or(0, Vec::len))
                    .sum();
                (s["held_up"].is_string() && awaited == s["kept_outcomes"].as_u64()? as usize)
                    .then_some(())
            },
        );
    }
    // The deploy is rolled back: the others, still pinned to the policy
    // now running again, resume on their own, kept outcomes and all.
    endpoint.args[at] = policy_path.display().to_string();
    endpoint.process.kill();
    endpoint.restart();
    for id in &late[1..] {
        let done = wait_phase(id, "purged", 120);
        assert!(done["held_up"].is_null(), "{id}: {done}");
    }
    eprintln!("restate, one node: a policy change held up {} closures with {kept} outcomes kept; one migrated, the others resumed after the rollback; all purged", late.len());
    let accounts: Vec<String> = accounts.iter().chain(late).cloned().collect();

    // 4. Every chain verifies; every key done was performed once, and
    // nothing was performed that no closure issued.
    // What each closure counts done, from its audit log (the state forgets
    // settled effects once personal data is purged; the log keeps them).
    let keys = common::audited_keys(&ingress, &accounts);
    endpoint.process.kill();
    let record = common::checked_record(&keys, &database);
    for k in &record {
        assert!(
            keys.done.contains_key(&k.key),
            "performed under a key no closure counts done: {k:?}"
        );
    }
    // (A flaky call fails before it reaches the record, so `calls` counts
    // the deliveries that reached downstream: more than one only when the
    // kill came between a call and its journaled outcome.)
    let repeated = record.iter().filter(|k| k.calls > 1).count();
    eprintln!(
        "restate, one node: {} closures purged, {} effect keys issued, {} performed once, \
         {repeated} delivered more than once",
        accounts.len(),
        keys.issued.len(),
        record.len()
    );
    drop(node);
}
