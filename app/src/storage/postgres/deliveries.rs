//! Deliveries in PostgreSQL: recorded as planned in the transition's transaction, claimed with a
//! lease by any instance, and their attempts recorded, fenced on the lease.
//!
//! Several instances claim at once. Each address has a row in `webhook_endpoints`, and a claim
//! locks the rows of the addresses it leases (`FOR UPDATE SKIP LOCKED`: a claimer never waits for
//! another, it takes other addresses), so what an address has in flight and its pace hold across
//! instances. A lease is taken only when the delivery has none, or its lease expired: the
//! deliveries a crashed instance held are taken over by the others when their leases expire.
//! Every transaction here locks the address's row before its deliveries' rows.

use super::{OUTBOX_CHANNEL, PostgresStorage};
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
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, postgres::PgListener};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long the relay of wake-ups waits before listening again after it lost its connection.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// Records the planned deliveries of one transition, in one statement. Returns how many are
/// pending: an address its receiver disabled gets its delivery recorded as skipped.
pub(super) async fn insert_deliveries(
    conn: &mut PgConnection,
    vault: &Vault,
    planned: Vec<PlannedDelivery>,
    record: &DeliveryRecord<'_>,
) -> StorageResult<u32> {
    if planned.is_empty() {
        return Ok(0);
    }
    let stored_urls: Vec<String> = planned.iter().map(|delivery| vault.seal(delivery.url.as_str())).collect();
    let disabled: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT url, disabled_reason FROM webhook_endpoints WHERE disabled_at IS NOT NULL AND url = ANY($1)",
    )
    .bind(&stored_urls)
    .fetch_all(&mut *conn)
    .await?;
    let mut insert = QueryBuilder::<Postgres>::new(
        "INSERT INTO deliveries (webhook_id, status_change_id, incident_id, url, format, incident_status, payload, \
         state, next_attempt_at, last_error, created_at, updated_at, route, connection_id) ",
    );
    let mut pending = 0;
    insert.push_values(planned.into_iter().zip(stored_urls), |mut row, (delivery, stored_url)| {
        let (state, error) = match disabled.iter().find(|(url, _)| *url == stored_url) {
            Some((_, reason)) => {
                (DeliveryState::Skipped, Some(format!("address disabled: {}", reason.as_deref().unwrap_or_default())))
            }
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

/// Wakes the workers of every instance when (and only if) the transaction commits.
pub(super) async fn notify_outbox(conn: &mut PgConnection) -> StorageResult<()> {
    sqlx::query("SELECT pg_notify($1, '')").bind(OUTBOX_CHANNEL).execute(&mut *conn).await?;
    Ok(())
}

/// Locks the address's row until the transaction ends (see the module's note on lock order).
async fn lock_address(conn: &mut PgConnection, stored_url: &str) -> StorageResult<()> {
    sqlx::query("SELECT url FROM webhook_endpoints WHERE url = $1 FOR UPDATE")
        .bind(stored_url)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl PostgresStorage {
    /// Wakes `wake` at each notification on the outbox channel, until `stop`; an error when the
    /// connection it listens on fails.
    async fn listen(&self, wake: &Notify, stop: &CancellationToken) -> StorageResult<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(OUTBOX_CHANNEL).await?;
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                notification = listener.recv() => {
                    notification?;
                    wake.notify_one();
                }
            }
        }
    }

    /// Deliveries matching `filter` (an SQL condition on `d` with one parameter, `$1`), newest
    /// first, with their attempts.
    async fn deliveries_where(&self, filter: &str, bind: &str, limit: u32) -> StorageResult<Vec<Delivery>> {
        let mut deliveries = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d LEFT JOIN webhook_endpoints e ON e.url = d.url \
             WHERE {filter} ORDER BY d.id DESC LIMIT $2"
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
                "SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id BETWEEN $1 AND $2 \
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
impl Outbox for PostgresStorage {
    async fn connection_deliveries(&self, connection: &ConnectionName, limit: u32) -> StorageResult<Vec<Delivery>> {
        let filter = "d.connection_id = (SELECT id FROM connections WHERE name = $1)";
        self.deliveries_where(filter, connection.as_str(), limit).await
    }

    async fn incident_deliveries(&self, incident_id: &str) -> StorageResult<Vec<Delivery>> {
        self.deliveries_where("d.incident_id = $1", incident_id, 200).await
    }

    /// Claims due deliveries for up to `limit` addresses that have nothing in flight, are not
    /// paced and no other claim holds: up to `per_address` each (one for Slack), oldest first,
    /// and never one whose incident has an older delivery to the same address still pending.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        per_address: u32,
    ) -> StorageResult<Vec<ClaimedDelivery>> {
        let per_address = i64::from(per_address.max(1));
        let window = i64::from(limit) * per_address * 4 + 64;
        let mut tx = self.pool.begin().await?;
        // Every address with due deliveries gets its row (added in order, so claims never wait
        // on each other in a circle).
        sqlx::query(
            "INSERT INTO webhook_endpoints (url) \
             SELECT DISTINCT url FROM (SELECT url FROM deliveries \
               WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
               ORDER BY next_attempt_at, id LIMIT $2) due \
             ORDER BY url ON CONFLICT (url) DO NOTHING",
        )
        .bind(now.millis())
        .bind(window)
        .execute(&mut *tx)
        .await?;
        let urls: Vec<String> = sqlx::query_scalar(
            "WITH due AS ( \
               SELECT url, min(next_attempt_at) AS due_at FROM (SELECT url, next_attempt_at FROM deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY next_attempt_at, id LIMIT $3) d \
               GROUP BY url) \
             SELECT e.url FROM webhook_endpoints e JOIN due ON due.url = e.url \
             WHERE e.busy_until < $1 AND e.next_send_at <= $1 \
             ORDER BY due.due_at, e.url LIMIT $2 FOR UPDATE OF e SKIP LOCKED",
        )
        .bind(now.millis())
        .bind(i64::from(limit))
        .bind(window)
        .fetch_all(&mut *tx)
        .await?;
        if urls.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        // Per address (in the order locked), its oldest due deliveries, up to `per_address` (one
        // for Slack: every delivery to an address has the same format).
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT x.id FROM unnest($1::text[]) WITH ORDINALITY AS address (url, position) \
             CROSS JOIN LATERAL ( \
               SELECT due.id, due.format, row_number() OVER (ORDER BY due.id) AS n FROM ( \
                 SELECT d.id, d.format FROM deliveries d \
                 WHERE d.url = address.url AND d.state = 'pending' AND d.next_attempt_at <= $2 \
                   AND (d.lease_until IS NULL OR d.lease_until < $2) \
                   AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.state = 'pending' AND o.url = d.url \
                                   AND o.incident_id = d.incident_id AND o.id < d.id) \
                 ORDER BY d.id LIMIT $3) due) x \
             WHERE x.format <> 'slack' OR x.n = 1 \
             ORDER BY address.position, x.id",
        )
        .bind(&urls)
        .bind(now.millis())
        .bind(per_address)
        .fetch_all(&mut *tx)
        .await?;
        let rows = sqlx::query(&format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id = ANY($4) AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING {CLAIMED_COLUMNS}"
        ))
        .bind(owner)
        .bind(lease_until.millis())
        .bind(now.millis())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed =
            rows.iter().map(|row| claimed_from_row(row, &self.vault)).collect::<StorageResult<Vec<_>>>()?;
        // In the order to send them: by address, oldest first.
        claimed.sort_by_key(|delivery| ids.iter().position(|id| *id == delivery.id));
        let busy: Vec<String> = rows.iter().map(|row| row.try_get("url")).collect::<Result<_, _>>()?;
        sqlx::query("UPDATE webhook_endpoints SET busy_until = $1, busy_owner = $2 WHERE url = ANY($3)")
            .bind(lease_until.millis())
            .bind(owner)
            .bind(&busy)
            .execute(&mut *tx)
            .await?;
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
        let (state, next_attempt_at, kind) = after_attempt(outcome.next);
        let mut tx = self.pool.begin().await?;
        lock_address(&mut tx, &stored_url).await?;
        let updated = sqlx::query(
            "UPDATE deliveries SET state = $1, next_attempt_at = coalesce($2, next_attempt_at), last_error = $3, \
             lease_owner = NULL, lease_until = NULL, updated_at = $4 WHERE id = $5 AND lease_owner = $6 AND attempts = $7",
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
        sqlx::query(&format!(
            "INSERT INTO delivery_attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
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
        // The address is free again (paced, or disabled, as the answer says), unless another
        // worker took it over meanwhile.
        sqlx::query(
            "INSERT INTO webhook_endpoints AS e (url, disabled_at, disabled_reason, next_send_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (url) DO UPDATE SET \
               busy_until = CASE WHEN $5 AND e.busy_owner = $6 THEN 0 ELSE e.busy_until END, \
               busy_owner = CASE WHEN $5 AND e.busy_owner = $6 THEN NULL ELSE e.busy_owner END, \
               disabled_at = coalesce(excluded.disabled_at, e.disabled_at), \
               disabled_reason = coalesce(excluded.disabled_reason, e.disabled_reason), \
               next_send_at = greatest(e.next_send_at, excluded.next_send_at)",
        )
        .bind(&stored_url)
        .bind(outcome.disable_address.as_ref().map(|_| outcome.finished_at.millis()))
        .bind(&outcome.disable_address)
        .bind(outcome.paced_until.map_or(0, Timestamp::millis))
        .bind(outcome.release_address)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if let Some(reason) = &outcome.disable_address {
            // What was waiting for this address is skipped, not silently dropped.
            sqlx::query(
                "UPDATE deliveries SET state = 'skipped', last_error = $1, updated_at = $2 \
                 WHERE url = $3 AND state = 'pending' AND id <> $4",
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
        let stored_url = self.vault.seal(url);
        let mut tx = self.pool.begin().await?;
        lock_address(&mut tx, &stored_url).await?;
        sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
             WHERE id = ANY($1) AND lease_owner = $2 AND state = 'pending'",
        )
        .bind(ids)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET busy_until = 0, busy_owner = NULL WHERE url = $1 AND busy_owner = $2",
        )
        .bind(&stored_url)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Several instances share the database, so a lease at start-up may be another instance's,
    /// in flight: none is freed here. A crashed instance's leases are taken over when they expire.
    async fn release_abandoned_leases(&self) -> StorageResult<u64> {
        Ok(0)
    }

    /// Gives back everything `owner` holds leased, unsent, and frees those addresses.
    async fn release_owner_leases(&self, owner: &str) -> StorageResult<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE webhook_endpoints SET busy_until = 0, busy_owner = NULL WHERE busy_owner = $1")
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        let released = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
             WHERE lease_owner = $1 AND state = 'pending'",
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
            "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, updated_at = $1 \
             WHERE id = $2 AND state IN ('failed', 'skipped')",
        )
        .bind(now.millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            notify_outbox(&mut *self.pool.acquire().await?).await?;
        }
        Ok(result.rows_affected() == 1)
    }

    /// Listens on the outbox channel (PostgreSQL's `LISTEN`), which every transaction that queues
    /// deliveries notifies as it commits, on any instance.
    async fn relay_wake_ups(&self, wake: Arc<Notify>, stop: CancellationToken) {
        loop {
            match self.listen(&wake, &stop).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "lost the wake-ups of other instances; polling until listening again")
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RELISTEN_PAUSE) => {}
            }
        }
    }

    /// Re-enables the address of delivery `id`. Returns false when it was not disabled.
    async fn enable_delivery_address(&self, id: i64) -> StorageResult<bool> {
        let result = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL \
             WHERE url = (SELECT url FROM deliveries WHERE id = $1) AND disabled_at IS NOT NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
