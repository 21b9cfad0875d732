//! Billing on Stripe's HTTP API, against localstripe (a stateful fake
//! Stripe server from PyPI, run on 127.0.0.1): a closure cancels the
//! account's Stripe subscription and detaches its card, each call under the
//! effect's idempotency key, and the fake billing records nothing; the
//! purge of personal data deletes the Stripe customer.
//! `OFFBOARD_LOCALSTRIPE` names the Python that has localstripe
//! (scripts/test.sh sets it up); without it the test is skipped, unless
//! `OFFBOARD_REQUIRE_LOCALSTRIPE=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use offboard_service::adapters::{Call, Downstream, Refusal};
use offboard_service::stripe::StripeBilling;
use serde_json::Value;

const KEY: &str = "sk_test_offboard_0123456789";

struct LocalStripe {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalStripe {
    fn start() -> Option<LocalStripe> {
        let python = match std::env::var("OFFBOARD_LOCALSTRIPE") {
            Ok(p) if !p.is_empty() => p,
            _ => {
                assert!(
                    std::env::var("OFFBOARD_REQUIRE_LOCALSTRIPE").as_deref() != Ok("1"),
                    "OFFBOARD_REQUIRE_LOCALSTRIPE=1 but OFFBOARD_LOCALSTRIPE is not set"
                );
                eprintln!("localstripe skipped: set OFFBOARD_LOCALSTRIPE (scripts/test.sh does)");
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = format!(
            "{}/tests/peers/run_localstripe.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        let stripe = LocalStripe {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let start = Instant::now();
        while stripe
            .agent
            .get(format!("{}/v1/customers", stripe.base))
            .header("authorization", &format!("Bearer {KEY}"))
            .call()
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "localstripe did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(stripe)
    }

    fn post(&self, path: &str, form: &str) -> Value {
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {KEY}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(form)
            .unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        assert!(response.status().is_success(), "POST {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn get(&self, path: &str) -> Value {
        self.get_status(path).1
    }

    fn get_status(&self, path: &str) -> (u16, Value) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {KEY}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let body = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        (status, body)
    }
}

#[test]
fn a_closure_cancels_the_stripe_subscription_and_detaches_the_card() {
    let Some(stripe) = LocalStripe::start() else {
        return;
    };
    // The customer as the product's signup made it in Stripe.
    let customer = stripe.post("/v1/customers", "email=stripe%40example.test");
    let customer = customer["id"].as_str().unwrap();
    let card = stripe.post(
        "/v1/payment_methods",
        "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[cvc]=123",
    );
    let card = card["id"].as_str().unwrap().to_owned();
    stripe.post(
        &format!("/v1/payment_methods/{card}/attach"),
        &format!("customer={customer}"),
    );
    stripe.post(
        &format!("/v1/customers/{customer}"),
        &format!("invoice_settings[default_payment_method]={card}"),
    );
    let plan = stripe.post(
        "/v1/plans",
        "product[name]=Pro&amount=900&currency=eur&interval=month",
    );
    let plan = plan["id"].as_str().unwrap();
    let subscription = stripe.post(
        "/v1/subscriptions",
        &format!("customer={customer}&items[0][plan]={plan}"),
    );
    let subscription = subscription["id"].as_str().unwrap().to_owned();
    assert_eq!(
        stripe.get(&format!("/v1/subscriptions/{subscription}"))["status"],
        "active"
    );

    // The account's snapshot names the Stripe objects by their Stripe ids.
    let snapshot = common::clone_sample("lone-user", "u_stripe")
        .replace("\"sub_lena_pro~u_stripe\"", &format!("\"{subscription}\""))
        .replace("\"pm_lena_card~u_stripe\"", &format!("\"{card}\""));
    let db = common::sqlite("stripe");
    let key_file = db.dir.join("stripe.key");
    std::fs::write(&key_file, KEY).unwrap();
    let key_file = key_file.display().to_string();
    let s = common::Service::start(
        &db,
        true,
        &[
            "--workers",
            "1",
            "--poll-ms",
            "20",
            "--stripe-api",
            &stripe.base,
            "--stripe-key-file",
            &key_file,
            "--allow-time-travel",
        ],
    );
    let (status, body) = s.put("/v1/ops/accounts/u_stripe", &snapshot);
    assert_eq!(status, 204, "{body}");
    let (status, body) = s.put(
        "/v1/ops/accounts/u_stripe/billing-customer",
        &format!(r#"{{"provider": "stripe", "customer": "{customer}"}}"#),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = s.post("/v1/accounts/u_stripe/closure", "{}");
    assert_eq!(status, 201, "{body}");
    let (status, body) = s.post(
        "/v1/accounts/u_stripe/closure/confirm",
        r#"{"value": "u_stripe@example.test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    s.wait_phase("u_stripe", "closed");

    // Stripe's own state says it was done.
    let after = stripe.get(&format!("/v1/subscriptions/{subscription}"));
    assert!(
        after["status"] == "canceled" || after["cancel_at_period_end"] == true,
        "{after}"
    );
    assert_eq!(
        stripe.get(&format!("/v1/payment_methods/{card}"))["customer"],
        Value::Null
    );
    // Billing's effects went to Stripe, none to the fake.
    let billing: Vec<Value> = s
        .effects()
        .into_iter()
        .filter(|e| e["adapter"] == "billing")
        .collect();
    assert_eq!(billing.len(), 3, "{billing:?}");
    assert!(
        billing
            .iter()
            .all(|e| e["status"] == "done" && e["calls"] == 0),
        "{billing:?}"
    );

    // Closed, the customer is still there (its invoices are tax records);
    // the purge of personal data deletes it, before the identity system
    // forgets which customer it was.
    assert_eq!(
        stripe.get_status(&format!("/v1/customers/{customer}")).0,
        200
    );
    s.advance_clock(11 * 366 * 24 * 3600);
    s.wait_phase("u_stripe", "purged");
    let (status, gone) = stripe.get_status(&format!("/v1/customers/{customer}"));
    assert!(status == 404 || gone["deleted"] == true, "{status} {gone}");
    assert_eq!(s.get("/v1/ops/accounts/u_stripe/billing-customer").0, 404);
}

#[test]
fn stripe_answers_become_the_right_outcomes() {
    let Some(stripe) = LocalStripe::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cancel = |id: &str| offboard::plan::Action::CancelSubscription {
        subscription: offboard::model::SubscriptionId::new(id).unwrap(),
        timing: offboard::policy::CancelTiming::Immediately,
        unused_time: offboard::policy::UnusedTime::None,
    };
    let call = |billing: &StripeBilling, action: &offboard::plan::Action| {
        runtime.block_on(billing.perform(Call {
            key: "ef_test",
            attempt: 1,
            action,
            worker: "test",
            closure: "cl_test",
        }))
    };
    let billing = StripeBilling::new(&stripe.base, KEY, Duration::from_secs(5)).unwrap();
    // A subscription that is not there is over already.
    assert_eq!(call(&billing, &cancel("sub_never_was")), Ok(()));
    // A key Stripe does not take: permanent, support must look.
    let wrong = StripeBilling::new(&stripe.base, "sk_x", Duration::from_secs(5)).unwrap();
    assert!(matches!(
        call(&wrong, &cancel("sub_any")),
        Err(Refusal::Permanent(_))
    ));
    // No answer at all: retryable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let away = StripeBilling::new(
        &format!("http://127.0.0.1:{port}"),
        KEY,
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(matches!(
        call(&away, &cancel("sub_any")),
        Err(Refusal::Retryable(_))
    ));
    // A key that is not a secret key is refused before any call.
    assert!(StripeBilling::new(&stripe.base, "pk_live_x", Duration::from_secs(5)).is_err());
}
