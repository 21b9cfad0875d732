//! What the Restate tests share: a guard that refuses to run outside a
//! loopback-only network namespace, Restate servers and the endpoint as
//! child processes on 127.0.0.1, the ingress and admin APIs, and bounded
//! waits on what they answer (never fixed sleeps).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use offboard::policy::{Period, Retention};
use offboard::ClosurePolicy;
use offboard_service::config::Limits;
use offboard_service::store::{Store, StoreOptions};
use serde_json::{json, Value};

/// The cascade preset on short clocks (the tests' clocks run thousands of
/// times as fast as the wall's): a day of grace, purges two and three days
/// after the closure, re-authentication not asked.
pub fn policy() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 1;
    policy.invoice_download_days = 1;
    policy.authorization.max_reauth_age_minutes = None;
    policy.retention = Retention {
        personal_data: Period::Days(2),
        content: Period::Days(2),
        invoices: Period::Days(3),
        audit_log: Period::Days(3),
        personal_data_basis: None,
    };
    policy.validate().unwrap();
    policy
}

/// The runtime for the store's async calls: one for the process, since a
/// database pool belongs to the runtime it was opened on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The service's store at `url` (the accounts and the downstream record).
pub fn store(url: &str) -> Store {
    store_in(url, None, false)
}

/// The store in a PostgreSQL `schema`, made afresh when `reset`.
pub fn store_in(url: &str, schema: Option<&str>, reset: bool) -> Store {
    runtime()
        .block_on(Store::open(&StoreOptions {
            url: url.to_owned(),
            schema: schema.map(str::to_owned),
            reset_schema: reset,
            limits: Limits::default(),
        }))
        .unwrap()
}

/// Panics unless the only network interface here is `lo`: restate-server
/// calls a public address at start-up, so it must never see another one.
/// `scripts/test-restate.sh` makes the namespace and runs the tests in it.
pub fn require_loopback_only() {
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap();
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert!(
        interfaces == ["lo"],
        "refusing to start restate-server with interfaces {interfaces:?}: \
         run these tests through scripts/test-restate.sh (a loopback-only network namespace)"
    );
}

/// Panics unless this run has the Restate binaries and the endpoint
/// (`scripts/test-restate.sh` sets `OFFBOARD_RESTATE_BIN` and
/// `OFFBOARD_RESTATE_ENDPOINT`). The tests are `#[ignore]`d, so a plain
/// `cargo test --workspace` lists them as ignored rather than passing
/// them untried; the script runs them with `--include-ignored`.
pub fn require_restate() {
    for var in ["OFFBOARD_RESTATE_BIN", "OFFBOARD_RESTATE_ENDPOINT"] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set: run the Restate tests through scripts/test-restate.sh"
        );
    }
}

