//! When to try again: the retry schedule, jitter, throttling and `Retry-After`. Pure arithmetic.

use std::time::Duration;

/// The waits before each attempt after the first; its length is the number of retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    /// Svix's shape: +5 s, +30 s, +5 min, +30 min, +2 h, +5 h, +10 h after the first attempt.
    fn default() -> Self {
        Self([5, 30, 300, 1800, 7200, 18_000, 36_000].into_iter().map(Duration::from_secs).collect())
    }
}

impl RetrySchedule {
    /// Parses `5s,30s,5m,2h` (also `ms`); an empty text means no retries.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(parse_duration).collect::<Result<_, _>>().map(Self)
    }
}

/// `250ms`, `5s`, `5m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 250ms, 5s, 5m or 2h"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!("{text:?} is not a duration such as 250ms, 5s, 5m or 2h")),
    }
}

/// The rules that turn a failed attempt into the next one's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub schedule: RetrySchedule,
    /// After a 429 or a timeout, wait at least this long.
    pub throttle_delay: Duration,
    /// The longest `Retry-After` honoured.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            throttle_delay: Duration::from_secs(60),
            retry_after_cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), or `None` when the retries are used
    /// up. `jitter` in [-1, 1] scales the ±20 % spread.
    pub fn next_delay(
        &self,
        attempt: u32,
        throttled: bool,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        let planned = *self.schedule.0.get(attempt.saturating_sub(1) as usize)?;
        let spread = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
        let mut delay = planned.mul_f64(spread);
        if throttled {
            delay = delay.max(self.throttle_delay);
        }
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.retry_after_cap));
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_follows_svix() {
        let policy = RetryPolicy::default();
        let plan: Vec<Option<u64>> =
            (1..=8).map(|n| policy.next_delay(n, false, None, 0.0).map(|d| d.as_secs())).collect();
        assert_eq!(plan, [Some(5), Some(30), Some(300), Some(1800), Some(7200), Some(18_000), Some(36_000), None]);
    }

    #[test]
    fn jitter_spreads_by_twenty_percent_at_most() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(2, false, None, 1.0), Some(Duration::from_secs(36)));
        assert_eq!(policy.next_delay(2, false, None, -1.0), Some(Duration::from_secs(24)));
        assert_eq!(policy.next_delay(2, false, None, 7.0), Some(Duration::from_secs(36)), "clamped");
    }

    #[test]
    fn throttling_and_retry_after_lengthen_the_wait_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next_delay(1, true, None, 0.0), Some(Duration::from_secs(60)));
        assert_eq!(policy.next_delay(1, true, Some(Duration::from_secs(120)), 0.0), Some(Duration::from_secs(120)));
        assert_eq!(policy.next_delay(1, false, Some(Duration::from_secs(7200)), 0.0), Some(Duration::from_secs(3600)));
        assert_eq!(policy.next_delay(4, false, Some(Duration::from_secs(1)), 0.0), Some(Duration::from_secs(1800)));
    }

    #[test]
    fn schedules_and_durations_parse() {
        assert_eq!(
            RetrySchedule::parse("10ms, 5s,5m,2h").unwrap().0,
            [10, 5000, 300_000, 7_200_000].map(Duration::from_millis)
        );
        assert_eq!(RetrySchedule::parse("").unwrap().0, []);
        assert!(RetrySchedule::parse("5x").is_err());
        assert!(parse_duration("s").is_err());
    }
}
