//! Deliveries in SQLite: recorded as planned in the transition's transaction, claimed with a
//! lease, and their attempts recorded, fenced on the lease.

use super::SqliteStorage;
use crate::{
    domain::{ConnectionName, Delivery, DeliveryState, PlannedDelivery, Timestamp},
    storage::{
        ClaimedDelivery, DeliveryOutcome, DeliveryRecord, Outbox, StorageResult, Vault,
        rows::{
            ATTEMPT_COLUMNS, CLAIMED_COLUMNS, DELIVERY_COLUMNS, after_attempt, attach_attempts, attempt_from_row,
            claimed_from_row, delivery_from_row, new_webhook_id,
        },
    },
};
use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};

/// Records the planned deliveries of one transition, in one statement. Returns how many are
/// pending: an address its receiver disabled gets its delivery recorded as skipped.
pub(super) async fn insert_deliveries(
    conn: &mut SqliteConnection,
    vault: &Vault,
    planned: Vec<PlannedDelivery>,
    record: &DeliveryRecord<'_>,
) -> StorageResult<u32> {
    if planned.is_empty() {
        return Ok(0);
    }
    let stored_urls: Vec<String> = planned.iter().map(|delivery| vault.seal(delivery.url.as_str())).collect();
    let disabled = disabled_addresses(&mut *conn, &stored_urls).await?;
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO deliveries (webhook_id, status_change_id, incident_id, url, format, incident_status, payload, \
         state, next_attempt_at, last_error, created_at, updated_at, route, connection_id) ",
    );
    let mut pending = 0;
    insert.push_values(planned.into_iter().zip(stored_urls), |mut row, (delivery, stored_url)| {
        let (state, error) = match disabled.iter().find(|(url, _)| *url == stored_url) {
            Some((_, reason)) => (DeliveryState::Skipped, Some(format!("address disabled: {reason}"))),
            None => {
                pending += 1;
                (DeliveryState::Pending, None)
            }
        };
        row.push_bind(new_webhook_id())
            .push_bind(record.status_change_id)
            .push_bind(record.incident_id.to_owned())
            .push_bind(stored_url)
            .push_bind(delivery.format.as_str())
            .push_bind(record.status.as_str())
            .push_bind(delivery.payload)
            .push_bind(state.as_str())
            .push_bind(record.now.millis())
            .push_bind(error)
            .push_bind(record.now.millis())
            .push_bind(record.now.millis())
            .push_bind(delivery.route.label())
            .push_bind(record.connection_id);
    });
    insert.build().execute(&mut *conn).await?;
    Ok(pending)
}

/// Which of `stored_urls` their receivers disabled, with the reason each one gave.
async fn disabled_addresses(
    conn: &mut SqliteConnection,
    stored_urls: &[String],
) -> StorageResult<Vec<(String, String)>> {
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "SELECT url, disabled_reason FROM webhook_endpoints WHERE disabled_at IS NOT NULL AND url IN (",
    );
    let mut urls = query.separated(", ");
    for url in stored_urls {
        urls.push_bind(url.clone());
    }
    query.push(")");
    let rows = query.build().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("url")?, row.try_get::<Option<String>, _>("disabled_reason")?.unwrap_or_default())))
        .collect()
}

impl SqliteStorage {
    /// Deliveries matching `filter` (an SQL condition on `d`), newest first, with their attempts.
    async fn deliveries_where(&self, filter: &str, bind: &str, limit: u32) -> StorageResult<Vec<Delivery>> {
        let mut deliveries = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d LEFT JOIN webhook_endpoints e ON e.url = d.url \
             WHERE {filter} ORDER BY d.id DESC LIMIT ?"
        ))
        .bind(bind)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| delivery_from_row(row, &self.vault))
        .collect::<StorageResult<Vec<_>>>()?;
        if let (Some(last), Some(first)) = (deliveries.last(), deliveries.first()) {
            let attempts = sqlx::query(&format!(
                "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id BETWEEN ? AND ? \
                 ORDER BY delivery_id, attempt"
            ))
            .bind(last.id)
            .bind(first.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(attempt_from_row)
            .collect::<StorageResult<Vec<_>>>()?;
            attach_attempts(&mut deliveries, attempts);
        }
        Ok(deliveries)
    }
}

#[async_trait]
impl Outbox for SqliteStorage {
    async fn connection_deliveries(&self, connection: &ConnectionName, limit: u32) -> StorageResult<Vec<Delivery>> {
        let filter = "d.connection_id = (SELECT id FROM connections WHERE name = ?)";
        self.deliveries_where(filter, connection.as_str(), limit).await
    }

    async fn incident_deliveries(&self, incident_id: &str) -> StorageResult<Vec<Delivery>> {
        self.deliveries_where("d.incident_id = ?", incident_id, 200).await
    }

