//! Starts real service processes on real databases and talks HTTP to them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A database for one test: a fresh SQLite file, or a fresh PostgreSQL schema.
#[derive(Debug, Clone)]
pub struct Db {
    pub label: &'static str,
    pub args: Vec<String>,
    /// Only for the first process on it: drop what a previous run left.
    pub reset: Vec<String>,
    pub dir: PathBuf,
}

fn scratch(test: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir()
        .join("offboard-service-tests")
        .join(format!("{test}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn sqlite(test: &str) -> Db {
    let dir = scratch(test);
    let url = format!("sqlite://{}?mode=rwc", dir.join("offboard.db").display());
    Db {
        label: "sqlite",
        args: vec!["--database".into(), url],
        reset: vec![],
        dir,
    }
}

/// PostgreSQL from `OFFBOARD_TEST_DATABASE_URL`, in a schema named after the test.
/// Absent: `None`, unless `OFFBOARD_REQUIRE_POSTGRES=1`, which makes it a failure.
pub fn postgres(test: &str) -> Option<Db> {
    match std::env::var("OFFBOARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(Db {
            label: "postgres",
            args: vec![
                "--database".into(),
                url,
                "--schema".into(),
                format!("t_{test}"),
            ],
            reset: vec!["--reset-schema".into()],
            dir: scratch(test),
        }),
        _ => {
            assert!(
                std::env::var("OFFBOARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "OFFBOARD_REQUIRE_POSTGRES=1 but OFFBOARD_TEST_DATABASE_URL is not set"
            );
            eprintln!("PostgreSQL skipped: set OFFBOARD_TEST_DATABASE_URL (scripts/test.sh does)");
            None
        }
    }
}

/// Every backend this run can test.
pub fn databases(test: &str) -> Vec<Db> {
    let mut dbs = vec![sqlite(test)];
    dbs.extend(postgres(test));
    dbs
}

/// A running `offboard-service` process.
pub struct Service {
    child: Option<Child>,
    pub base: String,
    agent: ureq::Agent,
    pub log: PathBuf,
}

impl Service {
    /// Starts the service with `args` plus `--listen 127.0.0.1:0` and waits for it.
    pub fn start(db: &Db, first: bool, args: &[&str]) -> Service {
        let mut all: Vec<String> = db.args.clone();
        if first {
            all.extend(db.reset.iter().cloned());
        }
        all.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let n = std::fs::read_dir(&db.dir).map(|d| d.count()).unwrap_or(0);
        let log = db.dir.join(format!("service-{n}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_offboard-service"))
            .args(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "the service did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Service {
            child: Some(child),
            base,
            agent,
            log,
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = response.unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, value)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        Service::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        Service::answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .send(body),
        )
    }

    pub fn post_as(&self, path: &str, actor: &str, body: &str) -> (u16, Value) {
        Service::answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .header("x-offboard-actor", actor)
                .send(body),
        )
    }

    pub fn put(&self, path: &str, body: &str) -> (u16, Value) {
        Service::answer(
            self.agent
                .put(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .send(body),
        )
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        Service::answer(
            self.agent
                .delete(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .call(),
        )
    }

    /// Any request with its own headers and body text; answers the status,
    /// the response headers (lower-case names) and the body text.
    pub fn call_with_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Vec<(String, String)>, String) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = self
            .agent
            .run(request.body(body.to_owned()).unwrap())
            .unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap();
        (response.status().as_u16(), headers, text)
    }

    /// Any request, with its own headers and no body; answers the status,
    /// the response headers (lower-case names) and the body text.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, String) {
        self.call_with_body(method, path, headers, "")
    }

    /// Polls `check` until it returns true, for at most `limit`.
    pub fn wait_for(&self, limit: Duration, what: &str, mut check: impl FnMut(&Service) -> bool) {
        let start = Instant::now();
        while !check(self) {
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn phase(&self, account: &str) -> String {
        let (status, body) = self.get(&format!("/v1/accounts/{account}/closure"));
        assert_eq!(status, 200, "{body}");
        body["phase"].as_str().unwrap().to_owned()
    }

    pub fn wait_phase(&self, account: &str, phase: &str) {
        self.wait_for(
            Duration::from_secs(60),
            &format!("{account} to be {phase}"),
            |s| s.phase(account) == phase,
        );
    }

    pub fn advance_clock(&self, seconds: u64) {
        let (status, body) = self.post(
            "/v1/ops/clock",
            &format!(r#"{{"advance_seconds": {seconds}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }

    pub fn set_adapter(&self, adapter: &str, mode: &str) {
        let (status, body) = self.put(&format!("/v1/ops/adapters/{adapter}"), mode);
        assert_eq!(status, 200, "{body}");
    }

    /// Asserts the audit log of `account` verifies; returns its events.
    pub fn verified_audit(&self, account: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/accounts/{account}/closure/audit"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["verification"]["valid"], true, "{account}: {body}");
        let events = body["events"].as_array().unwrap().clone();
        assert_eq!(body["verification"]["events"], events.len() as u64);
        events
    }

    /// Every outbox row with the downstream record of its key.
    pub fn effects(&self) -> Vec<Value> {
        let (status, body) = self.get("/v1/ops/effects");
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A copy of a sample account under a new id, as the JSON the import endpoint takes.
pub fn clone_sample(sample: &str, id: &str) -> String {
    offboard_service::samples::copy_of(sample, id).unwrap()
}
