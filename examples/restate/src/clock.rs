//! The host's clock, read only inside journaled steps (`ctx.run`), so a
//! replayed invocation sees the times its first run saw.
//!
//! In production it is the system clock. Tests run it fast: virtual time is
//! `anchor + (real − anchor) × speed`, so a grace period of a day passes in
//! a second of real time at speed 86 400, and every process started with
//! the same anchor and speed agrees on the time. Durable timers are real
//! time, so a delay in virtual time is divided by the speed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Virtual time over the system clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor: DateTime<Utc>,
    speed: u32,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock {
            anchor: DateTime::UNIX_EPOCH,
            speed: 1,
        }
    }

    /// A clock that runs `speed` times as fast as the system's from `anchor`.
    pub fn fast(anchor: DateTime<Utc>, speed: u32) -> Clock {
        Clock {
            anchor,
            speed: speed.max(1),
        }
    }

    /// The current virtual time, truncated to the second.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        let elapsed = real.signed_duration_since(self.anchor);
        let scaled = elapsed
            .checked_mul(i32::try_from(self.speed).unwrap_or(i32::MAX))
            .unwrap_or(TimeDelta::MAX);
        let virtual_now = self
            .anchor
            .checked_add_signed(scaled)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        DateTime::from_timestamp(virtual_now.timestamp(), 0).unwrap_or(virtual_now)
    }

    /// How long to wait in real time from virtual `now` until virtual `due`
    /// (rounded up, so a timer never fires before its time).
    pub fn delay(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> Duration {
        let virtual_ms = due
            .signed_duration_since(now)
            .num_milliseconds()
            .max(0)
            .unsigned_abs();
        Duration::from_millis(virtual_ms.div_ceil(u64::from(self.speed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_scales_from_its_anchor_and_delays_divide_by_its_speed() {
        let anchor: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap_or_default();
        let clock = Clock::fast(anchor, 86_400);
        let real = anchor + TimeDelta::seconds(2);
        assert_eq!(clock.at(real), anchor + TimeDelta::days(2));
        assert_eq!(
            clock.delay(anchor, anchor + TimeDelta::days(3)),
            Duration::from_secs(3)
        );
        // Past due waits not at all; a part of a millisecond waits one.
        assert_eq!(
            clock.delay(anchor, anchor - TimeDelta::days(1)),
            Duration::ZERO
        );
        assert_eq!(
            clock.delay(anchor, anchor + TimeDelta::seconds(1)),
            Duration::from_millis(1)
        );
        let system = Clock::system();
        assert_eq!(system.at(real), real);
    }
}
