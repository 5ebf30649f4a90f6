//! Webhook addresses: the URLs notifications are posted to. They are credentials, so their
//! `Debug` output is redacted and error messages never repeat them.

use super::incident::IncidentStatus;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An absolute `http` or `https` URL of at most 2048 bytes, with a host, without a user name or
/// password, and without whitespace.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("must be at most {max} bytes long", max = WebhookUrl::MAX_LEN)]
    TooLong,
    #[error("must not contain spaces or other whitespace")]
    Whitespace,
    #[error("must not contain control characters or any of < > \" \\ ^ ` {{ | }}")]
    InvalidCharacter,
    #[error("must be an absolute URL starting with http:// or https://")]
    NotHttp,
    #[error("has no host name")]
    NoHost,
    #[error("must not contain a user name or password")]
    UserInfo,
    #[error("has an invalid host name")]
    InvalidHost,
    #[error("has an invalid port")]
    InvalidPort,
}

impl WebhookUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(input: &str) -> Result<Self, WebhookUrlError> {
        let url = input.trim();
        if url.len() > Self::MAX_LEN {
            return Err(WebhookUrlError::TooLong);
        }
        if url.chars().any(char::is_whitespace) {
            return Err(WebhookUrlError::Whitespace);
        }
        if url.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '\\' | '^' | '`' | '{' | '|' | '}')) {
            return Err(WebhookUrlError::InvalidCharacter);
        }
        let (scheme, rest) = url.split_once("://").ok_or(WebhookUrlError::NotHttp)?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return Err(WebhookUrlError::NotHttp);
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(WebhookUrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(WebhookUrlError::NoHost);
        }
        if !valid_host(host) {
            return Err(WebhookUrlError::InvalidHost);
        }
        if port.is_some_and(|port| !valid_port(port)) {
            return Err(WebhookUrlError::InvalidPort);
        }
        Ok(Self(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host name, lower-cased, without the port.
    pub fn host(&self) -> String {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        split_host_port(authority).map(|(host, _)| host.to_ascii_lowercase()).unwrap_or_default()
    }

    /// A form safe to show in logs and history: scheme, host and the last four characters.
    pub fn redacted(&self) -> String {
        let scheme = self.0.split_once("://").map_or("https", |(scheme, _)| scheme);
        let tail: String = {
            let chars: Vec<char> = self.0.chars().collect();
            chars[chars.len().saturating_sub(4)..].iter().collect()
        };
        format!("{scheme}://{}/…{tail}", self.host())
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), WebhookUrlError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(WebhookUrlError::InvalidHost)?;
        if !host.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') || host.is_empty() {
            return Err(WebhookUrlError::InvalidHost);
        }
        return match after {
            "" => Ok((host, None)),
            _ => after.strip_prefix(':').map(|port| (host, Some(port))).ok_or(WebhookUrlError::InvalidHost),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// 1 to 65535, in decimal digits only (`+1` and ` 1` parse as numbers but are not ports).
fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|n| n > 0)
}

fn valid_host(host: &str) -> bool {
    if host.contains(':') {
        return true; // a bracketed IPv6 literal, already checked
    }
    host.split('.').enumerate().all(|(index, label)| {
        // A single trailing dot (a fully qualified name) leaves one empty last label.
        (label.is_empty() && index > 0 && host.ends_with('.') && index == host.split('.').count() - 1)
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '%'))
    })
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.redacted())
    }
}

/// One or more webhook URLs, written as a comma-separated list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookAddresses(Vec<WebhookUrl>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookAddressesError {
    #[error("{0}")]
    Single(WebhookUrlError),
    #[error("address {position} of {count} {error}")]
    InList { position: usize, count: usize, error: WebhookUrlError },
}

impl WebhookAddresses {
    /// Parses a comma-separated list; blank items (as after a trailing comma) are ignored.
    pub fn parse(input: &str) -> Result<Self, WebhookAddressesError> {
        let items: Vec<&str> = input.split(',').map(str::trim).filter(|item| !item.is_empty()).collect();
        let count = items.len();
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                WebhookUrl::parse(item).map_err(|error| match count {
                    1 => WebhookAddressesError::Single(error),
                    _ => WebhookAddressesError::InList { position: index + 1, count, error },
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn urls(&self) -> &[WebhookUrl] {
        &self.0
    }
}

impl fmt::Display for WebhookAddresses {
    /// The canonical spelling: the URLs joined with ", ".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, url) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(url.as_str())?;
        }
        Ok(())
    }
}

impl TryFrom<String> for WebhookAddresses {
    type Error = WebhookAddressesError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WebhookAddresses> for String {
    fn from(addresses: WebhookAddresses) -> Self {
        addresses.to_string()
    }
}

/// The addresses notified when an incident enters each status (DQOps' `incident_*_addresses`).
/// `None` means "not set" (a later fallback to global defaults applies); `Some` of an empty list
/// means "explicitly nobody".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAddresses {
    pub opened: Option<WebhookAddresses>,
    pub acknowledged: Option<WebhookAddresses>,
    pub resolved: Option<WebhookAddresses>,
    pub muted: Option<WebhookAddresses>,
}

impl NotificationAddresses {
    pub fn for_status(&self, status: IncidentStatus) -> Option<&WebhookAddresses> {
        match status {
            IncidentStatus::Open => self.opened.as_ref(),
            IncidentStatus::Acknowledged => self.acknowledged.as_ref(),
            IncidentStatus::Resolved => self.resolved.as_ref(),
            IncidentStatus::Muted => self.muted.as_ref(),
        }
    }

