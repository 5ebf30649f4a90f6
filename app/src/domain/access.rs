//! Who may use Tocsin when sign-in is on: user names, API token names, and what the access page
//! shows of a token (never the token itself, which is shown once, when it is created).

use super::{Timestamp, routing::TextError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest user or token name.
pub const MAX_NAME_CHARS: usize = 200;
/// The shortest password `tocsin user add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user's sign-in name: 1 to 200 characters, no spaces or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let name = bounded_name(input)?;
        if name.chars().any(char::is_whitespace) {
            return Err(TextError::Space);
        }
        Ok(Self(name.to_owned()))
    }
}

/// What an API token is for ("dqops-prod", "ci"): 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded_name(input).map(|name| Self(name.to_owned()))
    }
}

/// The rules both names share: trimmed, not empty, at most [`MAX_NAME_CHARS`], no control characters.
fn bounded_name(input: &str) -> Result<&str, TextError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(TextError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(TextError::TooLong(MAX_NAME_CHARS));
    }
    if name.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(name)
}

/// The conversions a validated name needs: from text (validating), to text, and display.
macro_rules! name_conversions {
    ($($name:ident),+) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> Self {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

name_conversions!(UserName, TokenName);

/// An API token as listed: its name, its last characters, and whether it still works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: TokenName,
    /// The token's last four characters, to tell tokens apart.
    pub hint: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// How the token is shown: `tocsin_…abcd`.
    pub fn display(&self) -> String {
        format!("tocsin_…{}", self.hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_bounded_and_have_no_spaces() {
        assert_eq!(UserName::parse("  admin ").unwrap().as_str(), "admin");
        assert_eq!(UserName::parse(""), Err(TextError::Empty));
        assert_eq!(UserName::parse("a b"), Err(TextError::Space));
        assert_eq!(UserName::parse("a\u{7}"), Err(TextError::ControlCharacter));
        assert_eq!(UserName::parse(&"x".repeat(201)), Err(TextError::TooLong(200)));
        assert!(UserName::parse(&"x".repeat(200)).is_ok());
    }

    #[test]
    fn token_names_allow_spaces_but_not_control_characters() {
        assert_eq!(TokenName::parse("DQOps prod").unwrap().as_str(), "DQOps prod");
        assert_eq!(TokenName::parse("a\nb"), Err(TextError::ControlCharacter));
        assert_eq!(TokenName::parse(" "), Err(TextError::Empty));
    }
}
