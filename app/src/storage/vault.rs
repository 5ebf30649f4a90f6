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

    /// Checks that a value of `column` found sealed at start-up can be opened: refused without a
    /// key (the database was sealed with one), or with another key.
    pub(super) fn check_sealed(&self, column: &'static str, sealed: Option<String>) -> StorageResult<()> {
        match sealed {
            Some(_) if !self.is_sealing() => Err(StorageError::Key { column, error: SealError::NoKey }),
            Some(sealed) => self.open(column, sealed).map(drop),
            None => Ok(()),
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

/// Every column that holds webhook addresses: (table, row key, column).
pub(super) const SEALED_COLUMNS: [(&str, &str, &str); 11] = [
    ("connections", "id", "incident_opened_addresses"),
    ("connections", "id", "incident_acknowledged_addresses"),
    ("connections", "id", "incident_resolved_addresses"),
    ("connections", "id", "incident_muted_addresses"),
    ("default_notifications", "id", "opened_addresses"),
    ("default_notifications", "id", "acknowledged_addresses"),
    ("default_notifications", "id", "resolved_addresses"),
    ("default_notifications", "id", "muted_addresses"),
    ("filtered_notifications", "id", "spec"),
    ("deliveries", "id", "url"),
    ("webhook_endpoints", "url", "url"),
];

/// A `LIKE` pattern that matches sealed values, and no plain address.
pub(super) const SEALED: &str = "'tocsin:v1:%'";
