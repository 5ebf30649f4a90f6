//! The write steps of the incident rules (`crate::incidents`) in PostgreSQL, on one connection
//! inside the transaction that its caller began.

use super::{deliveries, filters};
use crate::{
    domain::{
        CheckResult, ConnectionName, Incident, IncidentStatus, IncidentWindow, PlannedDelivery, Routing, StatusChange,
        Timestamp,
    },
    storage::{
        CandidateIncident, ConnectionPolicy, DeliveryRecord, IncidentGrowth, IncidentWrites, NewIncident,
        StorageResult, Vault,
        rows::{
            CHECK_RESULT_COLUMNS, DEFAULT_COLUMNS, GROUPING_COLUMNS, INCIDENT_COLUMNS, corrupt, defaults_from_row,
            grouping_from_row, incident_from_row, optional_time, status, time,
        },
    },
};
use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::HashSet;

/// A check result binds 19 values; PostgreSQL takes up to 65,535 in one statement.
const RESULTS_PER_STATEMENT: usize = 1_000;

/// The steps, on a connection in a write transaction.
pub(super) struct PgWrites<'t> {
    conn: &'t mut PgConnection,
    vault: &'t Vault,
    /// Whether this transaction holds its connection's ingest lock (see `candidates`).
    ingest_locked: bool,
    /// Whether this transaction queued deliveries and notified the workers already (once is
    /// enough: PostgreSQL folds a transaction's notifications on one channel into one).
    notified: bool,
}

impl<'t> PgWrites<'t> {
    pub(super) fn new(conn: &'t mut PgConnection, vault: &'t Vault) -> Self {
        Self { conn, vault, ingest_locked: false, notified: false }
    }
}

