//! The four machine steps the benchmarks measure, shared by `benches/goals.rs`
//! (wall time) and `examples/scale.rs` (instruction counts): one closure of
//! the sample `lone-user` under `cascade` with a 3-day grace period, from a
//! request to the first reported outcome. Each step's input is the state the
//! step before it returned.

// The benchmark reads the names and outputs, the example the input sizes.
#![allow(dead_code)]

use offboard::{json, Actor, ClosurePolicy, Snapshot};

/// One call of `json::step_with`, and what it returned.
pub struct StepInput {
    /// What the step does, for the tables.
    pub name: &'static str,
    /// The closure state JSON going in.
    pub state: String,
    /// The command JSON.
    pub command: String,
    /// The actor JSON.
    pub actor: String,
    /// The snapshot JSON, for the commands that re-assess.
    pub snapshot: Option<String>,
    /// The time, RFC 3339.
    pub now: String,
    /// The step JSON it returned when the sequence was built.
    pub output: String,
}

impl StepInput {
    /// Runs the step; the step JSON.
    pub fn run(&self, policy: &ClosurePolicy) -> String {
        let snapshot = self.snapshot.as_deref();
        json::step_with(
            &self.state,
            &self.command,
            &self.actor,
            policy,
            snapshot,
            &self.now,
        )
        .expect("the benchmark's closure steps are valid")
    }

    /// Runs the step as the bindings do, parsing the policy from text too.
    pub fn run_with_policy_text(&self, policy: &str) -> String {
        json::step(
            &self.state,
            &self.command,
            &self.actor,
            policy,
            self.snapshot.as_deref(),
            &self.now,
        )
        .expect("the benchmark's closure steps are valid")
    }

    /// The bytes of JSON the step reads.
    pub fn input_len(&self) -> usize {
        let snapshot = self.snapshot.as_ref().map_or(0, String::len);
        self.state.len() + self.command.len() + self.actor.len() + snapshot
    }
}

/// The policy the steps run under.
pub fn policy() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 3;
    policy
}

/// The sample snapshot's JSON text.
pub fn sample() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/lone-user.json");
    std::fs::read_to_string(path).expect("the sample lone-user")
}

/// The four steps, each input produced by running the one before. Each step
/// runs exactly once here; the instruction counts rely on that.
pub fn inputs(policy: &ClosurePolicy) -> Vec<StepInput> {
    let text = sample();
    let snapshot = Snapshot::from_json(&text).expect("the sample parses");
    let now = snapshot.taken_at.to_rfc3339();
    let later = (snapshot.taken_at + chrono::TimeDelta::days(3)).to_rfc3339();
    let holder = serde_json::to_string(&Actor::holder(&snapshot.account, snapshot.taken_at))
        .expect("an actor serialises");
    let system = r#"{"id":"host","role":"system"}"#;

    let mut steps = Vec::new();
    let mut step = |name, state: String, command: String, actor: &str, snap: bool, at: &str| {
        let mut input = StepInput {
            name,
            state,
            command,
            actor: actor.to_owned(),
            snapshot: snap.then(|| text.clone()),
            now: at.to_owned(),
            output: String::new(),
        };
        input.output = input.run(policy);
        let step: serde_json::Value = serde_json::from_str(&input.output).expect("a step is JSON");
        steps.push(input);
        step
    };

    let idle = json::new_state("cl_1", snapshot.account.id.as_str()).expect("a new state");
    let request = r#"{"type":"request"}"#.to_owned();
    let requested = step(
        "request (with snapshot)",
        idle,
        request,
        &holder,
        true,
        &now,
    );
    let confirm = format!(
        r#"{{"type":"confirm","value":"{}"}}"#,
        snapshot.account.email
    );
    let state = requested["state"].to_string();
    let scheduled = step(
        "confirm (with snapshot)",
        state,
        confirm,
        &holder,
        true,
        &now,
    );
    let tick = r#"{"type":"tick"}"#.to_owned();
    let state = scheduled["state"].to_string();
    let executing = step(
        "tick into execution (with snapshot)",
        state,
        tick,
        system,
        true,
        &later,
    );
    let effect = executing["effects"][0]["id"]
        .as_str()
        .expect("the tick issues effects");
    let report = format!(
        r#"{{"type":"report_outcome","effect":"{effect}","outcome":{{"result":"succeeded"}}}}"#
    );
    let state = executing["state"].to_string();
    step("report an outcome", state, report, system, false, &later);
    steps
}
