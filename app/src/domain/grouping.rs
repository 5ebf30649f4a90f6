//! How failed check results are grouped into incidents: DQOps' `ConnectionIncidentGroupingSpec`.

use super::{CheckType, IncidentStatus, Timestamp, webhook::NotificationAddresses};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Which fields of a check result group it into an incident, coarsest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupingLevel {
    Table,
    TableDimension,
    TableDimensionCategory,
    TableDimensionCategoryType,
    TableDimensionCategoryName,
}

impl GroupingLevel {
    pub const ALL: [GroupingLevel; 5] = [
        Self::Table,
        Self::TableDimension,
        Self::TableDimensionCategory,
        Self::TableDimensionCategoryType,
        Self::TableDimensionCategoryName,
    ];

    /// DQOps' spelling, used in its REST API and YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::TableDimension => "table_dimension",
            Self::TableDimensionCategory => "table_dimension_category",
            Self::TableDimensionCategoryType => "table_dimension_category_type",
            Self::TableDimensionCategoryName => "table_dimension_category_name",
        }
    }

    /// The option text DQOps' UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Table => "Table",
            Self::TableDimension => "Table / Quality dimension",
            Self::TableDimensionCategory => "Table / Quality dimension / Check category",
            Self::TableDimensionCategoryType => "Table / Quality dimension / Check category / Check type",
            Self::TableDimensionCategoryName => "Table / Quality dimension / Check category / Check name",
        }
    }
}

impl fmt::Display for GroupingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be one of table, table_dimension, table_dimension_category, table_dimension_category_type or table_dimension_category_name"
)]
pub struct UnknownGroupingLevel;

impl FromStr for GroupingLevel {
    type Err = UnknownGroupingLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|level| level.as_str() == s).ok_or(UnknownGroupingLevel)
    }
}

/// The lowest check result severity that opens or joins an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinimumSeverity {
    Warning,
    Error,
    Fatal,
}

impl MinimumSeverity {
    pub const ALL: [MinimumSeverity; 3] = [Self::Warning, Self::Error, Self::Fatal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Fatal => "fatal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Warning => "Warning",
            Self::Error => "Error",
            Self::Fatal => "Fatal",
        }
    }

    /// DQOps' numeric severity: 1 warning, 2 error, 3 fatal.
    pub fn level(self) -> u8 {
        match self {
            Self::Warning => 1,
            Self::Error => 2,
            Self::Fatal => 3,
        }
    }
}

impl fmt::Display for MinimumSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of warning, error or fatal")]
pub struct UnknownMinimumSeverity;

impl FromStr for MinimumSeverity {
    type Err = UnknownMinimumSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|severity| severity.as_str() == s).ok_or(UnknownMinimumSeverity)
    }
}

/// A whole number of days from 1 to 3650 (ten years).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct DayCount(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayCountError {
    #[error("is required")]
    Empty,
    #[error("must be a whole number of days")]
    NotAWholeNumber,
    #[error("must be between {min} and {max} days", min = DayCount::MIN, max = DayCount::MAX)]
    OutOfRange,
}

impl DayCount {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 3650;
    /// DQOps' default for both the maximum incident length and the mute period.
    pub const DQOPS_DEFAULT: DayCount = DayCount(60);

    pub fn new(days: u32) -> Result<Self, DayCountError> {
        if (Self::MIN..=Self::MAX).contains(&days) { Ok(Self(days as u16)) } else { Err(DayCountError::OutOfRange) }
    }

    pub fn parse(input: &str) -> Result<Self, DayCountError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(DayCountError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DayCountError::NotAWholeNumber);
        }
        // All digits: a parse failure can only be an overflow, which is out of range too.
        text.parse::<u32>().map_err(|_| DayCountError::OutOfRange).and_then(Self::new)
    }

    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<u32> for DayCount {
    type Error = DayCountError;

    fn try_from(days: u32) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<DayCount> for u32 {
    fn from(days: DayCount) -> Self {
        days.get()
    }
}

impl fmt::Display for DayCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A connection's incident grouping settings and its notification addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentGrouping {
    pub grouping_level: GroupingLevel,
    pub minimum_severity: MinimumSeverity,
    pub divide_by_data_groups: bool,
    pub max_incident_length_days: DayCount,
    pub mute_for_days: DayCount,
    /// DQOps' `disabled`: when true, failed checks are stored but open no incident.
    pub disabled: bool,
    pub notification: NotificationAddresses,
}

