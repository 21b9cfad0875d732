//! `offboard`: the command-line face of the Offboard core.
//!
//! Every command takes `--help`; the binary takes `--version`. With
//! `--json` (anywhere on the line) every command prints JSON on stdout, and
//! every error is the library's `ErrorReport` as JSON on stderr.
//!
//! Exit codes: 0 done (the account can be closed, the closure ended
//! purged), 3 blocked (or the simulated closure ended elsewhere), 1 an input
//! cannot be used, 2 a usage error.

mod render;
mod simulate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use offboard::model::{RecordClass, UserId};
use offboard::plan::Action;
use offboard::{assess, Actor, ActorRole, ClosurePolicy, Error, Snapshot};
use serde_json::json;

/// Close customer accounts correctly: assess an account snapshot, simulate
/// its closure, print presets, schemas and the state diagram.
///
/// By default the actor is the account holder, re-authenticated just now,
/// and `now` is the snapshot's own `taken_at`, so output is reproducible.
#[derive(Debug, Parser)]
#[command(name = "offboard", version, propagate_version = true)]
struct Cli {
    /// Print JSON on stdout, and errors as JSON error reports on stderr.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Check what stands in the way of closing an account, and what closing
    /// would do. Exits 0 when it can be closed, 3 when it is blocked.
    Assess(AssessArgs),
    /// Run a whole closure against an in-memory host with a virtual clock,
    /// printing every command, transition, effect and outcome. Exits 0 when
    /// the closure ends purged, 3 otherwise.
    Simulate(SimulateArgs),
    /// Print a preset policy as JSON, to start your own from.
    Policy {
        /// The preset.
        #[arg(value_enum)]
        preset: Preset,
    },
    /// Write the JSON Schema of every document into a directory.
    Schema {
        /// Where to write them.
        #[arg(default_value = "schema")]
        dir: PathBuf,
    },
    /// Print TypeScript declarations of every document.
    Typescript,
    /// Print the closure state diagram (Mermaid).
    Diagram,
    /// Assess the bundled sample accounts under both presets, then simulate
    /// their closures.
    Demo,
}

/// The policy presets.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Preset {
    /// Close everything the account owns in one cascade.
    Cascade,
    /// Ask the person to clear each blocker first.
    Prerequisite,
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Preset::Cascade => "cascade",
            Preset::Prerequisite => "prerequisite",
        }
    }
}

/// `--policy`: a preset's name or a policy file, checked when parsed.
#[derive(Debug, Clone)]
enum PolicyChoice {
    Preset(&'static str),
    File(PathBuf),
}

fn policy_choice(value: &str) -> Result<PolicyChoice, String> {
    if let Some(preset) = ["cascade", "prerequisite"]
        .into_iter()
        .find(|p| *p == value)
    {
        return Ok(PolicyChoice::Preset(preset));
    }
    let path = PathBuf::from(value);
    if path.is_file() {
        Ok(PolicyChoice::File(path))
    } else {
        Err(format!(
            "`{value}` is neither a preset (cascade, prerequisite) nor a policy file"
        ))
    }
}

/// An RFC 3339 time such as `2026-11-23T10:00:00Z`.
fn time(value: &str) -> Result<DateTime<Utc>, String> {
    offboard::json::parse_time("time", value).map_err(|e| e.to_string())
}

/// `--reauth`: a time, or `never`.
fn reauth(value: &str) -> Result<Reauth, String> {
    if value == "never" {
        Ok(Reauth(None))
    } else {
        time(value).map(|t| Reauth(Some(t)))
    }
}

#[derive(Debug, Clone, Copy)]
struct Reauth(Option<DateTime<Utc>>);

fn user_id(value: &str) -> Result<UserId, String> {
    UserId::new(value).map_err(|e| e.to_string())
}

fn action_kind(value: &str) -> Result<&'static str, String> {
    Action::KINDS
        .into_iter()
        .find(|k| *k == value)
        .ok_or_else(|| format!("no action `{value}`; one of: {}", Action::KINDS.join(", ")))
}

fn record_class(value: &str) -> Result<RecordClass, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|_| {
        format!("no record class `{value}`; one of: personal_data, content, invoices, audit_log")
    })
}

