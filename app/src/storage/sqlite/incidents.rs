//! Incidents, their issues and their transitions, in SQLite.

use super::{
    SqliteStorage, Vault, corrupt, defaults_from_row,
    deliveries::{PlannedRecord, insert_deliveries},
    filters, grouping_from_row,
};
use crate::notifications::NotifyContext;
use crate::{
    domain::{
        Actor, ChangeSource, CheckResult, ConnectionIncidentCounts, ConnectionName, Incident, IncidentFacts,
        IncidentOrder, IncidentPage, IncidentQuery, IncidentStatus, Routing, Severity, SeverityCounts, StatusChange,
        Timestamp,
    },
    grouping::{GroupingKey, IncidentWindow, is_incident_candidate, joins},
    storage::{IncidentStore, IngestOutcome, StatusUpdate, StorageResult},
};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, sqlite::SqliteRow};
use std::collections::{BTreeMap, HashMap, hash_map::Entry};

const INCIDENT_COLUMNS: &str = "i.id, c.name AS connection, i.incident_hash, i.schema_name, i.table_name, \
     i.table_priority, i.data_group_name, i.quality_dimension, i.check_category, i.check_type, i.check_name, \
     i.highest_severity, i.minimum_severity, i.first_seen, i.last_seen, i.incident_until, \
     i.failed_checks_count, i.issue_url, i.status, i.muted_until";

const CHECK_RESULT_COLUMNS: &str = "schema_name, table_name, column_name, check_name, check_category, check_type, \
     quality_dimension, severity, executed_at, data_group, table_priority, time_period, actual_value, \
     expected_value, message, result_id";

/// Who opens incidents: the check results themselves.
const CHECKS_ACTOR: &str = "check results";

fn severity(row: &SqliteRow, column: &'static str) -> StorageResult<Severity> {
    let level: u8 = row.try_get(column)?;
    Severity::try_from(level).map_err(|e| corrupt(column, e))
}

fn status(row: &SqliteRow, column: &'static str) -> StorageResult<IncidentStatus> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| corrupt(column, e))
}

