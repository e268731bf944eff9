//! Rate-limited warnings: an unreachable server fails every request, and the agent's own log must
//! not turn into one line per attempt.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LogLimiter {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    pub fn new(every: Duration) -> LogLimiter {
        LogLimiter {
            every,
            state: Mutex::new((None, 0)),
        }
    }

    /// Returns `Some(suppressed)` when the caller should log now (with the count of occurrences
    /// left unlogged since the last time), `None` when it should stay quiet.
    pub fn check(&self) -> Option<u64> {
        let Ok(mut st) = self.state.lock() else {
            return Some(0);
        };
        let now = Instant::now();
        match st.0 {
            Some(last) if now.duration_since(last) < self.every => {
                st.1 += 1;
                None
            }
            _ => {
                let suppressed = st.1;
                *st = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_first_then_counts() {
        let l = LogLimiter::new(Duration::from_secs(3600));
        assert_eq!(l.check(), Some(0));
        assert_eq!(l.check(), None);
        assert_eq!(l.check(), None);
        let l = LogLimiter::new(Duration::ZERO);
        assert_eq!(l.check(), Some(0));
        assert_eq!(l.check(), Some(0));
    }
}