#[derive(Debug, Args)]
struct AssessArgs {
    /// The account snapshot (JSON), or `-` to read it from standard input.
    snapshot: PathBuf,
    /// A preset (cascade, prerequisite) or a policy file.
    #[arg(long, default_value = "prerequisite", value_parser = policy_choice)]
    policy: PolicyChoice,
    /// Assess for this user id instead of the holder.
    #[arg(long, value_parser = user_id)]
    actor: Option<UserId>,
    /// The actor is a support operator.
    #[arg(long)]
    support: bool,
    /// The time to assess at (RFC 3339); default: the snapshot's `taken_at`.
    #[arg(long, value_parser = time)]
    now: Option<DateTime<Utc>>,
    /// When the actor last re-authenticated (RFC 3339), or `never`.
    #[arg(long, value_parser = reauth)]
    reauth: Option<Reauth>,
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// The account snapshot (JSON), or `-` to read it from standard input.
    snapshot: PathBuf,
    /// A preset (cascade, prerequisite) or a policy file.
    #[arg(long, default_value = "prerequisite", value_parser = policy_choice)]
    policy: PolicyChoice,
    /// Effects of this action fail (retryably) until an operator steps in.
    #[arg(long, value_name = "ACTION", value_parser = action_kind)]
    fail: Option<&'static str>,
    /// The holder cancels in the grace period.
    #[arg(long)]
    cancel: bool,
    /// Support places an open-ended legal hold on this record class
    /// (repeatable).
    #[arg(long, value_name = "CLASS", value_parser = record_class)]
    hold: Vec<RecordClass>,
}

/// How a command went wrong: the library's error, and whether it was the
/// command line's fault (exit 2) or an input's (exit 1).
struct Failure {
    error: Error,
    usage: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            usage: false,
        }
    }
}

/// What a command prints: prose for people, or the JSON document.
struct Output {
    text: String,
    json: serde_json::Value,
    code: ExitCode,
}

impl Output {
    /// A text that is the whole answer: as is, or under `key` in JSON.
    fn text(key: &str, text: String) -> Output {
        Output {
            json: json!({ key: text }),
            text,
            code: ExitCode::SUCCESS,
        }
    }
}

/// The sample accounts, bundled so `demo` runs from any directory.
const SAMPLES: [(&str, &str); 5] = [
    ("lone-user", include_str!("../data/lone-user.json")),
    ("team-owner", include_str!("../data/team-owner.json")),
    ("domain-owner", include_str!("../data/domain-owner.json")),
    ("contract", include_str!("../data/contract.json")),
    ("sso-member", include_str!("../data/sso-member.json")),
];

fn main() -> ExitCode {
    // Known before parsing, so that a usage error can be JSON too.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                // --help and --version: what was asked for, on stdout.
                return emit(&err.render().to_string(), ExitCode::SUCCESS);
            }
            if json {
                report(&Error::invalid(
                    "arguments",
                    first_line(&err.render().to_string()),
                ));
            } else {
                // clap's own message, with the usage line and a hint.
                let _ = err.print();
            }
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Commands::Assess(args) => cmd_assess(&args),
        Commands::Simulate(args) => cmd_simulate(&args),
        Commands::Policy { preset } => cmd_policy(preset),
        Commands::Schema { dir } => cmd_schema(&dir),
        Commands::Typescript => Ok(Output::text("typescript", offboard::schema::typescript())),
        Commands::Diagram => Ok(Output::text("mermaid", offboard::machine::diagram())),
        Commands::Demo => cmd_demo(),
    };
    match result {
        Ok(out) if cli.json => emit(&pretty(&out.json), out.code),
        Ok(out) => emit(&out.text, out.code),
        Err(failure) => {
            if cli.json {
                report(&failure.error);
            } else {
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(
                    stderr,
                    "offboard: [{}] {}",
                    failure.error.code(),
                    failure.error
                );
                if failure.usage {
                    let _ = writeln!(stderr, "\nFor more information, try '--help'.");
                }
            }
            ExitCode::from(if failure.usage { 2 } else { 1 })
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Writes `text` to stdout. A reader that went away (`offboard demo | head`)
/// is not an error: the output is cut short, quietly, as the reader asked.
fn emit(text: &str, code: ExitCode) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "offboard: cannot write output: {e}");
            ExitCode::from(1)
        }
    }
}

/// An error as the library's JSON error report, on stderr.
fn report(error: &Error) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        offboard::json::error_report(error)
    );
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn to_value<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        return std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .map(|_| text)
            .map_err(|e| {
                Failure::from(Error::invalid(
                    what,
                    format!("cannot read standard input: {e}"),
                ))
            });
    }
    std::fs::read_to_string(path).map_err(|e| {
        Failure::from(Error::invalid(
            what,
            format!("cannot read {}: {e}", path.display()),
        ))
    })
}

