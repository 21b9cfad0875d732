//! `offboard`: the command-line face of the Offboard core.
//!
//! ```text
//! offboard assess <snapshot.json> [--policy cascade|prerequisite|<policy.json>] [--json]
//!                 [--actor <user-id>] [--support] [--now <RFC 3339>] [--reauth <RFC 3339>|never]
//! offboard schema [dir]
//! offboard policy <cascade|prerequisite>
//! offboard simulate <snapshot.json> [--policy ...] [--fail <effect-type>] [--cancel] [--hold <class>]...
//! offboard diagram
//! offboard demo
//! ```
//!
//! `assess` exits 0 when the account can be closed, 3 when it is blocked,
//! 1 when an input cannot be used and 2 on a usage error.

mod render;
mod simulate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use offboard::{assess, Actor, ActorRole, Assessment, ClosurePolicy, Snapshot};

const USAGE: &str = "usage:
  offboard assess <snapshot.json> [--policy cascade|prerequisite|<policy.json>] [--json]
                  [--actor <user-id>] [--support] [--now <RFC 3339>] [--reauth <RFC 3339>|never]
  offboard schema [dir]      write the JSON Schemas (default dir: schema)
  offboard policy <cascade|prerequisite>
                             print a preset policy as JSON, to start your own from
  offboard simulate <snapshot.json> [--policy cascade|prerequisite|<policy.json>] [--fail <effect-type>]
                   [--cancel] [--hold <record-class>]...
                             run a whole closure against an in-memory host with a virtual clock
  offboard diagram           print the closure state diagram (Mermaid)
  offboard typescript        print TypeScript declarations of every document
  offboard demo              assess the bundled sample accounts under both presets, then
                             simulate their closures

By default the actor is the account holder, re-authenticated just now, and
`now` is the snapshot's own `taken_at`, so output is reproducible.";

/// The sample accounts, bundled so `demo` runs from any directory.
const SAMPLES: [(&str, &str); 5] = [
    ("lone-user", include_str!("../../data/lone-user.json")),
    ("team-owner", include_str!("../../data/team-owner.json")),
    ("domain-owner", include_str!("../../data/domain-owner.json")),
    ("contract", include_str!("../../data/contract.json")),
    ("sso-member", include_str!("../../data/sso-member.json")),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("assess") => cmd_assess(args.get(1..).unwrap_or_default()),
        Some("schema") => cmd_schema(args.get(1).map(PathBuf::from)),
        Some("demo") => cmd_demo(),
        Some("policy") => cmd_policy(args.get(1).map(String::as_str)),
        Some("simulate") => cmd_simulate(args.get(1..).unwrap_or_default()),
        Some("typescript") => {
            print!("{}", offboard::schema::typescript());
            Ok(ExitCode::SUCCESS)
        }
        Some("diagram") => {
            print!("{}", offboard::machine::diagram());
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage("no command given".to_owned())),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("offboard: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Input(message)) => {
            eprintln!("offboard: {message}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Input(String),
}

impl From<offboard::Error> for Failure {
    fn from(err: offboard::Error) -> Failure {
        Failure::Input(format!("[{}] {err}", err.code()))
    }
}

struct AssessArgs {
    snapshot: PathBuf,
    policy: String,
    json: bool,
    actor: Option<String>,
    support: bool,
    now: Option<DateTime<Utc>>,
    reauth: Option<Option<DateTime<Utc>>>,
}

fn parse_time(flag: &str, value: &str) -> Result<DateTime<Utc>, Failure> {
    offboard::json::parse_time(flag, value).map_err(|e| Failure::Usage(e.to_string()))
}

fn parse_assess_args(args: &[String]) -> Result<AssessArgs, Failure> {
    let mut parsed = AssessArgs {
        snapshot: PathBuf::new(),
        policy: "prerequisite".to_owned(),
        json: false,
        actor: None,
        support: false,
        now: None,
        reauth: None,
    };
    let mut snapshot = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |flag: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--json" => parsed.json = true,
            "--support" => parsed.support = true,
            "--policy" => parsed.policy = value("--policy")?,
            "--actor" => parsed.actor = Some(value("--actor")?),
            "--now" => parsed.now = Some(parse_time("--now", &value("--now")?)?),
            "--reauth" => {
                let v = value("--reauth")?;
                parsed.reauth = Some(if v == "never" {
                    None
                } else {
                    Some(parse_time("--reauth", &v)?)
                });
            }
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option `{flag}`")))
            }
            path if snapshot.is_none() => snapshot = Some(PathBuf::from(path)),
            extra => return Err(Failure::Usage(format!("unexpected argument `{extra}`"))),
        }
    }
    parsed.snapshot =
        snapshot.ok_or_else(|| Failure::Usage("assess needs a snapshot file".to_owned()))?;
    Ok(parsed)
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))
}

