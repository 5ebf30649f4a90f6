//! Incidents, their issues and their transitions, in SQLite.

use super::{SqliteStorage, group::StatusJob, writes::SqliteWrites};
use crate::{
    domain::{
        CheckResult, ConnectionIncidentCounts, ConnectionName, Incident, IncidentOrder, IncidentPage, IncidentQuery,
        StatusChange, Timestamp,
    },
    storage::{
        IncidentStore, IngestOutcome, StatusUpdate, StorageError, StorageResult, WriteWork,
        rows::{
            CHECK_RESULT_COLUMNS, FILTERED_COLUMNS, INCIDENT_COLUMNS, STATUS_CHANGE_COLUMNS, check_result_from_row,
            incident_counts_from_rows, incident_from_row, like_pattern, order_column, status_change_from_row,
        },
    },
};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

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

/// The connection's id; `None` when no connection has this name.
async fn connection_id(conn: &mut SqliteConnection, name: &ConnectionName) -> StorageResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM connections WHERE name = ?").bind(name.as_str()).fetch_optional(conn).await?)
}

// Write transactions begin IMMEDIATE: a deferred one that reads first cannot upgrade to a write
// while another connection writes, and SQLite answers "database is locked" without waiting.
#[async_trait]
impl IncidentStore for SqliteStorage {
    async fn write_ingest(&self, work: WriteWork<Option<IngestOutcome>>) -> StorageResult<Option<IngestOutcome>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let outcome = work(&mut SqliteWrites::new(&mut tx, &self.vault)).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Queued for the group committer (see `group`); answered once its transaction commits.
    async fn write_status_change(&self, work: WriteWork<StatusUpdate>) -> StorageResult<StatusUpdate> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || StorageError::Batch("the writer has stopped".to_owned());
        self.status_jobs.send(StatusJob { work, reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
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
        incident_counts_from_rows(&rows)
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
        sqlx::query(&format!(
            "SELECT {STATUS_CHANGE_COLUMNS} FROM incident_status_changes WHERE incident_id = ? ORDER BY id"
        ))
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