fn load_policy(choice: &PolicyChoice) -> Result<ClosurePolicy, Failure> {
    match choice {
        PolicyChoice::Preset(name) => Ok(ClosurePolicy::named(name)?),
        PolicyChoice::File(path) => Ok(ClosurePolicy::from_json(&read(path, "policy")?)?),
    }
}

fn cmd_assess(args: &AssessArgs) -> Result<Output, Failure> {
    let snapshot = Snapshot::from_json(&read(&args.snapshot, "snapshot")?)?;
    let policy = load_policy(&args.policy)?;
    let now = args.now.unwrap_or(snapshot.taken_at);
    let mut actor = Actor::holder(&snapshot.account, now);
    if let Some(id) = &args.actor {
        actor.id = id.clone();
    }
    if args.support {
        actor.role = ActorRole::SupportOperator;
    }
    if let Some(Reauth(at)) = args.reauth {
        actor.reauthenticated_at = at;
    }
    let report = assess(&snapshot, &actor, &policy, now)?;
    Ok(Output {
        text: render::checklist(&snapshot, &report),
        json: to_value(&report),
        code: if report.can_close {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        },
    })
}

fn cmd_schema(dir: &Path) -> Result<Output, Failure> {
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        Failure::from(Error::invalid(
            "dir",
            format!("cannot {what} {}: {e}", path.display()),
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
    let mut text = String::new();
    let mut written = Vec::new();
    for schema in offboard::schema::all() {
        let path = dir.join(offboard::schema::file_name(&schema));
        std::fs::write(&path, offboard::schema::to_text(&schema))
            .map_err(|e| failed("write", &path, e))?;
        text.push_str(&format!("wrote {}\n", path.display()));
        written.push(path.display().to_string());
    }
    Ok(Output {
        text,
        json: json!({ "written": written }),
        code: ExitCode::SUCCESS,
    })
}

fn cmd_policy(preset: Preset) -> Result<Output, Failure> {
    let policy = ClosurePolicy::named(preset.name())?;
    let json = to_value(&policy);
    Ok(Output {
        text: pretty(&json),
        json,
        code: ExitCode::SUCCESS,
    })
}

fn cmd_simulate(args: &SimulateArgs) -> Result<Output, Failure> {
    let snapshot = Snapshot::from_json(&read(&args.snapshot, "snapshot")?)?;
    let policy = load_policy(&args.policy)?;
    let script = simulate::Script {
        cancel: args.cancel,
        hold: args.hold.clone(),
    };
    let ending = simulate::simulate(&snapshot, &policy, args.fail, &script)?;
    let code = match ending.phase {
        offboard::machine::PhaseKind::Purged => ExitCode::SUCCESS,
        _ => ExitCode::from(3),
    };
    Ok(Output {
        json: ending.json(),
        text: ending.trace,
        code,
    })
}

fn cmd_demo() -> Result<Output, Failure> {
    let mut text = String::from(
        "Offboard demo: each sample account assessed under both presets.\n\
         The actor is the account holder, signed in just now; `now` is the snapshot's time.\n\n",
    );
    let mut assessments = Vec::new();
    for (name, sample) in SAMPLES {
        let snapshot = Snapshot::from_json(sample)?;
        let now = snapshot.taken_at;
        let actor = Actor::holder(&snapshot.account, now);
        for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
            let report = assess(&snapshot, &actor, &policy, now)?;
            text.push_str(&format!("==== {name} · policy {} ====\n", policy.name));
            text.push_str(&render::checklist(&snapshot, &report));
            text.push('\n');
            assessments
                .push(json!({ "sample": name, "policy": policy.name, "assessment": report }));
        }
    }
    text.push_str(
        "Offboard demo: each sample account's closure simulated under the cascade preset,\n\
         against an in-memory host with a virtual clock (every command, transition and effect).\n\n",
    );
    let mut simulations = Vec::new();
    for (name, sample) in SAMPLES {
        let snapshot = Snapshot::from_json(sample)?;
        let ending = simulate::simulate(
            &snapshot,
            &ClosurePolicy::cascade(),
            None,
            &simulate::Script::default(),
        )?;
        text.push_str(&format!("==== simulate {name} · policy cascade ====\n"));
        text.push_str(&ending.trace);
        text.push('\n');
        simulations
            .push(json!({ "sample": name, "policy": "cascade", "simulation": ending.json() }));
    }
    Ok(Output {
        text,
        json: json!({ "assessments": assessments, "simulations": simulations }),
        code: ExitCode::SUCCESS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
