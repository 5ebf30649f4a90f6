//! Users, sessions and API tokens in SQLite. Only hashes of secrets reach the file.

use super::SqliteStorage;
use crate::domain::{ApiToken, Timestamp, TokenName, UserName};
use crate::storage::is_unique_violation;
use crate::storage::{
    AccessStore, StorageError, StorageResult,
    rows::{TOKEN_COLUMNS, corrupt, token_from_row},
};
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl AccessStore for SqliteStorage {
    async fn create_user(&self, name: &UserName, password_hash: &str, now: Timestamp) -> StorageResult<()> {
        let inserted = sqlx::query("INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)")
            .bind(name.as_str())
            .bind(password_hash)
            .bind(now.millis())
            .execute(&self.writer)
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StorageError::Conflict),
            Err(error) => Err(error.into()),
        }
    }

    async fn user_password(&self, name: &UserName) -> StorageResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("id")?, row.try_get("password_hash")?))).transpose()
    }

    async fn user_count(&self) -> StorageResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&self.pool).await?;
        Ok(count as u64)
    }

    async fn create_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        expires_at: Timestamp,
        replaces: Option<&[u8]>,
        now: Timestamp,
    ) -> StorageResult<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id_hash = ?").bind(old).execute(&mut *tx).await?;
        }
        // Expired sessions are cleared as new ones start.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(now.millis()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(id_hash)
            .bind(user_id)
            .bind(now.millis())
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, id_hash: &[u8], now: Timestamp) -> StorageResult<Option<UserName>> {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(id_hash)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        name.map(|name| UserName::parse(&name).map_err(|e| corrupt("users.name", e))).transpose()
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StorageResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?").bind(id_hash).execute(&self.writer).await?;
        Ok(())
    }

    async fn create_api_token(
        &self,
        name: &TokenName,
        hash: &[u8],
        hint: &str,
        now: Timestamp,
    ) -> StorageResult<ApiToken> {
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (name, hash, hint, created_at) VALUES (?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(name.as_str())
        .bind(hash)
        .bind(hint)
        .bind(now.millis())
        .fetch_one(&self.writer)
        .await?;
        token_from_row(&row)
    }

    async fn api_tokens(&self) -> StorageResult<Vec<ApiToken>> {
        sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from_row)
            .collect()
    }

    async fn revoke_api_token(&self, id: i64, now: Timestamp) -> StorageResult<bool> {
        let result = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now.millis())
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn api_token_valid(&self, hash: &[u8]) -> StorageResult<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM api_tokens WHERE hash = ? AND revoked_at IS NULL")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn record_sign_in_failure(
        &self,
        address: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> StorageResult<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE failed_at < ?")
            .bind(forget_before.millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sign_in_failures (address, failed_at) VALUES (?, ?)")
            .bind(address)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sign_in_failures(&self, address: &str, since: Timestamp) -> StorageResult<Vec<Timestamp>> {
        let times: Vec<i64> = sqlx::query_scalar(
            "SELECT failed_at FROM sign_in_failures WHERE address = ? AND failed_at >= ? ORDER BY failed_at",
        )
        .bind(address)
        .bind(since.millis())
        .fetch_all(&self.pool)
        .await?;
        Ok(times.into_iter().map(Timestamp::from_millis).collect())
    }

    async fn forget_sign_in_failures(&self, address: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE address = ?").bind(address).execute(&self.writer).await?;
        Ok(())
    }
}
