//! Incident rows in SQLite and the domain types they hold: the columns read, and their parsing.

use super::corrupt;
use crate::{
    domain::{
        Actor, ChangeSource, CheckResult, ConnectionName, Incident, IncidentStatus, Severity, StatusChange, Timestamp,
    },
    storage::StorageResult,
};
use sqlx::{Row, sqlite::SqliteRow};

pub(super) const INCIDENT_COLUMNS: &str = "i.id, c.name AS connection, i.incident_hash, i.schema_name, i.table_name, \
     i.table_priority, i.data_group_name, i.quality_dimension, i.check_category, i.check_type, i.check_name, \
     i.highest_severity, i.minimum_severity, i.first_seen, i.last_seen, i.incident_until, \
     i.failed_checks_count, i.issue_url, i.status, i.muted_until";

pub(super) const CHECK_RESULT_COLUMNS: &str = "schema_name, table_name, column_name, check_name, check_category, check_type, \
     quality_dimension, severity, executed_at, data_group, table_priority, time_period, actual_value, \
     expected_value, message, result_id";

pub(super) fn severity(row: &SqliteRow, column: &'static str) -> StorageResult<Severity> {
    let level: u8 = row.try_get(column)?;
    Severity::try_from(level).map_err(|e| corrupt(column, e))
}

pub(super) fn status(row: &SqliteRow, column: &'static str) -> StorageResult<IncidentStatus> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| corrupt(column, e))
}

pub(super) fn optional_time(row: &SqliteRow, column: &'static str) -> StorageResult<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

pub(super) fn time(row: &SqliteRow, column: &'static str) -> StorageResult<Timestamp> {
    Ok(Timestamp::from_millis(row.try_get(column)?))
}

pub(super) fn incident_from_row(row: &SqliteRow) -> StorageResult<Incident> {
    let connection: String = row.try_get("connection")?;
    let check_type: Option<String> = row.try_get("check_type")?;
    let count: i64 = row.try_get("failed_checks_count")?;
    Ok(Incident {
        id: row.try_get("id")?,
        connection: ConnectionName::parse(&connection).map_err(|e| corrupt("connection", e))?,
        incident_hash: row.try_get("incident_hash")?,
        schema: row.try_get("schema_name")?,
        table: row.try_get("table_name")?,
        table_priority: row.try_get("table_priority")?,
        data_group: row.try_get("data_group_name")?,
        quality_dimension: row.try_get("quality_dimension")?,
        check_category: row.try_get("check_category")?,
        check_type: check_type.map(|t| t.parse().map_err(|e| corrupt("check_type", e))).transpose()?,
        check_name: row.try_get("check_name")?,
        highest_severity: severity(row, "highest_severity")?,
        minimum_severity: severity(row, "minimum_severity")?,
        first_seen: time(row, "first_seen")?,
        last_seen: time(row, "last_seen")?,
        incident_until: time(row, "incident_until")?,
        failed_checks_count: u32::try_from(count).map_err(|e| corrupt("failed_checks_count", e))?,
        issue_url: row.try_get("issue_url")?,
        status: status(row, "status")?,
        muted_until: optional_time(row, "muted_until")?,
    })
}

pub(super) fn check_result_from_row(row: &SqliteRow) -> StorageResult<CheckResult> {
    let check_type: String = row.try_get("check_type")?;
    Ok(CheckResult {
        schema: row.try_get("schema_name")?,
        table: row.try_get("table_name")?,
        column: row.try_get("column_name")?,
        check_name: row.try_get("check_name")?,
        check_category: row.try_get("check_category")?,
        check_type: check_type.parse().map_err(|e| corrupt("check_type", e))?,
        quality_dimension: row.try_get("quality_dimension")?,
        severity: severity(row, "severity")?,
        executed_at: time(row, "executed_at")?,
        data_group: row.try_get("data_group")?,
        table_priority: row.try_get("table_priority")?,
        time_period: optional_time(row, "time_period")?,
        actual_value: row.try_get("actual_value")?,
        expected_value: row.try_get("expected_value")?,
        message: row.try_get("message")?,
        result_id: row.try_get("result_id")?,
    })
}

pub(super) fn status_change_from_row(row: &SqliteRow) -> StorageResult<StatusChange> {
    let from: Option<String> = row.try_get("from_status")?;
    let source: String = row.try_get("source")?;
    Ok(StatusChange {
        from: from.map(|s| s.parse().map_err(|e| corrupt("from_status", e))).transpose()?,
        to: status(row, "to_status")?,
        at: time(row, "changed_at")?,
        by: Actor {
            name: row.try_get("changed_by")?,
            source: source.parse::<ChangeSource>().map_err(|e| corrupt("source", e))?,
        },
    })
}