impl Default for IncidentGrouping {
    /// The settings a new connection starts with, as in DQOps.
    fn default() -> Self {
        Self {
            grouping_level: GroupingLevel::TableDimensionCategory,
            minimum_severity: MinimumSeverity::Warning,
            divide_by_data_groups: false,
            max_incident_length_days: DayCount::DQOPS_DEFAULT,
            mute_for_days: DayCount::DQOPS_DEFAULT,
            disabled: false,
            notification: NotificationAddresses::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_levels_use_dqops_spellings_and_labels() {
        let expected = [
            ("table", "Table"),
            ("table_dimension", "Table / Quality dimension"),
            ("table_dimension_category", "Table / Quality dimension / Check category"),
            ("table_dimension_category_type", "Table / Quality dimension / Check category / Check type"),
            ("table_dimension_category_name", "Table / Quality dimension / Check category / Check name"),
        ];
        for (level, (spelling, label)) in GroupingLevel::ALL.into_iter().zip(expected) {
            assert_eq!(level.as_str(), spelling);
            assert_eq!(level.label(), label);
            assert_eq!(spelling.parse(), Ok(level));
            assert_eq!(serde_json::to_value(level).unwrap(), serde_json::json!(spelling));
        }
        assert_eq!("table_dimension_category_check_name".parse::<GroupingLevel>(), Err(UnknownGroupingLevel));
    }

    #[test]
    fn minimum_severities_use_dqops_spellings_and_levels() {
        let expected = [("warning", 1), ("error", 2), ("fatal", 3)];
        for (severity, (spelling, level)) in MinimumSeverity::ALL.into_iter().zip(expected) {
            assert_eq!(severity.as_str(), spelling);
            assert_eq!(severity.level(), level);
            assert_eq!(spelling.parse(), Ok(severity));
            assert_eq!(serde_json::to_value(severity).unwrap(), serde_json::json!(spelling));
        }
        assert_eq!("valid".parse::<MinimumSeverity>(), Err(UnknownMinimumSeverity));
    }

    #[test]
    fn day_counts_are_whole_numbers_from_1_to_3650() {
        assert_eq!(DayCount::parse("1").unwrap().get(), 1);
        assert_eq!(DayCount::parse(" 60 ").unwrap().get(), 60);
        assert_eq!(DayCount::parse("3650").unwrap().get(), 3650);
        assert_eq!(DayCount::parse(""), Err(DayCountError::Empty));
        assert_eq!(DayCount::parse("0"), Err(DayCountError::OutOfRange));
        assert_eq!(DayCount::parse("3651"), Err(DayCountError::OutOfRange));
        assert_eq!(DayCount::parse("99999999999999999999"), Err(DayCountError::OutOfRange));
        assert_eq!(DayCount::parse("-5"), Err(DayCountError::NotAWholeNumber));
        assert_eq!(DayCount::parse("1.5"), Err(DayCountError::NotAWholeNumber));
        assert_eq!(DayCount::parse("ten"), Err(DayCountError::NotAWholeNumber));
        assert!(serde_json::from_value::<DayCount>(serde_json::json!(0)).is_err());
    }

    #[test]
    fn a_new_connection_starts_with_dqops_defaults() {
        let defaults = IncidentGrouping::default();
        assert_eq!(defaults.grouping_level.as_str(), "table_dimension_category");
        assert_eq!(defaults.minimum_severity.as_str(), "warning");
        assert!(!defaults.divide_by_data_groups);
        assert_eq!(defaults.max_incident_length_days.get(), 60);
        assert_eq!(defaults.mute_for_days.get(), 60);
        assert!(!defaults.disabled);
        assert_eq!(defaults.notification, NotificationAddresses::default());
    }
}

/// The fields that put check results into the same incident, per the grouping level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupingKey {
    pub schema: String,
    pub table: String,
    pub data_group: Option<String>,
    pub quality_dimension: Option<String>,
    pub check_category: Option<String>,
    pub check_type: Option<CheckType>,
    pub check_name: Option<String>,
}

/// The part of a stored incident that decides whether a new issue joins it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentWindow {
    pub status: IncidentStatus,
    pub first_seen: Timestamp,
    pub incident_until: Timestamp,
    /// Set while muted: the end of the mute window (`mute_for_days` after the mute).
    pub muted_until: Option<Timestamp>,
}
