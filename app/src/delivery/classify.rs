//! What a receiver's answer means: delivered, try again (and not before when), or give up (and
//! whether the address is gone for good). Slack's error bodies are read before the status.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another attempt. `throttled` asks for a longer wait (a 429 or a timeout), and
    /// `retry_after` is the receiver's own request.
    Retry {
        throttled: bool,
        retry_after: Option<Duration>,
        reason: String,
    },
    /// Never worth repeating. `disable` means the webhook is gone: stop sending to the address.
    Permanent {
        disable: bool,
        reason: String,
    },
}

/// Slack's answers that mean the webhook no longer exists.
const GONE: [&str; 3] = ["no_service", "channel_is_archived", "invalid_token"];
/// Slack's answers that a repeat cannot fix.
const REFUSED: [&str; 5] = ["invalid_payload", "no_text", "user_not_found", "action_prohibited", "channel_not_found"];

/// Classifies an HTTP answer. `retry_after` is the header's value, if any.
pub fn classify(status: u16, body: &str, retry_after: Option<&str>) -> Verdict {
    let word = body.trim();
    if GONE.contains(&word) {
        return Verdict::Permanent { disable: true, reason: format!("the receiver answered {status} {word}") };
    }
    if REFUSED.contains(&word) {
        return Verdict::Permanent { disable: false, reason: format!("the receiver answered {status} {word}") };
    }
    let reason = || format!("the receiver answered {status}");
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Permanent { disable: true, reason: format!("{} (gone)", reason()) },
        300..=399 => Verdict::Permanent {
            disable: false,
            reason: format!("{}, a redirect (redirects are not followed)", reason()),
        },
        429 => {
            Verdict::Retry { throttled: true, retry_after: retry_after.and_then(parse_retry_after), reason: reason() }
        }
        408 | 425 | 500..=599 => {
            Verdict::Retry { throttled: false, retry_after: retry_after.and_then(parse_retry_after), reason: reason() }
        }
        _ => Verdict::Permanent { disable: false, reason: reason() },
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.signed_duration_since(chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(throttled: bool, after: Option<u64>) -> impl Fn(Verdict) -> bool {
        move |verdict| matches!(verdict, Verdict::Retry { throttled: t, retry_after, .. } if t == throttled && retry_after == after.map(Duration::from_secs))
    }

    #[test]
    fn answers_are_classified_as_slack_documents_them() {
        assert_eq!(classify(200, "ok", None), Verdict::Delivered);
        assert_eq!(classify(204, "", None), Verdict::Delivered);
        for gone in ["no_service", "channel_is_archived", "invalid_token"] {
            let status = if gone == "channel_is_archived" { 410 } else { 404 };
            assert!(matches!(classify(status, gone, None), Verdict::Permanent { disable: true, .. }), "{gone}");
        }
        for refused in ["invalid_payload", "no_text", "user_not_found", "action_prohibited", "channel_not_found"] {
            assert!(matches!(classify(400, refused, None), Verdict::Permanent { disable: false, .. }), "{refused}");
        }
        assert!(matches!(classify(410, "", None), Verdict::Permanent { disable: true, .. }));
        assert!(matches!(classify(302, "", None), Verdict::Permanent { disable: false, .. }));
        assert!(matches!(classify(403, "forbidden", None), Verdict::Permanent { disable: false, .. }));
        assert!(matches!(classify(404, "", None), Verdict::Permanent { disable: false, .. }));
        assert!(retry(true, Some(30))(classify(429, "{}", Some("30"))));
        assert!(retry(true, None)(classify(429, "", None)));
        assert!(retry(false, None)(classify(500, "rollup_error", None)));
        assert!(retry(false, None)(classify(503, "", None)));
        assert!(retry(false, None)(classify(408, "", None)));
        assert!(retry(false, None)(classify(425, "", None)));
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO), "a date in the past");
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = parse_retry_after(&soon).unwrap();
        assert!((Duration::from_secs(88)..=Duration::from_secs(90)).contains(&wait), "{wait:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }
}
