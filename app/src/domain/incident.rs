//! Incidents: their status, their fields, their history, and how lists of them are queried.

use super::{CheckType, ConnectionName, Severity, Timestamp};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Resolved,
    Muted,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [Self::Open, Self::Acknowledged, Self::Resolved, Self::Muted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::Muted => "muted",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be one of open, acknowledged, resolved or muted")]
pub struct UnknownStatus;

impl FromStr for IncidentStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|status| status.as_str() == s).ok_or(UnknownStatus)
    }
}

/// An incident: failed check results grouped by the connection's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub connection: ConnectionName,
    pub incident_hash: i64,
    pub schema: String,
    pub table: String,
    pub table_priority: Option<i32>,
    pub data_group: Option<String>,
    pub quality_dimension: Option<String>,
    pub check_category: Option<String>,
    pub check_type: Option<CheckType>,
    pub check_name: Option<String>,
    pub highest_severity: Severity,
    pub minimum_severity: Severity,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub incident_until: Timestamp,
    pub failed_checks_count: u32,
    pub issue_url: Option<String>,
    pub status: IncidentStatus,
    pub muted_until: Option<Timestamp>,
}

impl Incident {
    /// The year and month of `first_seen` (UTC): with the connection and id, DQOps' address.
    pub fn year_month(&self) -> (i32, u32) {
        let (year, month, _) = self.first_seen.date();
        (year, month)
    }

    /// The non-empty grouping components, joined as DQOps' list shows them.
    pub fn grouping_label(&self) -> String {
        [
            self.quality_dimension.as_deref(),
            self.check_category.as_deref(),
            self.check_type.map(CheckType::as_str),
            self.check_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Where a status change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeSource {
    /// Check results opened the incident.
    Checks,
    Ui,
    Api,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checks => "checks",
            Self::Ui => "ui",
            Self::Api => "api",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Checks => "check results",
            Self::Ui => "web UI",
            Self::Api => "REST API",
        }
    }
}

impl FromStr for ChangeSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Checks, Self::Ui, Self::Api]
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| format!("unknown change source {s:?}"))
    }
}

/// Who changed an incident, and through what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    pub source: ChangeSource,
}

/// One row of an incident's status history: a transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// `None` when the incident opened.
    pub from: Option<IncidentStatus>,
    pub to: IncidentStatus,
    pub at: Timestamp,
    pub by: Actor,
}

/// Per severity (warning, error, fatal), how many incidents a connection has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub warning: u32,
    pub error: u32,
    pub fatal: u32,
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity, count: u32) {
        match severity {
            Severity::Valid => {}
            Severity::Warning => self.warning += count,
            Severity::Error => self.error += count,
            Severity::Fatal => self.fatal += count,
        }
    }

    pub fn total(&self) -> u32 {
        self.warning + self.error + self.fatal
    }
}

/// A connection's open and acknowledged incidents, for the Incidents overview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionIncidentCounts {
    pub connection: ConnectionName,
    pub open: SeverityCounts,
    pub acknowledged: SeverityCounts,
}

/// How the incidents list is sorted (DQOps' `IncidentSortOrder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncidentOrder {
    #[serde(rename = "table")]
    Table,
    #[serde(rename = "tablePriority")]
    TablePriority,
    #[serde(rename = "firstSeen")]
    FirstSeen,
    #[serde(rename = "lastSeen")]
    LastSeen,
    #[serde(rename = "dataGroup")]
    DataGroup,
    #[serde(rename = "qualityDimension")]
    QualityDimension,
    #[serde(rename = "checkName")]
    CheckName,
    #[serde(rename = "highestSeverity")]
    HighestSeverity,
    #[serde(rename = "failedChecksCount")]
    FailedChecksCount,
}

impl IncidentOrder {
    pub const ALL: [IncidentOrder; 9] = [
        Self::Table,
        Self::TablePriority,
        Self::FirstSeen,
        Self::LastSeen,
        Self::DataGroup,
        Self::QualityDimension,
        Self::CheckName,
        Self::HighestSeverity,
        Self::FailedChecksCount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::TablePriority => "tablePriority",
            Self::FirstSeen => "firstSeen",
            Self::LastSeen => "lastSeen",
            Self::DataGroup => "dataGroup",
            Self::QualityDimension => "qualityDimension",
            Self::CheckName => "checkName",
            Self::HighestSeverity => "highestSeverity",
            Self::FailedChecksCount => "failedChecksCount",
        }
    }
}

impl FromStr for IncidentOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|order| order.as_str() == s).ok_or_else(|| {
            "must be one of table, tablePriority, firstSeen, lastSeen, dataGroup, qualityDimension, checkName, \
             highestSeverity or failedChecksCount"
                .to_owned()
        })
    }
}

/// Which incidents of a connection to list, in what order, and which page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentQuery {
    /// The current month and the months before it: 1 means this month only.
    pub months: u32,
    pub statuses: Vec<IncidentStatus>,
    /// Exactly this highest severity.
    pub severity: Option<Severity>,
    /// Space-separated tokens, each matching one of the incident's text fields (`*` is a wildcard).
    pub filter: Option<String>,
    pub dimension: Option<String>,
    pub category: Option<String>,
    pub order: IncidentOrder,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub limit: u32,
}

impl IncidentQuery {
    pub const MAX_LIMIT: u32 = 1000;
    pub const MAX_MONTHS: u32 = 120;

    /// DQOps' REST defaults: three months, open and acknowledged, 50 a page, by total issues.
    pub fn rest_default() -> Self {
        Self {
            months: 3,
            statuses: vec![IncidentStatus::Open, IncidentStatus::Acknowledged],
            severity: None,
            filter: None,
            dimension: None,
            category: None,
            order: IncidentOrder::FailedChecksCount,
            descending: false,
            page: 1,
            limit: 50,
        }
    }

    /// DQOps' UI defaults: three months, open and acknowledged, 10 a page, newest first.
    pub fn ui_default() -> Self {
        Self { order: IncidentOrder::FirstSeen, descending: true, limit: 10, ..Self::rest_default() }
    }
}

/// One page of a connection's incidents, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub total: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_dqops_spelling() {
        for status in IncidentStatus::ALL {
            assert_eq!(status.as_str().parse::<IncidentStatus>(), Ok(status));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{}\"", status.as_str()));
        }
        assert_eq!("Open".parse::<IncidentStatus>(), Err(UnknownStatus));
    }
}