fn optional_time(row: &SqliteRow, column: &'static str) -> StorageResult<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

fn time(row: &SqliteRow, column: &'static str) -> StorageResult<Timestamp> {
    Ok(Timestamp::from_millis(row.try_get(column)?))
}

fn incident_from_row(row: &SqliteRow) -> StorageResult<Incident> {
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

fn check_result_from_row(row: &SqliteRow) -> StorageResult<CheckResult> {
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

fn status_change_from_row(row: &SqliteRow) -> StorageResult<StatusChange> {
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

/// `LIKE` pattern of one filter token: `*` is the wildcard, and a token without one matches anywhere.
fn like_pattern(token: &str) -> String {
    let escaped = token.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    if escaped.contains('*') { escaped.replace('*', "%") } else { format!("%{escaped}%") }
}

fn order_column(order: IncidentOrder) -> &'static str {
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

const FILTERED_COLUMNS: [&str; 9] = [
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

/// Appends the WHERE clause of `query` (after `WHERE c.name = ?`).
fn push_filters<'a>(sql: &mut QueryBuilder<'a, Sqlite>, query: &'a IncidentQuery, now: Timestamp) {
    // Ordered by anything but `first_seen`, the time window is checked in the index that gives
    // the order (`+` keeps SQLite from choosing the window's index and sorting every row).
    sql.push(if query.order == IncidentOrder::FirstSeen { " AND i.first_seen >= " } else { " AND +i.first_seen >= " });
    sql.push_bind(now.start_of_month(query.months.saturating_sub(1)).millis());
    sql.push(" AND i.status IN (");
    let mut statuses = sql.separated(", ");
    for status in &query.statuses {
        statuses.push_bind(status.as_str());
    }
    sql.push(")");
    if let Some(severity) = query.severity {
        sql.push(" AND i.highest_severity = ").push_bind(severity.level());
    }
    if let Some(dimension) = &query.dimension {
        sql.push(" AND i.quality_dimension = ").push_bind(dimension.as_str());
    }
    if let Some(category) = &query.category {
        sql.push(" AND i.check_category = ").push_bind(category.as_str());
    }
    for token in query.filter.iter().flat_map(|filter| filter.split_whitespace()) {
        sql.push(" AND (");
        let pattern = like_pattern(token);
        for (index, column) in FILTERED_COLUMNS.iter().enumerate() {
            if index > 0 {
                sql.push(" OR ");
            }
            sql.push(format!("{column} LIKE ")).push_bind(pattern.clone()).push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

/// A connection's id, incident settings and notification routing, read inside the transaction
/// that acts on them. The routing's plain addresses are the effective ones: the global defaults
/// fill each status the connection leaves unset.
async fn connection_settings(
    conn: &mut SqliteConnection,
    name: &ConnectionName,
    vault: &Vault,
) -> StorageResult<Option<(i64, crate::domain::IncidentGrouping, Routing)>> {
    let sql = format!(
        "SELECT c.id, {}, {} FROM connections c LEFT JOIN default_notifications d ON d.id = 1 WHERE c.name = ?",
        super::GROUPING_COLUMNS,
        super::DEFAULT_COLUMNS
    );
    let Some(row) = sqlx::query(&sql).bind(name.as_str()).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let settings = grouping_from_row(&row, vault)?;
    let routing = Routing {
        addresses: settings.notification.with_defaults(&defaults_from_row(&row, vault)?),
        connection_filters: filters::load(&mut *conn, Some(id), vault).await?,
        global_filters: filters::load(&mut *conn, None, vault).await?,
    };
    Ok(Some((id, settings, routing)))
}

async fn connection_id(conn: &mut SqliteConnection, name: &ConnectionName) -> StorageResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM connections WHERE name = ?").bind(name.as_str()).fetch_optional(conn).await?)
}

/// Records a transition; returns its id, which its deliveries refer to.
async fn insert_status_change(
    conn: &mut SqliteConnection,
    incident_id: &str,
    change: &StatusChange,
) -> StorageResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO incident_status_changes (incident_id, from_status, to_status, changed_at, changed_by, source) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(incident_id)
    .bind(change.from.map(IncidentStatus::as_str))
    .bind(change.to.as_str())
    .bind(change.at.millis())
    .bind(&change.by.name)
    .bind(change.by.source.as_str())
    .fetch_one(conn)
    .await?)
}

/// One incident by id, inside a transaction.
pub(super) async fn load_incident(conn: &mut SqliteConnection, id: &str) -> StorageResult<Incident> {
    let row = sqlx::query(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN connections c ON c.id = i.connection_id WHERE i.id = ?"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?;
    incident_from_row(&row)
}

/// A stored or just-opened incident that issues with its hash may join.
struct Candidate {
    id: String,
    window: IncidentWindow,
}

/// What one batch adds to an incident.
struct Growth {
    count: u32,
    highest: Severity,
    last_seen: Timestamp,
}

impl Default for Growth {
    fn default() -> Self {
        Self { count: 0, highest: Severity::Valid, last_seen: Timestamp::from_millis(i64::MIN) }
    }
}

impl Growth {
    fn add(&mut self, result: &CheckResult) {
        self.count += 1;
        self.highest = self.highest.max(result.severity);
        self.last_seen = self.last_seen.max(result.executed_at);
    }
}

/// The incidents that a new issue with `hash` may join, newest first. Resolved ones never do.
async fn load_candidates(conn: &mut SqliteConnection, connection_id: i64, hash: i64) -> StorageResult<Vec<Candidate>> {
    sqlx::query(
        "SELECT id, status, first_seen, incident_until, muted_until FROM incidents \
         WHERE connection_id = ? AND incident_hash = ? AND status != 'resolved' ORDER BY first_seen DESC LIMIT 16",
    )
    .bind(connection_id)
    .bind(hash)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Candidate {
            id: row.try_get("id")?,
            window: IncidentWindow {
                status: status(row, "status")?,
                first_seen: time(row, "first_seen")?,
                incident_until: time(row, "incident_until")?,
                muted_until: optional_time(row, "muted_until")?,
            },
        })
    })
    .collect()
}

/// Inserts a new open incident for `result` with its first transition; returns the incident's id
/// and the transition's.
async fn open_incident(
    conn: &mut SqliteConnection,
    connection_id: i64,
    hash: i64,
    key: &GroupingKey,
    result: &CheckResult,
    settings: &crate::domain::IncidentGrouping,
    now: Timestamp,
) -> StorageResult<(String, i64)> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO incidents (id, connection_id, incident_hash, schema_name, table_name, table_priority, \
         data_group_name, quality_dimension, check_category, check_type, check_name, highest_severity, \
         minimum_severity, first_seen, last_seen, incident_until, failed_checks_count, status, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'open', ?, ?)",
    )
    .bind(&id)
    .bind(connection_id)
    .bind(hash)
    .bind(&key.schema)
    .bind(&key.table)
    .bind(result.table_priority)
    .bind(&key.data_group)
    .bind(&key.quality_dimension)
    .bind(&key.check_category)
    .bind(key.check_type.map(|t| t.as_str()))
    .bind(&key.check_name)
    .bind(result.severity.level())
    .bind(settings.minimum_severity.level())
    .bind(result.executed_at.millis())
    .bind(result.executed_at.millis())
    .bind(result.executed_at.plus_days(settings.max_incident_length_days.get()).millis())
    .bind(now.millis())
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    let opened = StatusChange {
        from: None,
        to: IncidentStatus::Open,
        at: now,
        by: Actor { name: CHECKS_ACTOR.to_owned(), source: ChangeSource::Checks },
    };
    let change_id = insert_status_change(conn, &id, &opened).await?;
    Ok((id, change_id))
}

