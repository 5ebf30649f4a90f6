//! What a data quality check reports: its type and the severity of its result.

use super::Timestamp;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// One data quality check result, as received from a check runner and validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub schema: String,
    pub table: String,
    pub column: Option<String>,
    pub check_name: String,
    pub check_category: String,
    pub check_type: CheckType,
    pub quality_dimension: String,
    pub severity: Severity,
    pub executed_at: Timestamp,
    pub data_group: Option<String>,
    pub table_priority: Option<i32>,
    /// The partition a partitioned check looked at.
    pub time_period: Option<Timestamp>,
    pub actual_value: Option<f64>,
    pub expected_value: Option<f64>,
    pub message: Option<String>,
    /// The sender's own id: a result sent twice with the same id is stored once.
    pub result_id: Option<String>,
}

/// DQOps' check types. Only monitoring and (recent) partitioned results open incidents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckType {
    Profiling,
    Monitoring,
    Partitioned,
}

impl CheckType {
    pub const ALL: [CheckType; 3] = [Self::Profiling, Self::Monitoring, Self::Partitioned];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profiling => "profiling",
            Self::Monitoring => "monitoring",
            Self::Partitioned => "partitioned",
        }
    }
}

impl fmt::Display for CheckType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of profiling, monitoring or partitioned")]
pub struct UnknownCheckType;

impl FromStr for CheckType {
    type Err = UnknownCheckType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(UnknownCheckType)
    }
}

/// A check result's severity: 0 valid, 1 warning, 2 error, 3 fatal (DQOps' numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Severity {
    Valid = 0,
    Warning = 1,
    Error = 2,
    Fatal = 3,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 0 (valid), 1 (warning), 2 (error) or 3 (fatal)")]
pub struct InvalidSeverity;

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Valid, Self::Warning, Self::Error, Self::Fatal];

    pub fn level(self) -> u8 {
        self as u8
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "Valid",
            Self::Warning => "Warning",
            Self::Error => "Error",
            Self::Fatal => "Fatal",
        }
    }

    /// The lower-case name DQOps uses in messages: valid, warning, error, fatal.
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Fatal => "fatal",
        }
    }
}

impl TryFrom<u8> for Severity {
    type Error = InvalidSeverity;

    fn try_from(level: u8) -> Result<Self, InvalidSeverity> {
        Self::ALL.into_iter().find(|s| s.level() == level).ok_or(InvalidSeverity)
    }
}

impl From<Severity> for u8 {
    fn from(severity: Severity) -> Self {
        severity.level()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_dqops_numbers() {
        assert_eq!(Severity::try_from(0), Ok(Severity::Valid));
        assert_eq!(Severity::try_from(3), Ok(Severity::Fatal));
        assert_eq!(Severity::try_from(4), Err(InvalidSeverity));
        assert!(Severity::Warning < Severity::Error);
        assert_eq!(serde_json::to_string(&Severity::Error).unwrap(), "2");
    }

    #[test]
    fn check_types_use_dqops_spellings() {
        for check_type in CheckType::ALL {
            assert_eq!(check_type.as_str().parse(), Ok(check_type));
        }
        assert_eq!("Monitoring".parse::<CheckType>(), Err(UnknownCheckType));
    }
}