/// Where scripts/test-restate.sh installed the Restate binaries.
fn restate_bin(name: &str) -> PathBuf {
    let dir = std::env::var("OFFBOARD_RESTATE_BIN")
        .expect("OFFBOARD_RESTATE_BIN: run through scripts/test-restate.sh");
    Path::new(&dir).join(name).join("bin").join(name)
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 100 ms until it answers `Some`, for at most `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Owned(pub Option<Child>);

impl Owned {
    /// `kill -9`, and wait for it to go.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The cluster's request-identity key pair under `dir`, made once with
/// openssl (Ed25519): the private key's PEM file, which every node signs
/// its requests to the endpoint with, and the public key in Restate's
/// `publickeyv1_<base58>` form, which the endpoint accepts them by.
pub fn identity(dir: &Path) -> (PathBuf, String) {
    let pem = dir.join("identity.pem");
    if !pem.exists() {
        let made = Process::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&pem)
            .status()
            .unwrap();
        assert!(made.success(), "openssl genpkey failed");
    }
    let der = Process::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem)
        .output()
        .unwrap()
        .stdout;
    // The DER SubjectPublicKeyInfo of an Ed25519 key ends with its 32 bytes.
    let raw = &der[der.len() - 32..];
    (pem, format!("publickeyv1_{}", base58(raw)))
}

/// Base58 (the Bitcoin alphabet), as Restate writes its keys.
fn base58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = u8::try_from(carry % 58).unwrap();
            carry /= 58;
        }
        while carry > 0 {
            digits.push(u8::try_from(carry % 58).unwrap());
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n(b'1', zeros)
        .chain(digits.iter().rev().map(|d| ALPHABET[usize::from(*d)]))
        .map(char::from)
        .collect()
}

/// One Restate node.
#[derive(Debug)]
pub struct Node {
    /// Its number, from 1.
    pub id: u32,
    pub config: PathBuf,
    /// The node-to-node port, which restatectl talks to.
    pub port: u16,
    pub admin: u16,
    pub ingress: u16,
    pub process: Owned,
    log: PathBuf,
}

/// The ports of a cluster's nodes: node-to-node, admin, ingress.
#[derive(Debug, Clone)]
pub struct Ports {
    pub node: Vec<u16>,
    pub admin: Vec<u16>,
    pub ingress: Vec<u16>,
}

impl Ports {
    pub fn new(nodes: usize) -> Ports {
        Ports {
            node: (0..nodes).map(|_| free_port()).collect(),
            admin: (0..nodes).map(|_| free_port()).collect(),
            ingress: (0..nodes).map(|_| free_port()).collect(),
        }
    }
}

impl Node {
    /// Writes node `id`'s configuration (of `ports.node.len()` nodes) under
    /// `dir` and starts it. One node keeps its metadata and log locally;
    /// three replicate both, with replication 2.
    pub fn start(dir: &Path, id: u32, ports: &Ports) -> Node {
        let n = ports.node.len();
        let i = usize::try_from(id - 1).unwrap();
        let base = dir.join(format!("n{id}"));
        std::fs::create_dir_all(&base).unwrap();
        let peers: Vec<String> = ports
            .node
            .iter()
            .map(|p| format!("\"http://127.0.0.1:{p}/\""))
            .collect();
        let cluster = if n == 1 {
            "default-replication = 1\n".to_owned()
        } else {
            format!(
                "default-replication = 2\nforce-node-id = {id}\n\
                 [bifrost]\ndefault-provider = \"replicated\"\n\
                 [metadata-server]\ntype = \"replicated\"\n\
                 [metadata-client]\naddresses = [{}]\n",
                peers.join(", ")
            )
        };
        let (identity_pem, _) = identity(dir);
        let config = format!(
            "node-name = \"n{id}\"\ncluster-name = \"offboard-test\"\nbase-dir = \"{}\"\n\
             auto-provision = {}\ndisable-telemetry = true\ndefault-num-partitions = 4\n\
             rocksdb-total-memory-size = \"256 MiB\"\n\
             roles = [\"metadata-server\", \"admin\", \"worker\", \"log-server\", \"http-ingress\"]\n\
             bind-address = \"127.0.0.1:{node}\"\nadvertised-address = \"http://127.0.0.1:{node}/\"\n\
             {cluster}\
             [admin]\nbind-address = \"127.0.0.1:{admin}\"\nadvertised-admin-endpoint = \"http://127.0.0.1:{admin}/\"\n\
             [ingress]\nbind-address = \"127.0.0.1:{ingress}\"\nadvertised-ingress-endpoint = \"http://127.0.0.1:{ingress}/\"\n\
             [worker.invoker]\nrequest-identity-private-key-pem-file = \"{identity}\"\n",
            base.join("data").display(),
            id == 1,
            identity = identity_pem.display(),
            node = ports.node[i],
            admin = ports.admin[i],
            ingress = ports.ingress[i],
        );
        let path = base.join("config.toml");
        std::fs::write(&path, config).unwrap();
        let mut node = Node {
            id,
            config: path,
            port: ports.node[i],
            admin: ports.admin[i],
            ingress: ports.ingress[i],
            process: Owned(None),
            log: base.join("log.txt"),
        };
        node.restart();
        node
    }

    /// Starts (again) the node's process.
    pub fn restart(&mut self) {
        require_loopback_only();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Process::new(restate_bin("restate-server"))
            .arg("--config-file")
            .arg(&self.config)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.process = Owned(Some(child));
    }

    /// The last lines of its log, for a failure message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// What `restatectl` prints when asked `args` through the node listening
/// on `port` (empty when it cannot answer).
pub fn restatectl(port: u16, args: &[&str]) -> String {
    require_loopback_only();
    Process::new(restate_bin("restatectl"))
        .arg("-s")
        .arg(format!("http://127.0.0.1:{port}/"))
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// The nodes `restatectl status --extra` reports `Alive`, by number.
pub fn alive_nodes(port: u16) -> std::collections::BTreeSet<u32> {
    let text = restatectl(port, &["status", "--extra"]);
    let mut alive = std::collections::BTreeSet::new();
    // The node table comes first; it ends at the first blank line.
    for line in text.lines().skip_while(|l| !l.contains("NODE")).skip(1) {
        if line.trim().is_empty() {
            break;
        }
        let mut words = line.split_whitespace();
        let node = words.next().and_then(|w| w.strip_prefix('N')?.parse().ok());
        if let (Some(node), true) = (node, line.split_whitespace().any(|w| w == "Alive")) {
            alive.insert(node);
        }
    }
    alive
}

/// The partition processors `restatectl partitions list` reports, as
/// (partition, node, mode, status) rows.
pub fn partition_processors(port: u16) -> Vec<(u32, u32, String, String)> {
    let text = restatectl(port, &["partitions", "list"]);
    text.lines()
        .skip_while(|l| !l.contains("MODE"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let partition = words.first()?.parse().ok()?;
            let node = words
                .get(1)?
                .strip_prefix('N')?
                .split(':')
                .next()?
                .parse()
                .ok()?;
            Some((
                partition,
                node,
                (*words.get(2)?).to_owned(),
                (*words.get(3)?).to_owned(),
            ))
        })
        .collect()
}

/// Each partition's leader, when exactly one active leader leads it.
pub fn partition_leaders(port: u16) -> std::collections::BTreeMap<u32, u32> {
    let mut leaders = std::collections::BTreeMap::new();
    let mut count = std::collections::BTreeMap::new();
    for (partition, node, mode, status) in partition_processors(port) {
        if mode == "Leader" && status == "Active" {
            leaders.insert(partition, node);
            *count.entry(partition).or_insert(0) += 1;
        }
    }
    leaders.retain(|p, _| count.get(p) == Some(&1));
    leaders
}

/// HTTP on 127.0.0.1, with statuses as answers rather than errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs `body` (JSON, or nothing) to `url`, with a bearer token if
/// given: the status and the JSON answered.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    body: Option<&Value>,
    bearer: Option<&str>,
) -> Option<(u16, Value)> {
    let mut request = agent.post(url);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    // A handler without input takes no body and no content type.
    let answer = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .send(body.to_string()),
        None => request.send_empty(),
    };
    let mut answer = answer.ok()?;
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap_or_default();
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// GETs `url`: the status and the JSON answered.
pub fn get(agent: &ureq::Agent, url: &str) -> Option<(u16, Value)> {
    let mut answer = agent.get(url).call().ok()?;
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap_or_default();
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// The status the endpoint answers an unsigned HTTP/2 request with (the
/// SDK's server speaks HTTP/2 without upgrade, which curl does and ureq
/// does not): `GET /discover`, or an empty `POST` to `path`.
pub fn unsigned_status(port: u16, path: &str) -> u16 {
    require_loopback_only();
    let url = format!("http://127.0.0.1:{port}/{path}");
    // A transport failure (0) is tried again, a few times.
    let mut status = 0;
    for _ in 0..5 {
        let mut curl = Process::new("curl");
        curl.args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--http2-prior-knowledge",
        ]);
        if path != "discover" {
            curl.args([
                "-X",
                "POST",
                "-H",
                "content-type: application/vnd.restate.invocation.v5",
            ]);
        }
        let out = curl.arg(&url).output().unwrap();
        status = String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0);
        if status != 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    status
}

/// The endpoint process (`offboard-restate`).
#[derive(Debug)]
pub struct Endpoint {
    pub port: u16,
    /// Its flags; a restart takes them as they are then.
    pub args: Vec<String>,
    pub process: Owned,
    log: PathBuf,
}

impl Endpoint {
    pub fn start(dir: &Path, args: &[String]) -> Endpoint {
        let mut endpoint = Endpoint {
            port: free_port(),
            args: args.to_vec(),
            process: Owned(None),
            log: dir.join("endpoint.log"),
        };
        endpoint.restart();
        endpoint
    }

    pub fn restart(&mut self) {
        let bin = std::env::var("OFFBOARD_RESTATE_ENDPOINT")
            .expect("OFFBOARD_RESTATE_ENDPOINT: run through scripts/test-restate.sh");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let (_, key) = identity(self.log.parent().unwrap());
        let child = Process::new(bin)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["--restate-identity-key", &key])
            .args(&self.args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.process = Owned(Some(child));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// Registers the endpoint with the cluster through `admin`, retrying
/// while either is still starting.
pub fn register(agent: &ureq::Agent, admin: u16, endpoint: &Endpoint) {
    let url = format!("http://127.0.0.1:{admin}/deployments");
    let body = json!({ "uri": endpoint.url() });
    wait_for(
        "the deployment to register",
        Duration::from_secs(60),
        || post(agent, &url, Some(&body), None).filter(|(status, _)| (200..300).contains(status)),
    );
}

/// The endpoint's token keys (an HS256 secret, as in development) and
/// tokens signed with them, as the product's identity provider would.
#[derive(Debug, Clone)]
pub struct Auth {
    secret: Vec<u8>,
    path: PathBuf,
}

pub const ISSUER: &str = "https://id.offboard.test";
pub const AUDIENCE: &str = "offboard-restate";

impl Auth {
    /// Writes a fresh secret under `dir`.
    pub fn new(dir: &Path) -> Auth {
        let secret = format!(
            "offboard-restate-test-secret-{}-0123456789",
            std::process::id()
        );
        let path = dir.join("token-secret");
        std::fs::write(&path, &secret).unwrap();
        Auth {
            secret: secret.into_bytes(),
            path,
        }
    }

    /// The endpoint's flags for these keys.
    pub fn args(&self) -> Vec<String> {
        [
            "--auth-hs256-secret-file",
            &self.path.display().to_string(),
            "--auth-issuer",
            ISSUER,
            "--auth-audience",
            AUDIENCE,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// A token for `sub` (a support operator when `support`), signed in at
    /// `at` in the endpoint's time, good for `ttl_seconds` of that time.
    pub fn token(
        &self,
        sub: &str,
        support: bool,
        at: chrono::DateTime<chrono::Utc>,
        ttl_seconds: i64,
    ) -> String {
        let roles: &[&str] = if support { &["offboard:support"] } else { &[] };
        self.token_with(sub, roles, at, ttl_seconds)
    }

    /// A token for `sub` carrying `roles`.
    pub fn token_with(
        &self,
        sub: &str,
        roles: &[&str],
        at: chrono::DateTime<chrono::Utc>,
        ttl_seconds: i64,
    ) -> String {
        offboard_service::auth::sign_dev_token(
            &self.secret,
            ISSUER,
            AUDIENCE,
            sub,
            roles,
            at,
            ttl_seconds,
        )
        .unwrap()
    }
}

/// The ingress of one node, and the token its reads (status, audit) carry.
#[derive(Debug, Clone)]
pub struct Ingress {
    pub agent: ureq::Agent,
    pub port: u16,
    pub reader: Option<String>,
}

impl Ingress {
    /// Calls `handler` of `Closure/{key}` with the reader's token: the
    /// status and the answer.
    pub fn call(&self, key: &str, handler: &str, body: Option<&Value>) -> Option<(u16, Value)> {
        self.call_as(key, handler, body, self.reader.as_deref())
    }

    /// Calls `handler` of `Closure/{key}` with `bearer` (or no token).
    pub fn call_as(
        &self,
        key: &str,
        handler: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Option<(u16, Value)> {
        post(
            &self.agent,
            &format!("http://127.0.0.1:{}/Closure/{key}/{handler}", self.port),
            body,
            bearer,
        )
    }

    /// Calls a service handler, with the reader's token.
    pub fn service(&self, path: &str, body: &Value) -> Option<(u16, Value)> {
        post(
            &self.agent,
            &format!("http://127.0.0.1:{}/{path}", self.port),
            Some(body),
            self.reader.as_deref(),
        )
    }

    /// The closure's status, once the ingress answers it.
    pub fn status(&self, key: &str) -> Option<Value> {
        self.call(key, "status", None)
            .filter(|(s, _)| *s == 200)
            .map(|(_, v)| v)
    }

    /// Sends a command with `bearer` until the ingress answers (a node or
    /// the endpoint may be restarting); the status and answer. Commands
    /// carry an idempotency key, so a repeat after a lost answer is the
    /// same call.
    pub fn command(
        &self,
        key: &str,
        handler: &str,
        body: &Value,
        idempotency: &str,
        bearer: &str,
    ) -> (u16, Value) {
        let url = format!("http://127.0.0.1:{}/Closure/{key}/{handler}", self.port);
        wait_for(
            &format!("{handler} on {key}"),
            Duration::from_secs(60),
            || {
                let mut answer = self
                    .agent
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", idempotency)
                    .header("authorization", format!("Bearer {bearer}"))
                    .send(body.to_string())
                    .ok()?;
                let status = answer.status().as_u16();
                if status >= 500 {
                    return None;
                }
                let text = answer.body_mut().read_to_string().unwrap_or_default();
                Some((
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                ))
            },
        )
    }
}

/// What the closures' audit logs say of effect keys, each with its
/// closure: the keys they count done (`effect_succeeded`) and every key
/// they issued. Asserts that every chain verifies. (The logs, not the
/// states: a state forgets settled effects once personal data is purged.)
#[derive(Debug, Default)]
pub struct AuditedKeys {
    pub done: std::collections::BTreeMap<String, String>,
    pub issued: std::collections::BTreeMap<String, String>,
}

pub fn audited_keys<'a>(
    ingress: &Ingress,
    ids: impl IntoIterator<Item = &'a String>,
) -> AuditedKeys {
    let mut keys = AuditedKeys::default();
    for id in ids {
        let (status, audit) = ingress.call(id, "audit", None).unwrap();
        assert_eq!(status, 200, "{audit}");
        assert_eq!(audit["verified"], true, "{id}: {}", audit["problem"]);
        for event in audit["events"].as_array().unwrap() {
            for e in event["effects"].as_array().unwrap() {
                let key = e["id"].as_str().unwrap().to_owned();
                if event["event"]["kind"] == "effect_succeeded" {
                    keys.done.insert(key.clone(), id.clone());
                }
                keys.issued.insert(key, id.clone());
            }
        }
    }
    keys
}

/// The downstream record, asserting that every key counted done was
/// performed there exactly once, and that every key performed was issued
/// by a closure and performed once.
pub fn checked_record(
    keys: &AuditedKeys,
    database: &str,
) -> Vec<offboard_service::store::DownstreamKey> {
    let record = runtime()
        .block_on(store(database).downstream_record())
        .unwrap();
    let performed: std::collections::BTreeMap<&str, i64> = record
        .iter()
        .map(|k| (k.key.as_str(), k.performed))
        .collect();
    for (key, id) in &keys.done {
        assert_eq!(
            performed.get(key.as_str()),
            Some(&1),
            "{id}: effect {key} done but not performed once downstream"
        );
    }
    for k in &record {
        assert!(
            keys.issued.contains_key(&k.key),
            "performed under a key no closure issued: {k:?}"
        );
        assert!(k.calls >= 1 && k.performed == 1, "{k:?}");
    }
    record
}
