//! The stored rows every backend reads, and the domain types they hold: the column lists (the same
//! SQL on SQLite and PostgreSQL) and their parsing, written once over [`Columns`].

use super::{ClaimedDelivery, StorageError, StorageResult, Vault};
use crate::domain::{
    Actor, ApiToken, ChangeSource, CheckResult, Connection, ConnectionIncidentCounts, ConnectionName, DayCount,
    Delivery, DeliveryAttempt, DeliveryState, Description, FilteredNotification, Format, Incident, IncidentGrouping,
    IncidentOrder, IncidentStatus, NotificationAddresses, RouteSource, Severity, SeverityCounts, StatusChange,
    Timestamp, TokenName, WebhookAddresses, WebhookUrl,
};
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

/// A stored value that no longer parses as its domain type.
pub(super) fn corrupt(column: &'static str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt { column, reason: reason.to_string() }
}

/// The values of a row by column name, in the few types Tocsin stores: every integer is 64 bits
/// wide (SQLite's INTEGER, PostgreSQL's BIGINT), every flag a boolean.
pub(super) trait Columns {
    fn text(&self, column: &'static str) -> StorageResult<String>;
    fn optional_text(&self, column: &'static str) -> StorageResult<Option<String>>;
    fn int(&self, column: &'static str) -> StorageResult<i64>;
    fn optional_int(&self, column: &'static str) -> StorageResult<Option<i64>>;
    fn optional_real(&self, column: &'static str) -> StorageResult<Option<f64>>;
    fn flag(&self, column: &'static str) -> StorageResult<bool>;
}

impl<R, DB> Columns for R
where
    R: Row<Database = DB>,
    DB: Database,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> f64: Decode<'r, DB> + Type<DB>,
    for<'r> bool: Decode<'r, DB> + Type<DB>,
{
    fn text(&self, column: &'static str) -> StorageResult<String> {
        Ok(self.try_get(column)?)
    }

    fn optional_text(&self, column: &'static str) -> StorageResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &'static str) -> StorageResult<i64> {
        Ok(self.try_get(column)?)
    }

    fn optional_int(&self, column: &'static str) -> StorageResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn optional_real(&self, column: &'static str) -> StorageResult<Option<f64>> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &'static str) -> StorageResult<bool> {
        Ok(self.try_get(column)?)
    }
}

/// A count or other whole number that fits `T`.
fn narrow<T: TryFrom<i64>>(row: &impl Columns, column: &'static str) -> StorageResult<T>
where
    T::Error: ToString,
{
    T::try_from(row.int(column)?).map_err(|e| corrupt(column, e))
}

fn optional_narrow<T: TryFrom<i64>>(row: &impl Columns, column: &'static str) -> StorageResult<Option<T>>
where
    T::Error: ToString,
{
    row.optional_int(column)?.map(|value| T::try_from(value).map_err(|e| corrupt(column, e))).transpose()
}

pub(super) fn severity(row: &impl Columns, column: &'static str) -> StorageResult<Severity> {
    let level: u8 = narrow(row, column)?;
    Severity::try_from(level).map_err(|e| corrupt(column, e))
}

pub(super) fn status(row: &impl Columns, column: &'static str) -> StorageResult<IncidentStatus> {
    row.text(column)?.parse().map_err(|e| corrupt(column, e))
}

pub(super) fn time(row: &impl Columns, column: &'static str) -> StorageResult<Timestamp> {
    Ok(Timestamp::from_millis(row.int(column)?))
}

pub(super) fn optional_time(row: &impl Columns, column: &'static str) -> StorageResult<Option<Timestamp>> {
    Ok(row.optional_int(column)?.map(Timestamp::from_millis))
}

pub(super) const CONNECTION_COLUMNS: &str = "name, provider_type, description";

pub(super) fn connection_from_row(row: &impl Columns) -> StorageResult<Connection> {
    Ok(Connection {
        name: ConnectionName::parse(&row.text("name")?).map_err(|e| corrupt("name", e))?,
        provider_type: row.text("provider_type")?.parse().map_err(|e| corrupt("provider_type", e))?,
        description: Description::parse(&row.text("description")?).map_err(|e| corrupt("description", e))?,
    })
}

/// A connection's incident settings and notification addresses, in the order
/// [`grouping_values`] gives them.
pub(super) const GROUPING_COLUMNS: &str = "grouping_level, minimum_severity, divide_by_data_groups, \
     max_incident_length_days, mute_for_days, incidents_disabled, incident_opened_addresses, \
     incident_acknowledged_addresses, incident_resolved_addresses, incident_muted_addresses";

/// One value of [`GROUPING_COLUMNS`], to bind.
enum GroupingValue {
    Text(&'static str),
    Flag(bool),
    Int(i64),
    Addresses(Option<String>),
}

/// The values of [`GROUPING_COLUMNS`], in that order, addresses sealed.
fn grouping_values(grouping: &IncidentGrouping, vault: &Vault) -> [GroupingValue; 10] {
    use GroupingValue::{Addresses, Flag, Int, Text};
    let addresses = |status| Addresses(stored_addresses(&grouping.notification, status, vault));
    [
        Text(grouping.grouping_level.as_str()),
        Text(grouping.minimum_severity.as_str()),
        Flag(grouping.divide_by_data_groups),
        Int(i64::from(grouping.max_incident_length_days.get())),
        Int(i64::from(grouping.mute_for_days.get())),
        Flag(grouping.disabled),
        addresses(IncidentStatus::Open),
        addresses(IncidentStatus::Acknowledged),
        addresses(IncidentStatus::Resolved),
        addresses(IncidentStatus::Muted),
    ]
}

/// The stored spelling of one status's addresses: NULL when not set.
pub(super) fn stored_addresses(
    addresses: &NotificationAddresses,
    status: IncidentStatus,
    vault: &Vault,
) -> Option<String> {
    addresses.for_status(status).map(|addresses| vault.seal(&addresses.to_string()))
}

fn addresses_from_row(
    row: &impl Columns,
    column: &'static str,
    vault: &Vault,
) -> StorageResult<Option<WebhookAddresses>> {
    row.optional_text(column)?
        .map(|stored| {
            let text = vault.open(column, stored)?;
            WebhookAddresses::parse(&text).map_err(|e| corrupt(column, e))
        })
        .transpose()
}

pub(super) fn grouping_from_row(row: &impl Columns, vault: &Vault) -> StorageResult<IncidentGrouping> {
    let days = |column| DayCount::new(narrow(row, column)?).map_err(|e| corrupt(column, e));
    Ok(IncidentGrouping {
        grouping_level: row.text("grouping_level")?.parse().map_err(|e| corrupt("grouping_level", e))?,
        minimum_severity: row.text("minimum_severity")?.parse().map_err(|e| corrupt("minimum_severity", e))?,
        divide_by_data_groups: row.flag("divide_by_data_groups")?,
        max_incident_length_days: days("max_incident_length_days")?,
        mute_for_days: days("mute_for_days")?,
        disabled: row.flag("incidents_disabled")?,
        notification: NotificationAddresses {
            opened: addresses_from_row(row, "incident_opened_addresses", vault)?,
            acknowledged: addresses_from_row(row, "incident_acknowledged_addresses", vault)?,
            resolved: addresses_from_row(row, "incident_resolved_addresses", vault)?,
            muted: addresses_from_row(row, "incident_muted_addresses", vault)?,
        },
    })
}

/// The columns of `default_notifications`, which [`defaults_from_row`] reads.
pub(super) const DEFAULT_COLUMNS: &str =
    "opened_addresses, acknowledged_addresses, resolved_addresses, muted_addresses";

pub(super) fn defaults_from_row(row: &impl Columns, vault: &Vault) -> StorageResult<NotificationAddresses> {
    Ok(NotificationAddresses {
        opened: addresses_from_row(row, "opened_addresses", vault)?,
        acknowledged: addresses_from_row(row, "acknowledged_addresses", vault)?,
        resolved: addresses_from_row(row, "resolved_addresses", vault)?,
        muted: addresses_from_row(row, "muted_addresses", vault)?,
    })
}

/// A filtered notification as stored: the filter as JSON, sealed whole (it holds addresses).
pub(super) fn filter_spec(filter: &FilteredNotification, vault: &Vault) -> StorageResult<String> {
    let json = serde_json::to_string(filter).map_err(|e| corrupt("filtered_notifications.spec", e))?;
    Ok(vault.seal(&json))
}

pub(super) fn filter_from_row(row: &impl Columns, vault: &Vault) -> StorageResult<FilteredNotification> {
    let spec = vault.open("filtered_notifications.spec", row.text("spec")?)?;
    serde_json::from_str(&spec).map_err(|e| corrupt("filtered_notifications.spec", e))
}

pub(super) const INCIDENT_COLUMNS: &str = "i.id, c.name AS connection, i.incident_hash, i.schema_name, i.table_name, \
     i.table_priority, i.data_group_name, i.quality_dimension, i.check_category, i.check_type, i.check_name, \
     i.highest_severity, i.minimum_severity, i.first_seen, i.last_seen, i.incident_until, \
     i.failed_checks_count, i.issue_url, i.status, i.muted_until";

pub(super) fn incident_from_row(row: &impl Columns) -> StorageResult<Incident> {
    Ok(Incident {
        id: row.text("id")?,
        connection: ConnectionName::parse(&row.text("connection")?).map_err(|e| corrupt("connection", e))?,
        incident_hash: row.int("incident_hash")?,
        schema: row.text("schema_name")?,
        table: row.text("table_name")?,
        table_priority: optional_narrow(row, "table_priority")?,
        data_group: row.optional_text("data_group_name")?,
        quality_dimension: row.optional_text("quality_dimension")?,
        check_category: row.optional_text("check_category")?,
        check_type: row
            .optional_text("check_type")?
            .map(|t| t.parse().map_err(|e| corrupt("check_type", e)))
            .transpose()?,
        check_name: row.optional_text("check_name")?,
        highest_severity: severity(row, "highest_severity")?,
        minimum_severity: severity(row, "minimum_severity")?,
        first_seen: time(row, "first_seen")?,
        last_seen: time(row, "last_seen")?,
        incident_until: time(row, "incident_until")?,
        failed_checks_count: narrow(row, "failed_checks_count")?,
        issue_url: row.optional_text("issue_url")?,
        status: status(row, "status")?,
        muted_until: optional_time(row, "muted_until")?,
    })
}

/// The columns of a check result, in the order `insert_check_results` binds them.
pub(super) const CHECK_RESULT_COLUMNS: &str = "schema_name, table_name, column_name, check_name, check_category, \
     check_type, quality_dimension, severity, executed_at, data_group, table_priority, time_period, actual_value, \
     expected_value, message, result_id";

pub(super) fn check_result_from_row(row: &impl Columns) -> StorageResult<CheckResult> {
    Ok(CheckResult {
        schema: row.text("schema_name")?,
        table: row.text("table_name")?,
        column: row.optional_text("column_name")?,
        check_name: row.text("check_name")?,
        check_category: row.text("check_category")?,
        check_type: row.text("check_type")?.parse().map_err(|e| corrupt("check_type", e))?,
        quality_dimension: row.text("quality_dimension")?,
        severity: severity(row, "severity")?,
        executed_at: time(row, "executed_at")?,
        data_group: row.optional_text("data_group")?,
        table_priority: optional_narrow(row, "table_priority")?,
        time_period: optional_time(row, "time_period")?,
        actual_value: row.optional_real("actual_value")?,
        expected_value: row.optional_real("expected_value")?,
        message: row.optional_text("message")?,
        result_id: row.optional_text("result_id")?,
    })
}

/// Open and acknowledged incidents per connection and severity, from rows of (name, status,
/// highest_severity, n) ordered by name; a connection without incidents has a row with NULLs.
pub(super) fn incident_counts_from_rows(rows: &[impl Columns]) -> StorageResult<Vec<ConnectionIncidentCounts>> {
    let mut counts: Vec<ConnectionIncidentCounts> = Vec::new();
    for row in rows {
        let name = ConnectionName::parse(&row.text("name")?).map_err(|e| corrupt("name", e))?;
        if counts.last().is_none_or(|last| last.connection != name) {
            counts.push(ConnectionIncidentCounts {
                connection: name,
                open: SeverityCounts::default(),
                acknowledged: SeverityCounts::default(),
            });
        }
        let Some(entry) = counts.last_mut() else { continue };
        let Some(status) = row.optional_text("status")? else {
            continue; // a connection without incidents
        };
        let count: u32 = narrow(row, "n")?;
        let severity = severity(row, "highest_severity")?;
        match status.as_str() {
            "open" => entry.open.add(severity, count),
            _ => entry.acknowledged.add(severity, count),
        }
    }
    Ok(counts)
}

pub(super) const STATUS_CHANGE_COLUMNS: &str = "from_status, to_status, changed_at, changed_by, source";

pub(super) fn status_change_from_row(row: &impl Columns) -> StorageResult<StatusChange> {
    Ok(StatusChange {
        from: row
            .optional_text("from_status")?
            .map(|s| s.parse().map_err(|e| corrupt("from_status", e)))
            .transpose()?,
        to: status(row, "to_status")?,
        at: time(row, "changed_at")?,
        by: Actor {
            name: row.text("changed_by")?,
            source: row.text("source")?.parse::<ChangeSource>().map_err(|e| corrupt("source", e))?,
        },
    })
}

/// `LIKE` pattern of one incident filter token (escaped with `\`): `*` is the wildcard, and a
/// token without one matches anywhere.
pub(super) fn like_pattern(token: &str) -> String {
    let escaped = token.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    if escaped.contains('*') { escaped.replace('*', "%") } else { format!("%{escaped}%") }
}

/// The columns the incident filter's tokens are looked for in.
pub(super) const FILTERED_COLUMNS: [&str; 9] = [
    "i.id",
    "i.schema_name",
    "i.table_name",
    "i.data_group_name",
    "i.quality_dimension",
    "i.check_category",
    "i.check_type",
    "i.check_name",
    "i.issue_url",
];

pub(super) fn order_column(order: IncidentOrder) -> &'static str {
    match order {
        IncidentOrder::Table => "i.table_name",
        IncidentOrder::TablePriority => "i.table_priority",
        IncidentOrder::FirstSeen => "i.first_seen",
        IncidentOrder::LastSeen => "i.last_seen",
        IncidentOrder::DataGroup => "i.data_group_name",
        IncidentOrder::QualityDimension => "i.quality_dimension",
        IncidentOrder::CheckName => "i.check_name",
        IncidentOrder::HighestSeverity => "i.highest_severity",
        IncidentOrder::FailedChecksCount => "i.failed_checks_count",
    }
}

pub(super) const DELIVERY_COLUMNS: &str = "d.id, d.incident_id, d.incident_status, d.url, d.format, d.state, \
     d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.route, \
     coalesce(e.disabled_at IS NOT NULL, false) AS address_disabled";

/// The address as people may see it: never in full.
fn masked(url: &str) -> String {
    WebhookUrl::parse(url).map(|url| url.redacted()).unwrap_or_else(|_| "(invalid address)".to_owned())
}

pub(super) fn delivery_from_row(row: &impl Columns, vault: &Vault) -> StorageResult<Delivery> {
    let state: DeliveryState = row.text("state")?.parse().map_err(|e| corrupt("state", e))?;
    Ok(Delivery {
        id: row.int("id")?,
        incident_id: row.text("incident_id")?,
        incident_status: status(row, "incident_status")?,
        address: masked(&vault.open("deliveries.url", row.text("url")?)?),
        format: row.text("format")?,
        state,
        attempts: narrow(row, "attempts")?,
        next_attempt_at: (state == DeliveryState::Pending).then(|| time(row, "next_attempt_at")).transpose()?,
        last_error: row.optional_text("last_error")?,
        created_at: time(row, "created_at")?,
        address_disabled: row.flag("address_disabled")?,
        route: row.optional_text("route")?.as_deref().and_then(RouteSource::from_label),
        history: Vec::new(),
    })
}

pub(super) const ATTEMPT_COLUMNS: &str =
    "delivery_id, attempt, started_at, duration_ms, http_status, outcome, error, response_excerpt";

/// An attempt, with the id of its delivery.
pub(super) fn attempt_from_row(row: &impl Columns) -> StorageResult<(i64, DeliveryAttempt)> {
    Ok((
        row.int("delivery_id")?,
        DeliveryAttempt {
            attempt: narrow(row, "attempt")?,
            started_at: time(row, "started_at")?,
            duration_ms: narrow(row, "duration_ms")?,
            http_status: optional_narrow(row, "http_status")?,
            outcome: row.text("outcome")?,
            error: row.optional_text("error")?,
            response_excerpt: row.optional_text("response_excerpt")?,
        },
    ))
}

/// Puts each attempt in the history of its delivery (attempts oldest first).
pub(super) fn attach_attempts(deliveries: &mut [Delivery], attempts: Vec<(i64, DeliveryAttempt)>) {
    for (delivery_id, attempt) in attempts {
        if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == delivery_id) {
            delivery.history.push(attempt);
        }
    }
}

/// The columns a claim returns, which [`claimed_from_row`] reads.
pub(super) const CLAIMED_COLUMNS: &str = "id, webhook_id, url, format, payload, attempts";

pub(super) fn claimed_from_row(row: &impl Columns, vault: &Vault) -> StorageResult<ClaimedDelivery> {
    Ok(ClaimedDelivery {
        id: row.int("id")?,
        webhook_id: row.text("webhook_id")?,
        url: vault.open("deliveries.url", row.text("url")?)?,
        format: if row.text("format")? == Format::Slack.as_str() { Format::Slack } else { Format::Dqops },
        payload: row.text("payload")?,
        attempt: narrow(row, "attempts")?,
    })
}

/// What an attempt's outcome makes of its delivery: its state, when it is due again, and the
/// attempt's outcome as recorded.
pub(super) fn after_attempt(next: super::NextStep) -> (DeliveryState, Option<Timestamp>, &'static str) {
    match next {
        super::NextStep::Delivered => (DeliveryState::Delivered, None, "delivered"),
        super::NextStep::RetryAt(at) => (DeliveryState::Pending, Some(at), "retry"),
        super::NextStep::GiveUp => (DeliveryState::Failed, None, "failed"),
    }
}

/// A fresh `webhook-id` for a delivery: the same on each of its attempts.
pub(super) fn new_webhook_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

pub(super) const TOKEN_COLUMNS: &str = "id, name, hint, created_at, revoked_at";

pub(super) fn token_from_row(row: &impl Columns) -> StorageResult<ApiToken> {
    Ok(ApiToken {
        id: row.int("id")?,
        name: TokenName::parse(&row.text("name")?).map_err(|e| corrupt("api_tokens.name", e))?,
        hint: row.text("hint")?,
        created_at: time(row, "created_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
    })
}

/// Binds the values of [`GROUPING_COLUMNS`], in that order.
pub(super) fn bind_grouping<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    grouping: &IncidentGrouping,
    vault: &Vault,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: sqlx::Encode<'q, DB> + Type<DB>,
    bool: sqlx::Encode<'q, DB> + Type<DB>,
    i64: sqlx::Encode<'q, DB> + Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + Type<DB>,
{
    for value in grouping_values(grouping, vault) {
        query = match value {
            GroupingValue::Text(text) => query.bind::<&'q str>(text),
            GroupingValue::Flag(flag) => query.bind(flag),
            GroupingValue::Int(number) => query.bind(number),
            GroupingValue::Addresses(addresses) => query.bind(addresses),
        };
    }
    query
}
