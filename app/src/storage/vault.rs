//! Webhook URLs at rest: sealed with the operator's key when one is set, plain otherwise.
//! Storage backends pass every column that holds an address through here, both ways.

use super::{StorageError, StorageResult};
use crate::crypto::{SealError, Sealer, is_sealed};

/// Seals and opens stored webhook addresses; without a key it passes text through, and refuses
/// to read text that was sealed.
#[derive(Clone, Debug, Default)]
pub struct Vault(Option<Sealer>);

impl Vault {
    pub fn new(sealer: Option<Sealer>) -> Self {
        Self(sealer)
    }

    pub fn is_sealing(&self) -> bool {
        self.0.is_some()
    }

    /// The stored form of `plain`: the same text always seals the same, so SQL can compare it.
    pub fn seal(&self, plain: &str) -> String {
        match &self.0 {
            Some(sealer) => sealer.seal(plain),
            None => plain.to_owned(),
        }
    }

    /// The text behind a stored value of `column`.
    pub fn open(&self, column: &'static str, stored: String) -> StorageResult<String> {
        match &self.0 {
            Some(sealer) => sealer.open(&stored).map_err(|error| StorageError::Key { column, error }),
            None if is_sealed(&stored) => Err(StorageError::Key { column, error: SealError::NoKey }),
            None => Ok(stored),
        }
    }
}
