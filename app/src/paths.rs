//! The URLs of Tocsin's pages, and the query parameters a form sends back to its page when the
//! browser posted it without JavaScript.

use crate::domain::{ConnectionName, FieldErrors, FilterOwner};

pub const SOURCES: &str = "/sources";
pub const INCIDENTS: &str = "/incidents";
/// Global incident notifications, at DQOps' address.
pub const DEFAULT_NOTIFICATIONS: &str = "/definitions/default-notifications";
/// Sign-in, when `TOCSIN_AUTH=on`; the form posts back to it.
pub const SIGN_IN: &str = "/sign-in";
/// Ends the session (a form post).
pub const SIGN_OUT: &str = "/sign-out";
/// Who is signed in, and the API tokens.
pub const ACCESS: &str = "/settings/access";
/// Present after a successful save made without JavaScript.
pub const SAVED_PARAM: &str = "saved";
/// Prefix of the parameters that carry a field's error after a rejected save made without JavaScript.
const ERROR_PARAM_PREFIX: &str = "error.";

pub fn connection(name: &ConnectionName) -> String {
    format!("/sources/connection/{name}")
}

pub fn incident_settings(name: &ConnectionName) -> String {
    format!("/sources/connection/{name}/incidents")
}

/// The page that lists `owner`'s filtered notifications.
pub fn filters_home(owner: &FilterOwner) -> String {
    match owner {
        FilterOwner::Connection(name) => incident_settings(name),
        FilterOwner::Global => DEFAULT_NOTIFICATIONS.to_owned(),
    }
}

/// The form that adds a filtered notification to `owner`, or edits the one named `name`.
pub fn filter_form(owner: &FilterOwner, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{}/filters/{}", filters_home(owner), encode(name)),
        None => format!("{}/filters/new", filters_home(owner)),
    }
}

/// A connection's incidents list.
pub fn incidents_of(name: &ConnectionName) -> String {
    format!("/incidents/{name}")
}

/// An incident's page, at DQOps' address.
pub fn incident(name: &ConnectionName, year: i32, month: u32, id: &str) -> String {
    format!("/incidents/{name}/{year}/{month}/{}", encode(id))
}

/// `error.<field>=<message>&…`, percent-encoded. Messages never contain what the user typed.
pub fn errors_query(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, message)| format!("{ERROR_PARAM_PREFIX}{}={}", encode(field), encode(message)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The errors of `fields` carried by a page's query; `lookup` returns a decoded parameter.
pub fn errors_from_query(fields: &[&str], lookup: impl Fn(&str) -> Option<String>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for field in fields {
        if let Some(message) = lookup(&format!("{ERROR_PARAM_PREFIX}{field}")) {
            errors.add(field, message);
        }
    }
    errors
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_survive_a_trip_through_the_query_string() {
        let mut errors = FieldErrors::new();
        errors.add("incident_muted_addresses", "must be an absolute URL starting with http:// or https://");
        errors.add("mute_for_days", "must be between 1 and 3650 days");
        let query = errors_query(&errors);
        assert!(!query.contains(' ') && !query.contains('/'), "{query}");
        let decoded: Vec<(String, String)> = query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        let lookup = |key: &str| decoded.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let back = errors_from_query(&["incident_muted_addresses", "mute_for_days", "grouping_level"], lookup);
        assert_eq!(back, errors);
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
