//! `offboard-service`: see `examples/service/README.md` and `--help`.

use std::io::Write;
use std::process::ExitCode;

use offboard_service::config::{Config, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--openapi") {
        return match offboard_service::openapi::text() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(missing) => {
                eprintln!(
                    "offboard-service: no OpenAPI shape for {}",
                    missing.join(", ")
                );
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--endpoints") {
        print!("{}", offboard_service::api::endpoint_table());
        return ExitCode::SUCCESS;
    }
    let (args, dev_token) = match dev_token_flags(args) {
        Ok(split) => split,
        Err(e) => {
            eprintln!("offboard-service: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("offboard-service: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some((sub, roles)) = dev_token {
        return match print_dev_token(&config, &sub, &roles) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("offboard-service: --dev-token: {e}");
                ExitCode::from(2)
            }
        };
    }
    // Logs go to stderr, one line per event; OFFBOARD_LOG sets the level
    // (error, warn, info — the default — debug, trace).
    let level = std::env::var("OFFBOARD_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("offboard-service: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(offboard_service::serve(config));
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("offboard-service: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--dev-token SUB` with its `--dev-token-role ROLE`s.
type DevToken = (String, Vec<String>);

/// Takes `--dev-token SUB` and each `--dev-token-role ROLE` out of the
/// arguments.
fn dev_token_flags(args: Vec<String>) -> Result<(Vec<String>, Option<DevToken>), String> {
    let mut rest = Vec::new();
    let (mut sub, mut roles) = (None, Vec::new());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dev-token" => sub = Some(args.next().ok_or("--dev-token needs a value")?),
            "--dev-token-role" => roles.push(args.next().ok_or("--dev-token-role needs a value")?),
            _ => rest.push(arg),
        }
    }
    if sub.is_none() && !roles.is_empty() {
        return Err("--dev-token-role needs --dev-token".into());
    }
    Ok((rest, sub.map(|s| (s, roles))))
}

/// Prints an hour's token for `sub`, signed in now, with the configured
/// HS256 development secret.
fn print_dev_token(config: &Config, sub: &str, roles: &[String]) -> Result<(), String> {
    use offboard_service::auth::{AuthMode, KeySource};
    let AuthMode::Jwt(jwt) = &config.auth else {
        return Err("needs --auth-hs256-secret-file, --auth-issuer and --auth-audience".into());
    };
    let secret = jwt
        .keys
        .iter()
        .find_map(|k| match k {
            KeySource::Hs256SecretFile(path) => Some(path),
            _ => None,
        })
        .ok_or("signs only with an --auth-hs256-secret-file (a provider signs the others)")?;
    let secret = std::fs::read(secret).map_err(|e| format!("cannot read `{secret}`: {e}"))?;
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let token = offboard_service::auth::sign_dev_token(
        &secret,
        &jwt.issuer,
        &jwt.audience,
        sub,
        &roles,
        chrono::Utc::now(),
        3600,
    )?;
    println!("{token}");
    Ok(())
}