    pub fn set(&mut self, status: IncidentStatus, addresses: Option<WebhookAddresses>) {
        let slot = match status {
            IncidentStatus::Open => &mut self.opened,
            IncidentStatus::Acknowledged => &mut self.acknowledged,
            IncidentStatus::Resolved => &mut self.resolved,
            IncidentStatus::Muted => &mut self.muted,
        };
        *slot = addresses;
    }

    /// These addresses, with `defaults` filling each status that is not set (DQOps'
    /// `combineWithDefaults`). An explicitly empty list is set, so it blocks its default.
    pub fn with_defaults(&self, defaults: &NotificationAddresses) -> NotificationAddresses {
        let mut merged = self.clone();
        for status in IncidentStatus::ALL {
            if merged.for_status(status).is_none() {
                merged.set(status, defaults.for_status(status).cloned());
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_accept_absolute_http_and_https_urls() {
        for ok in [
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
            "http://127.0.0.1:9000/hook",
            "https://example.com",
            "HTTPS://Example.COM/path?query=1#frag",
            "https://[::1]:8443/x",
            "https://my_host.internal./a%20b",
        ] {
            assert_eq!(WebhookUrl::parse(ok).map(|u| u.as_str().to_owned()), Ok(ok.to_owned()), "{ok}");
        }
    }

    #[test]
    fn webhook_urls_reject_what_cannot_be_posted_to_safely() {
        let cases = [
            ("ftp://example.com/x", WebhookUrlError::NotHttp),
            ("hooks.slack.com/services/x", WebhookUrlError::NotHttp),
            ("/relative/path", WebhookUrlError::NotHttp),
            ("javascript:alert(1)", WebhookUrlError::NotHttp),
            ("https://", WebhookUrlError::NoHost),
            ("https:///path", WebhookUrlError::NoHost),
            ("https://user:secret@example.com/", WebhookUrlError::UserInfo),
            ("https://user@example.com/", WebhookUrlError::UserInfo),
            ("https://exa mple.com/", WebhookUrlError::Whitespace),
            ("https://example.com/a\tb", WebhookUrlError::Whitespace),
            ("https://example.com/<x>", WebhookUrlError::InvalidCharacter),
            ("https://example.com:99999/", WebhookUrlError::InvalidPort),
            ("https://example.com:/", WebhookUrlError::InvalidPort),
            ("https://example.com:8a/", WebhookUrlError::InvalidPort),
            ("https://example.com:0/", WebhookUrlError::InvalidPort),
            ("https://example.com:+443/", WebhookUrlError::InvalidPort),
            ("https://-bad-.com/", WebhookUrlError::InvalidHost),
            ("https://a..b/", WebhookUrlError::InvalidHost),
            ("https://[zz]/", WebhookUrlError::InvalidHost),
        ];
        for (input, expected) in cases {
            assert_eq!(WebhookUrl::parse(input), Err(expected), "{input}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(WebhookUrl::parse(&long), Err(WebhookUrlError::TooLong));
        let just_fits = format!("https://example.com/{}", "a".repeat(2048 - 20));
        assert_eq!(just_fits.len(), 2048);
        assert!(WebhookUrl::parse(&just_fits).is_ok());
    }

    #[test]
    fn webhook_urls_are_redacted_in_debug_output() {
        let url = WebhookUrl::parse("https://hooks.slack.com/services/T000/B000/SECRETTOKEN1234").unwrap();
        let debug = format!("{url:?}");
        assert_eq!(debug, "WebhookUrl(https://hooks.slack.com/…1234)");
        assert!(!debug.contains("SECRETTOKEN"));
        assert_eq!(url.host(), "hooks.slack.com");
    }

    #[test]
    fn address_lists_are_comma_separated_and_canonicalised() {
        let list = WebhookAddresses::parse(" https://a.example/1 ,https://b.example/2,").unwrap();
        assert_eq!(list.urls().len(), 2);
        assert_eq!(list.to_string(), "https://a.example/1, https://b.example/2");
        assert!(WebhookAddresses::parse("").unwrap().is_empty());
        assert!(WebhookAddresses::parse(" , ").unwrap().is_empty());
    }

    #[test]
    fn an_invalid_address_in_a_list_is_named_by_position_without_repeating_it() {
        let error = WebhookAddresses::parse("https://ok.example/1, not a url").unwrap_err();
        assert_eq!(error.to_string(), "address 2 of 2 must not contain spaces or other whitespace");
        let error = WebhookAddresses::parse("https://user:hunter2@example.com/").unwrap_err();
        assert_eq!(error.to_string(), "must not contain a user name or password");
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn notification_addresses_are_looked_up_by_status() {
        let mut addresses = NotificationAddresses::default();
        let list = WebhookAddresses::parse("https://a.example/1").unwrap();
        addresses.set(IncidentStatus::Muted, Some(list.clone()));
        assert_eq!(addresses.for_status(IncidentStatus::Muted), Some(&list));
        assert_eq!(addresses.for_status(IncidentStatus::Open), None);
    }

    #[test]
    fn defaults_fill_only_the_statuses_that_are_not_set() {
        let list = |text: &str| Some(WebhookAddresses::parse(text).unwrap());
        let connection = NotificationAddresses {
            opened: list("https://own.example/opened"),
            acknowledged: list(""),
            resolved: None,
            muted: None,
        };
        let defaults = NotificationAddresses {
            opened: list("https://global.example/opened"),
            acknowledged: list("https://global.example/acknowledged"),
            resolved: list("https://global.example/resolved"),
            muted: None,
        };
        let merged = connection.with_defaults(&defaults);
        assert_eq!(merged.opened, list("https://own.example/opened"), "a set address wins");
        assert_eq!(merged.acknowledged, list(""), "an empty string blocks the default");
        assert_eq!(merged.resolved, list("https://global.example/resolved"), "an absent one falls back");
        assert_eq!(merged.muted, None, "nothing anywhere stays nothing");
    }
}
