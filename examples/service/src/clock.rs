//! The service's clock: the system clock plus an offset kept in the database.
//!
//! The offset is zero in production. Tests that must see a grace period end or
//! a purge fall due start the service with `--allow-time-travel` and move the
//! offset forward through the operator endpoint; it is stored, so every process
//! on the database, and a restarted one, agrees on the time.
//!
//! A simulation gives the clock a source of its own in place of the system
//! clock ([`Clock::with_source`]): virtual time, skewed per process.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Where a clock reads the time before its offset is added.
pub type Source = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Wall-clock time (or its [`Source`]'s) plus a stored offset, in whole seconds.
#[derive(Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
    source: Option<Source>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("offset_seconds", &self.offset_seconds())
            .field("system_clock", &self.source.is_none())
            .finish()
    }
}

impl Clock {
    /// A clock that reads `source` instead of the system clock.
    pub fn with_source(source: Source) -> Clock {
        Clock {
            offset_seconds: AtomicI64::new(0),
            source: Some(source),
        }
    }

    /// The current time, truncated to the second (the library's timestamps
    /// are read and written fastest in that form).
    pub fn now(&self) -> DateTime<Utc> {
        let base = self
            .source
            .as_ref()
            .map_or_else(Utc::now, |source| source());
        let seconds = base
            .timestamp()
            .saturating_add(self.offset_seconds.load(Ordering::Relaxed));
        DateTime::from_timestamp(seconds, 0).unwrap_or(base)
    }

    /// The offset in force.
    pub fn offset_seconds(&self) -> i64 {
        self.offset_seconds.load(Ordering::Relaxed)
    }

    /// Adopts the offset read from the database.
    pub fn set_offset_seconds(&self, offset: i64) {
        self.offset_seconds.store(offset, Ordering::Relaxed);
    }
}
