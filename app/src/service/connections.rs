//! Connections and their incident grouping and notification settings.

use super::{ServiceError, ServiceResult};
use crate::{
    domain::{Connection, ConnectionName, Description, FilteredNotification, IncidentGrouping, NewConnection},
    storage::{Storage, StorageError},
};
use std::sync::Arc;

#[derive(Clone)]
pub struct ConnectionService {
    storage: Arc<dyn Storage>,
}

impl ConnectionService {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    /// Succeeds when the database answers.
    pub async fn check_storage(&self) -> ServiceResult<()> {
        Ok(self.storage.ping().await?)
    }

    pub async fn list(&self) -> ServiceResult<Vec<Connection>> {
        Ok(self.storage.list_connections().await?)
    }

    pub async fn get(&self, name: &ConnectionName) -> ServiceResult<Connection> {
        self.storage.find_connection(name).await?.ok_or_else(|| ServiceError::ConnectionNotFound(name.clone()))
    }

    /// Creates a connection with DQOps' default incident settings.
    pub async fn create(&self, new: NewConnection) -> ServiceResult<Connection> {
        self.create_with(new, &IncidentGrouping::default()).await
    }

    /// Creates a connection with the given incident settings.
    #[tracing::instrument(skip_all, fields(connection = %new.name))]
    pub async fn create_with(&self, new: NewConnection, grouping: &IncidentGrouping) -> ServiceResult<Connection> {
        match self.storage.create_connection(&new, grouping).await {
            Ok(connection) => {
                tracing::info!(provider = new.provider_type.as_str(), "connection created");
                Ok(connection)
            }
            Err(StorageError::Conflict) => Err(ServiceError::ConnectionExists(new.name)),
            Err(error) => Err(error.into()),
        }
    }

    /// Replaces a connection's provider type and description, and with `settings` its incident
    /// settings and filtered notifications too, at once.
    #[tracing::instrument(skip_all, fields(connection = %connection.name))]
    pub async fn update(
        &self,
        connection: &Connection,
        settings: Option<(&IncidentGrouping, &[FilteredNotification])>,
    ) -> ServiceResult<()> {
        match self.storage.update_connection(connection, settings).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::ConnectionNotFound(connection.name.clone())),
            Err(StorageError::Conflict) => Err(duplicate_filter_names()),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a connection with everything recorded under it: check results, incidents, their
    /// history and their deliveries, pending ones included.
    #[tracing::instrument(skip_all, fields(connection = %name))]
    pub async fn delete(&self, name: &ConnectionName) -> ServiceResult<()> {
        match self.storage.delete_connection(name).await? {
            true => {
                tracing::info!("connection deleted");
                Ok(())
            }
            false => Err(ServiceError::ConnectionNotFound(name.clone())),
        }
    }

    pub async fn update_description(&self, name: &ConnectionName, description: &Description) -> ServiceResult<()> {
        match self.storage.update_description(name, description).await? {
            true => Ok(()),
            false => Err(ServiceError::ConnectionNotFound(name.clone())),
        }
    }

    pub async fn incident_grouping(&self, name: &ConnectionName) -> ServiceResult<IncidentGrouping> {
        self.storage.incident_grouping(name).await?.ok_or_else(|| ServiceError::ConnectionNotFound(name.clone()))
    }

    /// Replaces the incident settings; with `filters`, the connection's filtered notifications too.
    #[tracing::instrument(skip_all, fields(connection = %name))]
    pub async fn save_incident_grouping(
        &self,
        name: &ConnectionName,
        grouping: &IncidentGrouping,
        filters: Option<&[FilteredNotification]>,
    ) -> ServiceResult<()> {
        match self.storage.save_incident_grouping(name, grouping, filters).await {
            Ok(true) => {
                tracing::info!(level = grouping.grouping_level.as_str(), "incident settings saved");
                Ok(())
            }
            Ok(false) => Err(ServiceError::ConnectionNotFound(name.clone())),
            Err(StorageError::Conflict) => Err(duplicate_filter_names()),
            Err(error) => Err(error.into()),
        }
    }
}

pub(super) fn duplicate_filter_names() -> ServiceError {
    ServiceError::Invalid("two filtered notifications have the same name".to_owned())
}