async fn insert_check_result(
    conn: &mut SqliteConnection,
    connection_id: i64,
    result: &CheckResult,
    incident_id: Option<&str>,
    now: Timestamp,
) -> StorageResult<()> {
    sqlx::query(&format!(
        "INSERT INTO check_results (connection_id, {CHECK_RESULT_COLUMNS}, incident_id, received_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(connection_id)
    .bind(&result.schema)
    .bind(&result.table)
    .bind(&result.column)
    .bind(&result.check_name)
    .bind(&result.check_category)
    .bind(result.check_type.as_str())
    .bind(&result.quality_dimension)
    .bind(result.severity.level())
    .bind(result.executed_at.millis())
    .bind(&result.data_group)
    .bind(result.table_priority)
    .bind(result.time_period.map(Timestamp::millis))
    .bind(result.actual_value)
    .bind(result.expected_value)
    .bind(&result.message)
    .bind(&result.result_id)
    .bind(incident_id)
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(())
}

// Write transactions begin IMMEDIATE: a deferred one that reads first cannot upgrade to a write
// while another connection writes, and SQLite answers "database is locked" without waiting.
#[async_trait]
impl IncidentStore for SqliteStorage {
    #[tracing::instrument(skip_all, fields(connection = %connection, results = results.len()))]
    async fn ingest_check_results(
        &self,
        connection: &ConnectionName,
        results: &[CheckResult],
        notify: &NotifyContext,
        now: Timestamp,
    ) -> StorageResult<Option<IngestOutcome>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let Some((connection_id, settings, routing)) = connection_settings(&mut tx, connection, &self.vault).await?
        else {
            return Ok(None);
        };

        // Issues join incidents in the order they were executed.
        let mut ordered: Vec<&CheckResult> = results.iter().collect();
        ordered.sort_by_key(|result| result.executed_at);

        let mut outcome = IngestOutcome::default();
        // The incidents each hash may join, as loaded or opened during this batch.
        let mut candidates: HashMap<i64, Vec<Candidate>> = HashMap::new();
        // What the batch adds to each incident, written once at the end.
        let mut growth: HashMap<String, Growth> = HashMap::new();
        let mut opened_changes: Vec<(String, i64)> = Vec::new();
        for result in ordered {
            if let Some(result_id) = &result.result_id {
                let known: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM check_results WHERE connection_id = ? AND result_id = ?")
                        .bind(connection_id)
                        .bind(result_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if known.is_some() {
                    outcome.duplicates += 1;
                    continue;
                }
            }
            outcome.accepted += 1;
            let incident_id = if is_incident_candidate(result, &settings, now) {
                let key = GroupingKey::of(result, &settings);
                let hash = key.hash(connection);
                let loaded = match candidates.entry(hash) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(load_candidates(&mut tx, connection_id, hash).await?),
                };
                let joined = loaded.iter().find(|c| joins(c.window, result.executed_at)).map(|c| c.id.clone());
                let suppressed = || routing.suppresses_incident(&IncidentFacts::of_result(connection.as_str(), result));
                let id = match joined {
                    Some(id) => Some(id),
                    // A filter asks for no incident: the result is stored, ungrouped (DQOps checks
                    // this only when an incident would open).
                    None if suppressed() => None,
                    None => {
                        let (id, change_id) =
                            open_incident(&mut tx, connection_id, hash, &key, result, &settings, now).await?;
                        opened_changes.push((id.clone(), change_id));
                        let window = IncidentWindow {
                            status: IncidentStatus::Open,
                            first_seen: result.executed_at,
                            incident_until: result.executed_at.plus_days(settings.max_incident_length_days.get()),
                            muted_until: None,
                        };
                        loaded.insert(0, Candidate { id: id.clone(), window });
                        outcome.opened.push(id.clone());
                        Some(id)
                    }
                };
                if let Some(id) = &id {
                    growth.entry(id.clone()).or_default().add(result);
                }
                id
            } else {
                None
            };
            insert_check_result(&mut tx, connection_id, result, incident_id.as_deref(), now).await?;
        }
        for (id, growth) in &growth {
            // An incident opened by this batch already counts its first issue.
            let opened_here = outcome.opened.contains(id);
            sqlx::query(
                "UPDATE incidents SET failed_checks_count = failed_checks_count + ?, \
                 highest_severity = max(highest_severity, ?), last_seen = max(last_seen, ?), updated_at = ? \
                 WHERE id = ?",
            )
            .bind(growth.count - u32::from(opened_here))
            .bind(growth.highest.level())
            .bind(growth.last_seen.millis())
            .bind(now.millis())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if !opened_here {
                outcome.updated += 1;
            }
        }
        // Each opened incident is announced as it stands after the whole batch, as DQOps does.
        for (id, change_id) in &opened_changes {
            outcome.deliveries += announce(
                &mut tx,
                &self.vault,
                notify,
                &routing,
                connection_id,
                id,
                *change_id,
                IncidentStatus::Open,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(outcome))
    }

    /// Queued for the group committer (see `group`); answered once its transaction commits.
    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id, status = %status))]
    async fn change_incident_status(
        &self,
        connection: &ConnectionName,
        id: &str,
        status: IncidentStatus,
        actor: &Actor,
        notify: &NotifyContext,
        now: Timestamp,
    ) -> StorageResult<StatusUpdate> {
        self.change_status(connection, id, status, actor, notify, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn incident_counts(&self) -> StorageResult<Vec<ConnectionIncidentCounts>> {
        let rows = sqlx::query(
            "SELECT c.name, i.status, i.highest_severity, count(i.id) AS n FROM connections c \
             LEFT JOIN incidents i ON i.connection_id = c.id AND i.status IN ('open', 'acknowledged') \
             GROUP BY c.name, i.status, i.highest_severity ORDER BY c.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts: BTreeMap<String, ConnectionIncidentCounts> = BTreeMap::new();
        for row in rows {
            let name: String = row.try_get("name")?;
            let entry = match counts.entry(name.clone()) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => entry.insert(ConnectionIncidentCounts {
                    connection: ConnectionName::parse(&name).map_err(|e| corrupt("name", e))?,
                    open: SeverityCounts::default(),
                    acknowledged: SeverityCounts::default(),
                }),
            };
            let Some(status_text) = row.try_get::<Option<String>, _>("status")? else {
                continue; // a connection without incidents
            };
            let count: i64 = row.try_get("n")?;
            let severity = severity(&row, "highest_severity")?;
            match status_text.as_str() {
                "open" => entry.open.add(severity, count as u32),
                _ => entry.acknowledged.add(severity, count as u32),
            }
        }
        Ok(counts.into_values().collect())
    }

    #[tracing::instrument(skip_all, fields(connection = %connection))]
    async fn list_incidents(
        &self,
        connection: &ConnectionName,
        query: &IncidentQuery,
        now: Timestamp,
    ) -> StorageResult<Option<IncidentPage>> {
        let mut conn = self.pool.acquire().await?;
        if connection_id(&mut conn, connection).await?.is_none() {
            return Ok(None);
        }
        if query.statuses.is_empty() {
            return Ok(Some(IncidentPage { incidents: Vec::new(), total: 0 }));
        }
        let mut count = QueryBuilder::<Sqlite>::new(
            "SELECT count(*) FROM incidents i JOIN connections c ON c.id = i.connection_id WHERE c.name = ",
        );
        count.push_bind(connection.as_str());
        push_filters(&mut count, query, now);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;

        let mut select = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN connections c ON c.id = i.connection_id WHERE c.name = "
        ));
        select.push_bind(connection.as_str());
        push_filters(&mut select, query, now);
        let direction = if query.descending { "DESC" } else { "ASC" };
        // Ties: newest first, then by id. (Repeating `first_seen` would make SQLite sort again.)
        let ties = if query.order == IncidentOrder::FirstSeen { "" } else { ", i.first_seen DESC" };
        select.push(format!(" ORDER BY {} {direction}{ties}, i.id LIMIT ", order_column(query.order)));
        select.push_bind(i64::from(query.limit));
        select.push(" OFFSET ");
        select.push_bind(i64::from(query.page.saturating_sub(1)) * i64::from(query.limit));
        let incidents = select
            .build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(incident_from_row)
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(Some(IncidentPage { incidents, total: total as u32 }))
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id))]
    async fn find_incident(&self, connection: &ConnectionName, id: &str) -> StorageResult<Option<Incident>> {
        sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN connections c ON c.id = i.connection_id \
             WHERE c.name = ? AND i.id = ?"
        ))
        .bind(connection.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(incident_from_row)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id))]
    async fn set_issue_url(
        &self,
        connection: &ConnectionName,
        id: &str,
        issue_url: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool> {
        let result = sqlx::query(
            "UPDATE incidents SET issue_url = ?, updated_at = ? \
             WHERE id = ? AND connection_id = (SELECT id FROM connections WHERE name = ?)",
        )
        .bind(issue_url)
        .bind(now.millis())
        .bind(id)
        .bind(connection.as_str())
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(incident = id))]
    async fn incident_history(&self, id: &str) -> StorageResult<Vec<StatusChange>> {
        sqlx::query(
            "SELECT from_status, to_status, changed_at, changed_by, source FROM incident_status_changes \
             WHERE incident_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(status_change_from_row)
        .collect()
    }

    #[tracing::instrument(skip_all, fields(incident = id))]
    async fn incident_issues(&self, id: &str, limit: u32, offset: u32) -> StorageResult<Vec<CheckResult>> {
        sqlx::query(&format!(
            "SELECT {CHECK_RESULT_COLUMNS} FROM check_results WHERE incident_id = ? \
             ORDER BY executed_at DESC, id DESC LIMIT ? OFFSET ?"
        ))
        .bind(id)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(check_result_from_row)
        .collect()
    }
}