    /// Claims due deliveries for up to `limit` addresses that have nothing in flight and are not
    /// paced: up to `per_address` each (one for Slack), oldest first, and never one whose incident
    /// has an older delivery to the same address still pending. Only the earliest-due deliveries
    /// are considered, so a long queue keeps claims cheap.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        per_address: u32,
    ) -> StorageResult<Vec<ClaimedDelivery>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM ( \
               SELECT d.id, d.format, \
                 row_number() OVER (PARTITION BY d.url ORDER BY d.id) AS n, \
                 dense_rank() OVER (ORDER BY d.url) AS address \
               FROM ( \
                 SELECT id, url, incident_id, format FROM deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until < ?1) \
                   AND url NOT IN (SELECT url FROM webhook_endpoints WHERE busy_until >= ?1 OR next_send_at > ?1) \
                 ORDER BY next_attempt_at, id LIMIT ?3) d \
               WHERE NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.state = 'pending' AND o.url = d.url \
                                 AND o.incident_id = d.incident_id AND o.id < d.id)) \
             WHERE address <= ?2 AND n <= CASE WHEN format = 'slack' THEN 1 ELSE ?4 END \
             ORDER BY address, n",
        )
        .bind(now.millis())
        .bind(i64::from(limit))
        .bind(i64::from(limit) * i64::from(per_address.max(1)) * 4 + 64)
        .bind(i64::from(per_address.max(1)))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(&format!(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ? \
                 WHERE id = ? RETURNING {CLAIMED_COLUMNS}"
            ))
            .bind(owner)
            .bind(lease_until.millis())
            .bind(now.millis())
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let stored_url: String = row.try_get("url")?;
            sqlx::query(
                "INSERT INTO webhook_endpoints (url, busy_until, busy_owner) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (url) DO UPDATE SET busy_until = excluded.busy_until, busy_owner = excluded.busy_owner",
            )
            .bind(&stored_url)
            .bind(lease_until.millis())
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            claimed.push(claimed_from_row(&row, &self.vault)?);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt and its consequences, if the lease is still ours. Returns false when
    /// the lease was lost (another worker took the delivery over).
    #[tracing::instrument(skip_all, fields(delivery = delivery.id, attempt = delivery.attempt))]
    async fn record_delivery_attempt(
        &self,
        delivery: &ClaimedDelivery,
        owner: &str,
        outcome: &DeliveryOutcome,
    ) -> StorageResult<bool> {
        let stored_url = self.vault.seal(&delivery.url);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let (state, next_attempt_at, kind) = after_attempt(outcome.next);
        let updated = sqlx::query(
            "UPDATE deliveries SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), last_error = ?, \
             lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND attempts = ?",
        )
        .bind(state.as_str())
        .bind(next_attempt_at.map(Timestamp::millis))
        .bind(&outcome.error)
        .bind(outcome.finished_at.millis())
        .bind(delivery.id)
        .bind(owner)
        .bind(i64::from(delivery.attempt))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, http_status, outcome, error, \
             response_excerpt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(delivery.id)
        .bind(i64::from(delivery.attempt))
        .bind(outcome.started_at.millis())
        .bind(i64::from(outcome.duration_ms))
        .bind(outcome.http_status.map(i64::from))
        .bind(kind)
        .bind(&outcome.error)
        .bind(&outcome.response_excerpt)
        .execute(&mut *tx)
        .await?;
        {
            // The address is free again (paced, or disabled, as the answer says).
            sqlx::query(
                "INSERT INTO webhook_endpoints (url, disabled_at, disabled_reason, next_send_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (url) DO UPDATE SET \
                   busy_until = CASE WHEN ?5 AND busy_owner = ?6 THEN 0 ELSE busy_until END, \
                   busy_owner = CASE WHEN ?5 AND busy_owner = ?6 THEN NULL ELSE busy_owner END, \
                   disabled_at = coalesce(excluded.disabled_at, disabled_at), \
                   disabled_reason = coalesce(excluded.disabled_reason, disabled_reason), \
                   next_send_at = max(next_send_at, excluded.next_send_at)",
            )
            .bind(&stored_url)
            .bind(outcome.disable_address.as_ref().map(|_| outcome.finished_at.millis()))
            .bind(&outcome.disable_address)
            .bind(outcome.paced_until.map_or(0, Timestamp::millis))
            .bind(outcome.release_address)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(reason) = &outcome.disable_address {
            // What was waiting for this address is skipped, not silently dropped.
            sqlx::query(
                "UPDATE deliveries SET state = 'skipped', last_error = ?, updated_at = ? \
                 WHERE url = ? AND state = 'pending' AND id != ?",
            )
            .bind(format!("address disabled: {reason}"))
            .bind(outcome.finished_at.millis())
            .bind(&stored_url)
            .bind(delivery.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives back unsent leased deliveries and frees the address.
    async fn release_deliveries(&self, url: &str, ids: &[i64], owner: &str) -> StorageResult<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for id in ids {
            sqlx::query(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
                 WHERE id = ? AND lease_owner = ? AND state = 'pending'",
            )
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE webhook_endpoints SET busy_until = 0, busy_owner = NULL WHERE url = ? AND busy_owner = ?")
            .bind(self.vault.seal(url))
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// SQLite serves one Tocsin instance, so at start-up every lease is abandoned.
    async fn release_abandoned_leases(&self) -> StorageResult<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let result = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_endpoints SET busy_until = 0, busy_owner = NULL").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }

    /// Gives back everything `owner` holds leased, unsent, and frees those addresses.
    async fn release_owner_leases(&self, owner: &str) -> StorageResult<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE webhook_endpoints SET busy_until = 0, busy_owner = NULL WHERE busy_owner = ?")
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        let released = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
             WHERE lease_owner = ? AND state = 'pending'",
        )
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(released.rows_affected())
    }

    /// Makes a failed or skipped delivery due now. Returns false when there is no such delivery to retry.
    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StorageResult<bool> {
        let result = sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ? \
             WHERE id = ? AND state IN ('failed', 'skipped')",
        )
        .bind(now.millis())
        .bind(now.millis())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Re-enables the address of delivery `id`. Returns false when it was not disabled.
    async fn enable_delivery_address(&self, id: i64) -> StorageResult<bool> {
        let result = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL \
             WHERE url = (SELECT url FROM deliveries WHERE id = ?) AND disabled_at IS NOT NULL",
        )
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
