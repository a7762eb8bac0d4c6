//! The hierarchical timer wheel of the corio runtime.
//!
//! Each corio worker will own one wheel for the sleeps and timeouts
//! registered on it. The wheel itself lands with the timers issue; this crate
//! exists now so that the workspace has its final shape and the executor's
//! dependency graph (`corio-executor -> {corio-reactor, corio-timer}`) is in
//! place.
//!
//! It exposes the resolution the wheel will use, so that the executor can
//! already round park timeouts the same way.
//!
//! ```
//! assert_eq!(corio_timer::RESOLUTION, std::time::Duration::from_millis(1));
//! ```

use std::time::Duration;

/// The resolution of the timer wheel: deadlines are rounded up to it.
pub const RESOLUTION: Duration = Duration::from_millis(1);
