//! The service's clock: the system clock plus an offset kept in the database.
//!
//! The offset is zero in production. Tests that must see a grace period end or
//! a purge fall due start the service with `--allow-time-travel` and move the
//! offset forward through the operator endpoint; it is stored, so every process
//! on the database, and a restarted one, agrees on the time.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// Wall-clock time plus a stored offset, in whole seconds.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    /// The current time, truncated to the second (the library's timestamps
    /// are read and written fastest in that form).
    pub fn now(&self) -> DateTime<Utc> {
        let seconds = Utc::now()
            .timestamp()
            .saturating_add(self.offset_seconds.load(Ordering::Relaxed));
        DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
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