#[async_trait]
impl IncidentWrites for PgWrites<'_> {
    async fn connection_policy(&mut self, name: &ConnectionName) -> StorageResult<Option<ConnectionPolicy>> {
        let sql = format!(
            "SELECT c.id, {GROUPING_COLUMNS}, {DEFAULT_COLUMNS} FROM connections c \
             LEFT JOIN default_notifications d ON d.id = 1 WHERE c.name = $1"
        );
        let Some(row) = sqlx::query(&sql).bind(name.as_str()).fetch_optional(&mut *self.conn).await? else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let settings = grouping_from_row(&row, self.vault)?;
        let routing = Routing {
            addresses: settings.notification.with_defaults(&defaults_from_row(&row, self.vault)?),
            connection_filters: filters::load(&mut *self.conn, Some(id), self.vault).await?,
            global_filters: filters::load(&mut *self.conn, None, self.vault).await?,
        };
        Ok(Some(ConnectionPolicy { id, grouping: settings, routing }))
    }

    async fn known_results(&mut self, connection_id: i64, result_ids: &[&str]) -> StorageResult<HashSet<String>> {
        let rows = sqlx::query("SELECT result_id FROM check_results WHERE connection_id = $1 AND result_id = ANY($2)")
            .bind(connection_id)
            .bind(result_ids)
            .fetch_all(&mut *self.conn)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("result_id")?)).collect()
    }

    /// Also takes the connection's ingest lock, once per transaction: two ingests of one
    /// connection must not both open an incident for the same grouping key. The incidents found
    /// are locked too, so that a status change waits rather than slipping between the read and
    /// the write.
    async fn candidates(&mut self, connection_id: i64, hash: i64) -> StorageResult<Vec<CandidateIncident>> {
        if !self.ingest_locked {
            sqlx::query("SELECT id FROM connections WHERE id = $1 FOR NO KEY UPDATE")
                .bind(connection_id)
                .execute(&mut *self.conn)
                .await?;
            self.ingest_locked = true;
        }
        sqlx::query(
            "SELECT id, status, first_seen, incident_until, muted_until FROM incidents \
             WHERE connection_id = $1 AND incident_hash = $2 AND status <> 'resolved' \
             ORDER BY first_seen DESC LIMIT 16 FOR NO KEY UPDATE",
        )
        .bind(connection_id)
        .bind(hash)
        .fetch_all(&mut *self.conn)
        .await?
        .iter()
        .map(|row| {
            Ok(CandidateIncident {
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

    async fn insert_incident(&mut self, incident: &NewIncident<'_>) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO incidents (id, connection_id, incident_hash, schema_name, table_name, table_priority, \
             data_group_name, quality_dimension, check_category, check_type, check_name, highest_severity, \
             minimum_severity, first_seen, last_seen, incident_until, failed_checks_count, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, 'open', $17, $18)",
        )
        .bind(incident.id)
        .bind(incident.connection_id)
        .bind(incident.hash)
        .bind(&incident.key.schema)
        .bind(&incident.key.table)
        .bind(incident.first.table_priority.map(i64::from))
        .bind(&incident.key.data_group)
        .bind(&incident.key.quality_dimension)
        .bind(&incident.key.check_category)
        .bind(incident.key.check_type.map(|t| t.as_str()))
        .bind(&incident.key.check_name)
        .bind(i64::from(incident.first.severity.level()))
        .bind(i64::from(incident.minimum_severity.level()))
        .bind(incident.first.executed_at.millis())
        .bind(incident.first.executed_at.millis())
        .bind(incident.incident_until.millis())
        .bind(incident.now.millis())
        .bind(incident.now.millis())
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn insert_check_results(
        &mut self,
        connection_id: i64,
        results: &[(&CheckResult, Option<String>)],
        now: Timestamp,
    ) -> StorageResult<()> {
        for chunk in results.chunks(RESULTS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<Postgres>::new(format!(
                "INSERT INTO check_results (connection_id, {CHECK_RESULT_COLUMNS}, incident_id, received_at) "
            ));
            insert.push_values(chunk, |mut row, (result, incident_id)| {
                row.push_bind(connection_id)
                    .push_bind(result.schema.as_str())
                    .push_bind(result.table.as_str())
                    .push_bind(result.column.as_deref())
                    .push_bind(result.check_name.as_str())
                    .push_bind(result.check_category.as_str())
                    .push_bind(result.check_type.as_str())
                    .push_bind(result.quality_dimension.as_str())
                    .push_bind(i64::from(result.severity.level()))
                    .push_bind(result.executed_at.millis())
                    .push_bind(result.data_group.as_deref())
                    .push_bind(result.table_priority.map(i64::from))
                    .push_bind(result.time_period.map(Timestamp::millis))
                    .push_bind(result.actual_value)
                    .push_bind(result.expected_value)
                    .push_bind(result.message.as_deref())
                    .push_bind(result.result_id.as_deref())
                    .push_bind(incident_id.as_deref())
                    .push_bind(now.millis());
            });
            insert.build().execute(&mut *self.conn).await?;
        }
        Ok(())
    }

    async fn grow_incident(&mut self, id: &str, growth: &IncidentGrowth, now: Timestamp) -> StorageResult<()> {
        sqlx::query(
            "UPDATE incidents SET failed_checks_count = failed_checks_count + $1, \
             highest_severity = greatest(highest_severity, $2), last_seen = greatest(last_seen, $3), updated_at = $4 \
             WHERE id = $5",
        )
        .bind(i64::from(growth.issues))
        .bind(i64::from(growth.highest.level()))
        .bind(growth.last_seen.millis())
        .bind(now.millis())
        .bind(id)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Locks the incident's row for the rest of the transaction: the status read is the one changed.
    async fn incident_status(&mut self, connection_id: i64, id: &str) -> StorageResult<Option<IncidentStatus>> {
        let current: Option<String> =
            sqlx::query_scalar("SELECT status FROM incidents WHERE id = $1 AND connection_id = $2 FOR NO KEY UPDATE")
                .bind(id)
                .bind(connection_id)
                .fetch_optional(&mut *self.conn)
                .await?;
        current.map(|text| text.parse().map_err(|e| corrupt("status", e))).transpose()
    }

    async fn set_status(
        &mut self,
        id: &str,
        status: IncidentStatus,
        muted_until: Option<Timestamp>,
        now: Timestamp,
    ) -> StorageResult<()> {
        sqlx::query("UPDATE incidents SET status = $1, muted_until = $2, updated_at = $3 WHERE id = $4")
            .bind(status.as_str())
            .bind(muted_until.map(Timestamp::millis))
            .bind(now.millis())
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn insert_transition(&mut self, incident_id: &str, change: &StatusChange) -> StorageResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO incident_status_changes (incident_id, from_status, to_status, changed_at, changed_by, source) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(incident_id)
        .bind(change.from.map(IncidentStatus::as_str))
        .bind(change.to.as_str())
        .bind(change.at.millis())
        .bind(&change.by.name)
        .bind(change.by.source.as_str())
        .fetch_one(&mut *self.conn)
        .await?)
    }

    async fn load_incident(&mut self, id: &str) -> StorageResult<Incident> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN connections c ON c.id = i.connection_id WHERE i.id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *self.conn)
        .await?;
        incident_from_row(&row)
    }

    async fn insert_deliveries(
        &mut self,
        planned: Vec<PlannedDelivery>,
        record: &DeliveryRecord<'_>,
    ) -> StorageResult<u32> {
        let pending = deliveries::insert_deliveries(&mut *self.conn, self.vault, planned, record).await?;
        if pending > 0 && !self.notified {
            deliveries::notify_outbox(&mut *self.conn).await?;
            self.notified = true;
        }
        Ok(pending)
    }
}