/// A status change to make: which incident, the status it enters, who asks, and how its
/// notifications are written.
pub(super) struct StatusRequest {
    pub connection: ConnectionName,
    pub id: String,
    pub status: IncidentStatus,
    pub actor: Actor,
    pub notify: NotifyContext,
    pub now: Timestamp,
}

/// Changes an incident's status inside `tx`: the update, its transition and its deliveries.
pub(super) async fn change_status_in(
    tx: &mut SqliteConnection,
    change: &StatusRequest,
    vault: &Vault,
) -> StorageResult<StatusUpdate> {
    let StatusRequest { connection, id, actor, notify, .. } = change;
    let (id, new_status, now) = (id.as_str(), change.status, change.now);
    let Some((connection_id, settings, routing)) = connection_settings(&mut *tx, connection, vault).await? else {
        return Ok(StatusUpdate::NotFound);
    };
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM incidents WHERE id = ? AND connection_id = ?")
        .bind(id)
        .bind(connection_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(current) = current else {
        return Ok(StatusUpdate::NotFound);
    };
    let current: IncidentStatus = current.parse().map_err(|e| corrupt("status", e))?;
    if current == new_status {
        return Ok(StatusUpdate::Unchanged);
    }
    let muted_until =
        (new_status == IncidentStatus::Muted).then(|| now.plus_days(settings.mute_for_days.get()).millis());
    sqlx::query("UPDATE incidents SET status = ?, muted_until = ?, updated_at = ? WHERE id = ?")
        .bind(new_status.as_str())
        .bind(muted_until)
        .bind(now.millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let change = StatusChange { from: Some(current), to: new_status, at: now, by: actor.clone() };
    let change_id = insert_status_change(&mut *tx, id, &change).await?;
    let deliveries = announce(&mut *tx, vault, notify, &routing, connection_id, id, change_id, new_status, now).await?;
    Ok(StatusUpdate::Changed(change, deliveries))
}

/// Records the deliveries announcing that the incident `id` entered `status` (the transition
/// `change_id`), as the routing plans them for the incident as it stands now; returns how many
/// are pending.
#[allow(clippy::too_many_arguments)]
async fn announce(
    tx: &mut SqliteConnection,
    vault: &Vault,
    context: &NotifyContext,
    routing: &Routing,
    connection_id: i64,
    id: &str,
    change_id: i64,
    status: IncidentStatus,
    now: Timestamp,
) -> StorageResult<u32> {
    if routing.is_silent(status) {
        return Ok(0);
    }
    let incident = load_incident(&mut *tx, id).await?;
    let planned = crate::notifications::plan(&incident, status, routing, context);
    let record = PlannedRecord { connection_id, incident_id: id, status_change_id: change_id, status, now };
    insert_deliveries(&mut *tx, vault, planned, &record).await
}
