//! The `offboard` binary, run as a user would run it.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

fn offboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offboard"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn demo_assesses_every_sample_under_both_presets() {
    let out = offboard(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for sample in [
        "lone-user",
        "team-owner",
        "domain-owner",
        "contract",
        "sso-member",
    ] {
        for policy in ["cascade", "prerequisite"] {
            assert!(
                text.contains(&format!("==== {sample} · policy {policy} ====")),
                "{sample}/{policy} missing"
            );
        }
    }
    assert!(text.contains("[contract_account]") && text.contains("Priya Nair"));
    assert!(text.contains("[sso_managed]"));
    assert!(text.contains("Acme Robotics (t_acme): 4 members removed"));
    assert!(!text.contains("(s)"), "plurals are words, not (s)");
}

#[test]
fn assess_prints_a_checklist_and_exits_3_when_blocked() {
    let out = offboard(&["assess", "examples/data/domain-owner.json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("BLOCKED: 10 things to clear first"), "{text}");
    assert!(text.contains("[registrar_auto_renew]"));
    assert!(text.contains("invoices: purged by 1 January 2038 (legal hold lh_2026_041)"));
}

#[test]
fn assess_json_is_a_machine_readable_assessment() {
    let out = offboard(&[
        "assess",
        "examples/data/lone-user.json",
        "--policy",
        "cascade",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: offboard::Assessment =
        serde_json::from_str(&stdout(&out)).expect("valid assessment JSON");
    assert!(report.can_close);
    assert_eq!(report.policy, "cascade");
    assert_eq!(report.consequences.counts.tenants_deleted, 1);
}

#[test]
fn assess_accepts_a_policy_file_actor_and_times() {
    let out = offboard(&[
        "assess",
        "examples/data/sso-member.json",
        "--policy",
        "examples/data/policies/prerequisite.json",
        "--actor",
        "u_it_admin",
        "--now",
        "2026-11-23T11:00:00Z",
        "--reauth",
        "2026-11-23T10:50:00Z",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: offboard::Assessment = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report.actor.as_str(), "u_it_admin");
    let out = offboard(&[
        "assess",
        "examples/data/lone-user.json",
        "--policy",
        "cascade",
        "--reauth",
        "never",
        "--json",
    ]);
    let report: offboard::Assessment = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report.blockers[0].code.as_str(),
        "reauthentication_required"
    );
    let out = offboard(&[
        "assess",
        "examples/data/contract.json",
        "--support",
        "--json",
    ]);
    let report: offboard::Assessment = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(report
        .blockers
        .iter()
        .all(|b| b.code.as_str() != "contract_account"));
}

#[test]
fn bad_input_exits_1_with_the_error_code() {
    let out = offboard(&[
        "assess",
        "tests/fixtures/bad/snapshot/duplicate_id--tenant.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("[duplicate_id] two tenant entries share the id `t_1`"),
        "{}",
        stderr(&out)
    );
    let out = offboard(&[
        "assess",
        "examples/data/lone-user.json",
        "--policy",
        "tests/fixtures/bad/policy/invalid_policy--zero-attempts.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("[invalid_policy]"),
        "{}",
        stderr(&out)
    );
    let out = offboard(&["assess", "no/such/file.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read no/such/file.json"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["assess"],
        &["assess", "a.json", "--now", "tomorrow"],
        &["assess", "a.json", "--policy"],
        &["assess", "a.json", "--bogus"],
        &["policy", "lenient"],
        &["policy"],
        &[
            "assess",
            "examples/data/lone-user.json",
            "--policy",
            "strict",
        ],
        &[
            "assess",
            "examples/data/lone-user.json",
            "--actor",
            " padded ",
        ],
        &[
            "simulate",
            "examples/data/lone-user.json",
            "--fail",
            "bogus_effect",
        ],
        &["diagram", "extra-arg"],
        &["demo", "extra-arg"],
        &["schema", "a", "b"],
    ] {
        let out = offboard(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("try '--help'") || stderr(&out).contains("Usage: offboard"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    }
    let out = offboard(&[
        "assess",
        "examples/data/lone-user.json",
        "--policy",
        "strict",
    ]);
    assert!(
        stderr(&out)
            .contains("`strict` is neither a preset (cascade, prerequisite) nor a policy file"),
        "{}",
        stderr(&out)
    );
}

/// Every subcommand of the binary.
const COMMANDS: [&str; 7] = [
    "assess",
    "simulate",
    "policy",
    "schema",
    "typescript",
    "diagram",
    "demo",
];

/// Every command answers `--help` (and `-h`) on stdout with exit 0 and does
/// nothing else: no directory named `--help`, no demo run.
#[test]
fn help_and_version_everywhere() {
    let dir = std::env::temp_dir().join(format!("offboard-help-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_offboard"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    for command in COMMANDS {
        for flag in ["--help", "-h"] {
            let out = run(&[command, flag]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{command} {flag}: {}",
                stderr(&out)
            );
            let text = stdout(&out);
            assert!(
                text.contains(&format!("Usage: offboard {command}")),
                "{command} {flag}: {text}"
            );
            assert!(!text.contains("===="), "{command} {flag} ran the command");
        }
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "--help wrote {left:?}");
    std::fs::remove_dir_all(&dir).ok();
    let out = offboard(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    for command in COMMANDS {
        assert!(stdout(&out).contains(command), "{}", stdout(&out));
    }
    for args in [&["--version"][..], &["demo", "--version"]] {
        let out = offboard(args);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.starts_with("offboard"), "{text}");
        assert!(
            text.trim_end()
                .ends_with(&format!(" {}", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
    }
}

/// A reader that stops early (`offboard demo | head -2`) ends the output
/// quietly: no panic, no message, the command's own exit code.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_offboard"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // the reader goes away after 64 bytes of a long output
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// With `--json`, every command prints one JSON document on stdout and every
/// error is the library's error report on stderr, usage errors included.
#[test]
fn json_on_every_command_and_every_error() {
    let dir = std::env::temp_dir().join(format!("offboard-json-{}", std::process::id()));
    let dir_arg = dir.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "--json",
                "assess",
                "examples/data/lone-user.json",
                "--policy",
                "cascade",
            ],
            0,
            "can_close",
        ),
        (
            vec![
                "simulate",
                "examples/data/lone-user.json",
                "--policy",
                "cascade",
                "--json",
            ],
            0,
            "final_phase",
        ),
        (vec!["policy", "cascade", "--json"], 0, "schema_version"),
        (vec!["schema", &dir_arg, "--json"], 0, "written"),
        (vec!["typescript", "--json"], 0, "typescript"),
        (vec!["diagram", "--json"], 0, "mermaid"),
        (vec!["demo", "--json"], 0, "simulations"),
    ];
    for (args, code, key) in cases {
        let out = offboard(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        let value: serde_json::Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&out)));
        assert!(value.get(key).is_some(), "{args:?}: no `{key}`");
    }
    std::fs::remove_dir_all(&dir).ok();
    let out = offboard(&[
        "simulate",
        "examples/data/lone-user.json",
        "--policy",
        "cascade",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["final_phase"], "purged");
    assert_eq!(value["audit_verified"], true);
    assert!(value["effects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"]["type"] == "delete_account"));
    for (args, code, error) in [
        (
            &["--json", "assess", "no/such/file.json"][..],
            1,
            "invalid_value",
        ),
        (
            &[
                "--json",
                "assess",
                "tests/fixtures/bad/snapshot/duplicate_id--tenant.json",
            ],
            1,
            "duplicate_id",
        ),
        (
            &[
                "--json",
                "assess",
                "examples/data/lone-user.json",
                "--policy",
                "strict",
            ],
            2,
            "invalid_value",
        ),
        (&["--json", "frobnicate"], 2, "invalid_value"),
        (
            &[
                "--json",
                "simulate",
                "examples/data/lone-user.json",
                "--fail",
                "bogus",
            ],
            2,
            "invalid_value",
        ),
    ] {
        let out = offboard(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        let report: offboard::json::ErrorReport = serde_json::from_str(stderr(&out).trim())
            .unwrap_or_else(|e| {
                panic!(
                    "{args:?}: stderr is no error report ({e}): {}",
                    stderr(&out)
                )
            });
        assert_eq!(report.code.as_str(), error, "{args:?}");
        assert!(!report.message.is_empty());
    }
}

#[test]
fn schema_writes_every_schema() {
    let dir = std::env::temp_dir().join(format!("offboard-schema-{}", std::process::id()));
    let out = offboard(&["schema", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in [
        "snapshot",
        "policy",
        "actor",
        "closure-state",
        "command",
        "assessment",
        "step",
        "effect",
        "audit-event",
        "verification",
        "error-report",
        "error-code",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.schema.json"))).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.get("$schema").is_some(), "{name}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn policy_prints_a_preset_that_parses_back() {
    let out = offboard(&["policy", "prerequisite"]);
    assert!(out.status.success());
    let policy = offboard::ClosurePolicy::from_json(&stdout(&out)).unwrap();
    assert_eq!(policy, offboard::ClosurePolicy::prerequisite());
}

#[test]
fn simulate_runs_a_closure_to_the_end() {
    let out = offboard(&[
        "simulate",
        "examples/data/team-owner.json",
        "--policy",
        "cascade",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "idle -> awaiting_confirmation",
        "awaiting_confirmation -> executing",
        "executing -> closed",
        "closed -> purged",
        "delete_tenant t_acme",
        "chain verified",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
}

#[test]
fn simulate_shows_retries_and_the_operator_path() {
    let out = offboard(&[
        "simulate",
        "examples/data/team-owner.json",
        "--policy",
        "cascade",
        "--fail",
        "delete_tenant",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "effect_retry_scheduled",
        "effects_reissued",
        "executing -> failed",
        "failed -> executing  [retried]",
        "closed -> purged",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
}

/// The cascade preset with a grace period, written where `--policy` reads it.
fn policy_with_grace(days: u32) -> std::path::PathBuf {
    let mut policy = offboard::ClosurePolicy::cascade();
    policy.grace_period_days = days;
    let path = std::env::temp_dir().join(format!("offboard-cli-grace-{}.json", std::process::id()));
    std::fs::write(&path, offboard::json::policy_json(&policy)).unwrap();
    path
}

#[test]
fn simulate_cancels_in_the_grace_period_when_asked() {
    let policy = policy_with_grace(14);
    let policy = policy.to_str().unwrap();
    let out = offboard(&[
        "simulate",
        "examples/data/team-owner.json",
        "--policy",
        policy,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("final phase: purged\n"),
        "{}",
        stdout(&out)
    );
    let out = offboard(&[
        "simulate",
        "examples/data/team-owner.json",
        "--policy",
        policy,
        "--cancel",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("scheduled -> cancelled"), "{text}");
    assert!(
        !text.contains("delete_tenant"),
        "nothing runs after a cancel:\n{text}"
    );
    assert!(text.ends_with("final phase: cancelled\n"), "{text}");
}

#[test]
fn simulate_keeps_held_records_and_names_the_hold() {
    let out = offboard(&[
        "simulate",
        "examples/data/lone-user.json",
        "--policy",
        "cascade",
        "--hold",
        "personal_data",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("[hold_placed]"), "{text}");
    assert!(
        text.contains("personal data is due for purge but kept by legal hold lh_simulated"),
        "{text}"
    );
    assert!(
        !text.contains(r#"{"notice""#),
        "notices read as words:\n{text}"
    );
    assert!(!text.contains("purge personal_data"), "{text}");
    assert!(text.ends_with("final phase: closed\n"), "{text}");
    let out = offboard(&[
        "simulate",
        "examples/data/lone-user.json",
        "--hold",
        "secrets",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no record class `secrets`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn simulate_stops_at_blockers() {
    let out = offboard(&[
        "simulate",
        "examples/data/lone-user.json",
        "--policy",
        "prerequisite",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("refused: [blocked]"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn diagram_prints_the_transition_table() {
    let out = offboard(&["diagram"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), offboard::machine::diagram());
}

#[test]
fn a_snapshot_can_come_from_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_offboard"))
        .args(["--json", "assess", "-", "--policy", "cascade"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let snapshot = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/lone-user.json"
    ))
    .unwrap();
    child.stdin.take().unwrap().write_all(&snapshot).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: offboard::Assessment = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.can_close);
}
