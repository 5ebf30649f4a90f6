//! Server functions of filtered notifications, on a connection or global (an empty `connection`).

use super::FormOutcome;
#[cfg(feature = "ssr")]
use super::ssr;
use crate::{domain::FilteredNotification, forms::FilterForm};
use leptos::prelude::*;

/// The filters of a connection (or, for an empty name, the global ones); `None` when the
/// connection does not exist.
#[server(prefix = "/rpc", endpoint = "list_filters")]
pub async fn list_filters(connection: String) -> Result<Option<Vec<FilteredNotification>>, ServerFnError> {
    let Some(owner) = ssr::filter_owner(&connection) else { return Ok(None) };
    ssr::found(ssr::state()?.notifications.filters(&owner).await)
}

/// One filter; `None` when it (or its connection) does not exist.
#[server(prefix = "/rpc", endpoint = "get_filter")]
pub async fn get_filter(connection: String, name: String) -> Result<Option<FilteredNotification>, ServerFnError> {
    let Some(filters) = list_filters(connection).await? else { return Ok(None) };
    Ok(filters.into_iter().find(|filter| filter.name.as_str() == name.trim()))
}

/// Creates a filter (`original` empty) or replaces the one named `original`, which may rename it.
#[server(prefix = "/rpc", endpoint = "save_filter")]
pub async fn save_filter(connection: String, original: String, form: FilterForm) -> Result<FormOutcome, ServerFnError> {
    use crate::{
        domain::{FieldErrors, FilterName},
        service::ServiceError,
    };
    let owner = ssr::filter_owner(&connection).ok_or_else(|| ServerFnError::new("no such connection"))?;
    let form_page = crate::paths::filter_form(&owner, (!original.is_empty()).then_some(original.as_str()));
    let filter = match form.parse() {
        Ok(filter) => filter,
        Err(errors) => return Ok(ssr::rejected(&form_page, errors)),
    };
    let state = ssr::state()?;
    if let Some(errors) = ssr::refused(&state, &filter.target) {
        return Ok(ssr::rejected(&form_page, errors));
    }
    let saved = match FilterName::parse(&original) {
        Ok(original) => state.notifications.update_filter(&owner, &original, &filter).await,
        Err(_) => state.notifications.create_filter(&owner, &filter).await,
    };
    match saved {
        Ok(()) => Ok(ssr::saved(&crate::paths::filters_home(&owner))),
        Err(ServiceError::FilterExists(_)) => {
            Ok(ssr::rejected(&form_page, FieldErrors::one("name", "is already used by another filter here")))
        }
        Err(error) => Err(ssr::server_error(error)),
    }
}

#[server(prefix = "/rpc", endpoint = "delete_filter")]
pub async fn delete_filter(connection: String, name: String) -> Result<FormOutcome, ServerFnError> {
    let owner = ssr::filter_owner(&connection).ok_or_else(|| ServerFnError::new("no such connection"))?;
    let name = crate::domain::FilterName::parse(&name).map_err(|e| ServerFnError::new(format!("name {e}")))?;
    ssr::state()?.notifications.delete_filter(&owner, &name).await.map_err(ssr::server_error)?;
    Ok(ssr::saved(&crate::paths::filters_home(&owner)))
}