fn load_policy(choice: &str) -> Result<ClosurePolicy, Failure> {
    match ClosurePolicy::preset(choice) {
        Some(policy) => Ok(policy),
        None => Ok(ClosurePolicy::from_json(&read(Path::new(choice))?)?),
    }
}

fn cmd_assess(args: &[String]) -> Result<ExitCode, Failure> {
    let args = parse_assess_args(args)?;
    let snapshot = Snapshot::from_json(&read(&args.snapshot)?)?;
    let policy = load_policy(&args.policy)?;
    let now = args.now.unwrap_or(snapshot.taken_at);
    let mut actor = Actor::holder(&snapshot.account, now);
    if let Some(id) = &args.actor {
        actor.id = offboard::model::UserId::new(id.as_str())
            .map_err(|e| Failure::Usage(format!("--actor: {e}")))?;
    }
    if args.support {
        actor.role = ActorRole::SupportOperator;
    }
    if let Some(reauth) = args.reauth {
        actor.reauthenticated_at = reauth;
    }
    let report = assess(&snapshot, &actor, &policy, now)?;
    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", render::checklist(&snapshot, &report));
    }
    Ok(if report.can_close {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn to_json(report: &Assessment) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn cmd_schema(dir: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let dir = dir.unwrap_or_else(|| PathBuf::from("schema"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Input(format!("cannot create {}: {e}", dir.display())))?;
    for schema in offboard::schema::all() {
        let path = dir.join(offboard::schema::file_name(&schema));
        std::fs::write(&path, offboard::schema::to_text(&schema))
            .map_err(|e| Failure::Input(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_policy(name: Option<&str>) -> Result<ExitCode, Failure> {
    let name = name.ok_or_else(|| Failure::Usage("policy needs a preset name".to_owned()))?;
    let policy = ClosurePolicy::preset(name).ok_or_else(|| {
        Failure::Usage(format!(
            "no preset named `{name}` (try cascade or prerequisite)"
        ))
    })?;
    let text = serde_json::to_string_pretty(&policy).map_err(|e| Failure::Input(e.to_string()))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn cmd_simulate(args: &[String]) -> Result<ExitCode, Failure> {
    let mut snapshot_path = None;
    let mut policy = "prerequisite".to_owned();
    let mut fail = None;
    let mut script = simulate::Script::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--policy" => {
                policy = rest
                    .next()
                    .cloned()
                    .ok_or_else(|| Failure::Usage("--policy needs a value".into()))?
            }
            "--fail" => {
                fail = Some(
                    rest.next()
                        .cloned()
                        .ok_or_else(|| Failure::Usage("--fail needs an effect type".into()))?,
                )
            }
            "--cancel" => script.cancel = true,
            "--hold" => {
                let class = rest
                    .next()
                    .ok_or_else(|| Failure::Usage("--hold needs a record class".into()))?;
                let class = serde_json::from_value(serde_json::Value::String(class.clone()))
                    .map_err(|_| {
                        Failure::Usage(format!(
                            "unknown record class `{class}` (personal_data, content, invoices, audit_log)"
                        ))
                    })?;
                script.hold.push(class);
            }
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option `{flag}`")))
            }
            path if snapshot_path.is_none() => snapshot_path = Some(PathBuf::from(path)),
            extra => return Err(Failure::Usage(format!("unexpected argument `{extra}`"))),
        }
    }
    let path =
        snapshot_path.ok_or_else(|| Failure::Usage("simulate needs a snapshot file".into()))?;
    let snapshot = Snapshot::from_json(&read(&path)?)?;
    let policy = load_policy(&policy)?;
    let ending = simulate::simulate(&snapshot, &policy, fail.as_deref(), &script)?;
    print!("{}", ending.trace);
    Ok(match ending.phase {
        offboard::machine::PhaseKind::Purged => ExitCode::SUCCESS,
        _ => ExitCode::from(3),
    })
}

fn cmd_demo() -> Result<ExitCode, Failure> {
    println!("Offboard demo: each sample account assessed under both presets.");
    println!(
        "The actor is the account holder, signed in just now; `now` is the snapshot's time.\n"
    );
    for (name, text) in SAMPLES {
        let snapshot = Snapshot::from_json(text)?;
        let now = snapshot.taken_at;
        let actor = Actor::holder(&snapshot.account, now);
        for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
            let report = assess(&snapshot, &actor, &policy, now)?;
            println!("==== {name} · policy {} ====", policy.name);
            print!("{}", render::checklist(&snapshot, &report));
            println!();
        }
    }
    println!("Offboard demo: each sample account's closure simulated under the cascade preset,");
    println!(
        "against an in-memory host with a virtual clock (every command, transition and effect).\n"
    );
    for (name, text) in SAMPLES {
        let snapshot = Snapshot::from_json(text)?;
        println!("==== simulate {name} · policy cascade ====");
        print!(
            "{}",
            simulate::simulate(
                &snapshot,
                &ClosurePolicy::cascade(),
                None,
                &simulate::Script::default()
            )?
            .trace
        );
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
