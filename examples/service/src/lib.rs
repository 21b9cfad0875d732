//! A durable account-closure service built on the `offboard` crate: the
//! reference for a Rust host. See `examples/service/README.md`.
//!
//! The library decides; this crate stores and performs. Each closure's state
//! lives in the database as the JSON the library reads and writes. Every
//! command (from the API or the worker) is one transaction that runs the pure
//! step and writes its results: the new state (guarded by a version), the
//! audit events and the effects for the outbox. Workers perform the outbox
//! through adapters that honour idempotency keys, so a process can be killed
//! at any moment without losing or repeating work.

#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod accounts;
pub mod adapters;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod openapi;
pub mod samples;
pub mod store;
pub mod stripe;
pub mod worker;

use std::sync::Arc;

use offboard::ClosurePolicy;
use tokio::sync::watch;

pub use config::Config;
pub use error::ServiceError;

use adapters::Adapters;
use clock::Clock;
use store::{Store, StoreOptions};

/// What every request handler and worker shares. The API runs on a
/// [`Store`]; the worker on any [`worker::WorkerStore`] (the simulation
/// puts faults in front of the store there).
#[derive(Debug)]
pub struct App<S = Store> {
    /// The database.
    pub store: S,
    /// The clock (wall time plus the stored offset).
    pub clock: Clock,
    /// The closure policy.
    pub policy: ClosurePolicy,
    /// The downstream systems (the fakes unless a product plugged its own
    /// in: `app.adapters = app.adapters.with(Adapter::Billing, …)`).
    pub adapters: Adapters,
    /// How callers are identified.
    pub auth: auth::Authenticator,
    /// The configuration.
    pub config: Config,
}

impl App {
    /// Opens the database (creating the tables) and sets the adapters up.
    pub async fn open(config: Config) -> Result<App, ServiceError> {
        let auth = auth::Authenticator::new(&config.auth).map_err(ServiceError::Startup)?;
        let store = Store::open(&StoreOptions {
            url: config.database_url.clone(),
            schema: config.schema.clone(),
            reset_schema: config.reset_schema,
            limits: config.limits,
        })
        .await?;
        let clock = Clock::default();
        clock.set_offset_seconds(store.clock_offset().await?);
        let mut adapters = Adapters::fakes(&store, config.flaky_percent);
        if let Some(stripe) = &config.stripe {
            let key = std::fs::read_to_string(&stripe.key_file).map_err(|e| {
                ServiceError::Startup(format!("cannot read `{}`: {e}", stripe.key_file))
            })?;
            let billing = stripe::StripeBilling::new(
                &stripe.api,
                &key,
                std::time::Duration::from_millis(config.adapter_timeout_ms),
            )
            .map_err(|e| ServiceError::Startup(format!("--stripe-key-file: {e}")))?
            .with_customers(store.clone());
            adapters = adapters.with(adapters::Adapter::Billing, Arc::new(billing));
        }
        for (adapter, mode) in &config.adapter_modes {
            adapters.set_mode(*adapter, *mode);
        }
        Ok(App {
            store,
            clock,
            policy: config.policy.clone(),
            adapters,
            auth,
            config,
        })
    }
}

/// Runs the API and the workers until SIGINT or SIGTERM. Prints
/// `listening on http://ADDR` once the API accepts connections.
///
/// On the signal the API stops taking connections and finishes the requests
/// under way, and the workers start no new call. Workers still busy after
/// `--shutdown-grace-ms` are left behind and their leases handed back, so
/// another process performs those effects at once (under the same keys).
pub async fn serve(config: Config) -> Result<(), ServiceError> {
    run(Arc::new(App::open(config).await?)).await
}

/// [`serve`] with an [`App`] the product has set up (its own downstream
/// systems plugged in, say).
pub async fn run(app: Arc<App>) -> Result<(), ServiceError> {
    if let Some(n) = app.config.crash_after_adapter_calls {
        tracing::warn!(
            calls = n,
            "--crash-after-adapter-calls: this process aborts after that adapter call; crash tests only"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut names = Vec::new();
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..app.config.workers {
        let name = if app.config.workers == 1 {
            app.config.name.clone()
        } else {
            format!("{}-{i}", app.config.name)
        };
        names.push(name.clone());
        workers.spawn(worker::run(app.clone(), name, stop_rx.clone()));
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        }
    };
    match app.config.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ServiceError::Startup(format!("cannot listen on {addr}: {e}")))?;
            let local = listener
                .local_addr()
                .map_err(|e| ServiceError::Startup(format!("no local address: {e}")))?;
            match app.config.auth {
                auth::AuthMode::Jwt(_) => {}
                auth::AuthMode::InsecureActorHeader => tracing::warn!(
                    "--insecure-trust-actor-header: any caller can claim to be anyone; \
                     for local demos and tests only"
                ),
                auth::AuthMode::Unconfigured => tracing::warn!(
                    "no authentication is configured, so only /health answers; \
                     see --auth-jwks, --auth-public-key or --auth-hs256-secret-file"
                ),
            }
            tracing::info!(address = %local, backend = ?app.store.backend(), "listening");
            println!("listening on http://{local}");
            axum::serve(listener, api::router(app.clone()))
                .with_graceful_shutdown(stopped)
                .await
                .map_err(|e| ServiceError::Startup(format!("server: {e}")))?;
        }
        None => {
            println!("worker {} started", app.config.name);
            stopped.await;
        }
    }
    let grace = std::time::Duration::from_millis(app.config.shutdown_grace_ms);
    let finished = tokio::time::timeout(grace, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        for name in &names {
            match app.store.release_all_leases(name).await {
                Ok(n) => {
                    tracing::warn!(worker = %name, leases = n, "stopped busy; leases handed back")
                }
                Err(e) => {
                    tracing::error!(worker = %name, error = %e, "leases could not be handed back")
                }
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
