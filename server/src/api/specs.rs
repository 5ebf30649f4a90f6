//! DQOps' settings specs on the wire: `ConnectionIncidentGroupingSpec` and
//! `IncidentNotificationSpec`, snake_case, absent values omitted. Reading one validates every
//! field with the domain's parsers, and an error names the field by its JSON path.

use super::ApiError;
use app::{
    domain::{
        CheckType, DayCount, FilterName, FilteredNotification, IncidentGrouping, IncidentStatus, NotificationAddresses,
        NotificationFilter, SearchPattern, Severity, WebhookAddresses, parse_exact, parse_message,
    },
    state::AppState,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Where incident notifications go, per status (DQOps' `IncidentNotificationSpec`). Each value
/// is one webhook URL or a comma-separated list. On a connection, an absent status uses the
/// global default; an empty string means "nobody", and blocks the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentNotificationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://hooks.slack.com/services/T000/B000/XXXX")]
    pub incident_opened_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_acknowledged_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_resolved_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_muted_addresses: Option<String>,
    /// Legacy (DQOps before 1.6.1): read as `incident_opened_addresses`.
    #[serde(default, skip_serializing)]
    #[schema(deprecated, write_only)]
    pub incident_opened_webhook_url: Option<String>,
    /// Legacy: read as `incident_acknowledged_addresses`.
    #[serde(default, skip_serializing)]
    #[schema(deprecated, write_only)]
    pub incident_acknowledged_webhook_url: Option<String>,
    /// Legacy: read as `incident_resolved_addresses`.
    #[serde(default, skip_serializing)]
    #[schema(deprecated, write_only)]
    pub incident_resolved_webhook_url: Option<String>,
    /// Legacy: read as `incident_muted_addresses`.
    #[serde(default, skip_serializing)]
    #[schema(deprecated, write_only)]
    pub incident_muted_webhook_url: Option<String>,
    /// Filtered notifications by name, tried before these addresses. Omitted when there are none;
    /// a `PUT` without it removes them all, as in DQOps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered_notifications: Option<BTreeMap<String, FilteredNotificationSpec>>,
}

/// DQOps' `ConnectionIncidentGroupingSpec`: how a connection's failed checks become incidents,
/// and where their notifications go. A `PUT` replaces all of it; an absent field takes DQOps'
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentGroupingSpec {
    /// `table`, `table_dimension`, `table_dimension_category` (default),
    /// `table_dimension_category_type` or `table_dimension_category_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "table_dimension_category")]
    pub grouping_level: Option<String>,
    /// `warning` (default), `error` or `fatal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "warning")]
    pub minimum_severity: Option<String>,
    /// Separate incidents per data group. Omitted when false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divide_by_data_groups: Option<bool>,
    /// Days after which an incident takes no new issues: 1 to 3650, default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 60)]
    pub max_incident_length_days: Option<i64>,
    /// Days a muted incident keeps absorbing matching issues: 1 to 3650, default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 60)]
    pub mute_for_days: Option<i64>,
    /// No incidents are opened for this connection. Omitted when false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Omitted when no address is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_notification: Option<IncidentNotificationSpec>,
    /// Legacy (DQOps before 1.6.1): `{"incident_opened_webhook_url": …}`, read into
    /// `incident_notification`.
    #[serde(default, skip_serializing)]
    #[schema(deprecated, write_only)]
    pub webhooks: Option<IncidentNotificationSpec>,
}

const FIELDS: [(IncidentStatus, &str); 4] = [
    (IncidentStatus::Open, "incident_opened_addresses"),
    (IncidentStatus::Acknowledged, "incident_acknowledged_addresses"),
    (IncidentStatus::Resolved, "incident_resolved_addresses"),
    (IncidentStatus::Muted, "incident_muted_addresses"),
];

impl IncidentNotificationSpec {
    fn slot(&self, status: IncidentStatus) -> (&Option<String>, &Option<String>) {
        match status {
            IncidentStatus::Open => (&self.incident_opened_addresses, &self.incident_opened_webhook_url),
            IncidentStatus::Acknowledged => {
                (&self.incident_acknowledged_addresses, &self.incident_acknowledged_webhook_url)
            }
            IncidentStatus::Resolved => (&self.incident_resolved_addresses, &self.incident_resolved_webhook_url),
            IncidentStatus::Muted => (&self.incident_muted_addresses, &self.incident_muted_webhook_url),
        }
    }

    fn slot_mut(&mut self, status: IncidentStatus) -> &mut Option<String> {
        match status {
            IncidentStatus::Open => &mut self.incident_opened_addresses,
            IncidentStatus::Acknowledged => &mut self.incident_acknowledged_addresses,
            IncidentStatus::Resolved => &mut self.incident_resolved_addresses,
            IncidentStatus::Muted => &mut self.incident_muted_addresses,
        }
    }

    pub fn from_domain(addresses: &NotificationAddresses, filters: &[FilteredNotification]) -> Self {
        let mut spec = Self::default();
        for status in IncidentStatus::ALL {
            *spec.slot_mut(status) = addresses.for_status(status).map(ToString::to_string);
        }
        if !filters.is_empty() {
            let named = filters.iter().map(|f| (f.name.to_string(), FilteredNotificationSpec::from_domain(f)));
            spec.filtered_notifications = Some(named.collect());
        }
        spec
    }

    fn is_empty(&self) -> bool {
        IncidentStatus::ALL.into_iter().all(|status| self.slot(status).0.is_none())
            && self.filtered_notifications.as_ref().is_none_or(BTreeMap::is_empty)
    }

    /// The filtered notifications, each checked; `prefix` is the spec's path in the body.
    pub fn filters(&self, prefix: &str) -> Result<Vec<FilteredNotification>, ApiError> {
        let Some(named) = &self.filtered_notifications else { return Ok(Vec::new()) };
        named
            .iter()
            .map(|(name, spec)| {
                let path = format!("{prefix}filtered_notifications.{name}");
                let name = FilterName::parse(name).map_err(|reason| ApiError::bad_request(&path, reason))?;
                spec.to_domain(name, &format!("{path}."))
            })
            .collect()
    }

    /// The addresses, with each field checked; `prefix` is the spec's path in the body. A legacy
    /// `incident_*_webhook_url` key is read when its `incident_*_addresses` key is absent.
    pub fn to_domain(&self, prefix: &str) -> Result<NotificationAddresses, ApiError> {
        let mut addresses = NotificationAddresses::default();
        for (status, name) in FIELDS {
            let (current, legacy) = self.slot(status);
            let (field, text) = match (current, legacy) {
                (Some(text), _) => (name.to_owned(), text),
                (None, Some(text)) => (legacy_name(name), text),
                (None, None) => continue,
            };
            addresses.set(status, Some(parse_list(&format!("{prefix}{field}"), text)?));
        }
        Ok(addresses)
    }
}

fn parse_list(field: &str, text: &str) -> Result<WebhookAddresses, ApiError> {
    WebhookAddresses::parse(text).map_err(|reason| ApiError::bad_request(field, reason))
}

fn legacy_name(field: &str) -> String {
    field.replace("_addresses", "_webhook_url")
}

/// Refuses addresses of the filters' targets that the outbound policy would never send to.
pub fn check_filters_policy(state: &AppState, filters: &[FilteredNotification], prefix: &str) -> Result<(), ApiError> {
    for filter in filters {
        check_policy(state, &filter.target, &format!("{prefix}filtered_notifications.{}.target.", filter.name))?;
    }
    Ok(())
}

/// Refuses addresses the outbound policy would never send to (as the UI does), naming the field.
pub fn check_policy(state: &AppState, addresses: &NotificationAddresses, prefix: &str) -> Result<(), ApiError> {
    match state.notifications.refused_addresses(addresses).into_iter().next() {
        None => Ok(()),
        Some((status, reason)) => {
            let name = FIELDS.iter().find(|(s, _)| *s == status).map_or("", |(_, name)| name);
            Err(ApiError::bad_request(&format!("{prefix}{name}"), reason))
        }
    }
}

impl IncidentGroupingSpec {
    pub fn from_domain(grouping: &IncidentGrouping, filters: &[FilteredNotification]) -> Self {
        let notification = IncidentNotificationSpec::from_domain(&grouping.notification, filters);
        Self {
            grouping_level: Some(grouping.grouping_level.as_str().to_owned()),
            minimum_severity: Some(grouping.minimum_severity.as_str().to_owned()),
            divide_by_data_groups: grouping.divide_by_data_groups.then_some(true),
            max_incident_length_days: Some(grouping.max_incident_length_days.get().into()),
            mute_for_days: Some(grouping.mute_for_days.get().into()),
            disabled: grouping.disabled.then_some(true),
            incident_notification: (!notification.is_empty()).then_some(notification),
            webhooks: None,
        }
    }

    /// The connection's filtered notifications this spec describes (none when absent).
    pub fn filters(&self, prefix: &str) -> Result<Vec<FilteredNotification>, ApiError> {
        match &self.incident_notification {
            Some(spec) => spec.filters(&format!("{prefix}incident_notification.")),
            None => Ok(Vec::new()),
        }
    }

    /// The settings this spec describes, DQOps' defaults filling what is absent; `prefix` is the
    /// spec's path in the body (`""`, or `"incident_grouping."` inside a connection spec).
    pub fn to_domain(&self, prefix: &str) -> Result<IncidentGrouping, ApiError> {
        let defaults = IncidentGrouping::default();
        let field = |name: &str| format!("{prefix}{name}");
        let grouping_level = match &self.grouping_level {
            None => defaults.grouping_level,
            Some(text) => text.parse().map_err(|reason| ApiError::bad_request(&field("grouping_level"), reason))?,
        };
        let minimum_severity = match &self.minimum_severity {
            None => defaults.minimum_severity,
            Some(text) => text.parse().map_err(|reason| ApiError::bad_request(&field("minimum_severity"), reason))?,
        };
        let days = |name: &str, value: Option<i64>, default: DayCount| match value {
            None => Ok(default),
            Some(days) => u32::try_from(days)
                .ok()
                .and_then(|days| DayCount::new(days).ok())
                .ok_or_else(|| ApiError::bad_request(&field(name), app::domain::DayCountError::OutOfRange)),
        };
        let mut notification = match &self.incident_notification {
            Some(spec) => spec.to_domain(&field("incident_notification."))?,
            None => NotificationAddresses::default(),
        };
        if let Some(legacy) = &self.webhooks {
            let legacy = legacy.to_domain(&field("webhooks."))?;
            notification = notification.with_defaults(&legacy);
        }
        Ok(IncidentGrouping {
            grouping_level,
            minimum_severity,
            divide_by_data_groups: self.divide_by_data_groups.unwrap_or(false),
            max_incident_length_days: days(
                "max_incident_length_days",
                self.max_incident_length_days,
                defaults.max_incident_length_days,
            )?,
            mute_for_days: days("mute_for_days", self.mute_for_days, defaults.mute_for_days)?,
            disabled: self.disabled.unwrap_or(false),
            notification,
        })
    }
}

/// DQOps' `NotificationFilterSpec`: what a filtered notification matches. Its keys are
/// lowerCamelCase, as in DQOps. Patterns take one `*` wildcard; an absent field matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFilterSpec {
    /// Connection name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Schema name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "finance")]
    pub schema: Option<String>,
    /// Table name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "fact_*")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_priority: Option<i64>,
    /// Data group name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_group_name: Option<String>,
    /// Exact, case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Completeness")]
    pub quality_dimension: Option<String>,
    /// Exact, case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_category: Option<String>,
    /// `profiling`, `monitoring` or `partitioned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_type: Option<String>,
    /// Check name pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_name: Option<String>,
    /// The incident's highest severity: 1 warning, 2 error, 3 fatal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_severity: Option<i64>,
}

/// The four addresses of a filtered notification (DQOps' `IncidentNotificationTargetSpec`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentNotificationTargetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_opened_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_acknowledged_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_resolved_addresses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_muted_addresses: Option<String>,
}

/// DQOps' `FilteredNotificationModel` (and, without `name`, its `FilteredNotificationSpec`): a
/// filter, where matching incidents go, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = FilteredNotificationModel)]
pub struct FilteredNotificationSpec {
    /// Unique on its connection (or among the global ones); no `/`; at most 200 characters. In a
    /// `filtered_notifications` map the key is the name, and this field is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "finance_tables")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<NotificationFilterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<IncidentNotificationTargetSpec>,
    /// Lower first; default 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 100)]
    pub priority: Option<i64>,
    /// Keep looking for further matching filters. Omitted when false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_additional_filters: Option<bool>,
    /// Omitted when false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Copied into the payload's `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "SLA: 4 hours")]
    pub message: Option<String>,
    /// Matching check results open no incident. Omitted when false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_create_incidents: Option<bool>,
}

impl NotificationFilterSpec {
    pub fn from_domain(filter: &NotificationFilter) -> Self {
        let text = |pattern: &Option<SearchPattern>| pattern.as_ref().map(ToString::to_string);
        Self {
            connection: text(&filter.connection),
            schema: text(&filter.schema),
            table: text(&filter.table),
            table_priority: filter.table_priority.map(i64::from),
            data_group_name: text(&filter.data_group_name),
            quality_dimension: filter.quality_dimension.clone(),
            check_category: filter.check_category.clone(),
            check_type: filter.check_type.map(|t| t.as_str().to_owned()),
            check_name: text(&filter.check_name),
            highest_severity: filter.highest_severity.map(|s| i64::from(s.level())),
        }
    }

    /// The filter, each field checked; `prefix` is the filter's path in the body.
    pub fn to_domain(&self, prefix: &str) -> Result<NotificationFilter, ApiError> {
        let field = |name: &str| format!("{prefix}{name}");
        let pattern = |name: &str, value: &Option<String>| -> Result<Option<SearchPattern>, ApiError> {
            match value {
                None => Ok(None),
                Some(text) => SearchPattern::parse(text).map_err(|reason| ApiError::bad_request(&field(name), reason)),
            }
        };
        let exact = |name: &str, value: &Option<String>| -> Result<Option<String>, ApiError> {
            match value {
                None => Ok(None),
                Some(text) => parse_exact(text).map_err(|reason| ApiError::bad_request(&field(name), reason)),
            }
        };
        let table_priority = self
            .table_priority
            .map(|p| i32::try_from(p).map_err(|_| ApiError::bad_request(&field("tablePriority"), "is out of range")))
            .transpose()?;
        let check_type = self
            .check_type
            .as_deref()
            .map(|text| text.parse::<CheckType>().map_err(|reason| ApiError::bad_request(&field("checkType"), reason)))
            .transpose()?;
        let highest_severity = self
            .highest_severity
            .map(|level| {
                u8::try_from(level)
                    .ok()
                    .and_then(|level| Severity::try_from(level).ok())
                    .filter(|severity| *severity != Severity::Valid)
                    .ok_or_else(|| {
                        ApiError::bad_request(&field("highestSeverity"), "must be 1 (warning), 2 (error) or 3 (fatal)")
                    })
            })
            .transpose()?;
        Ok(NotificationFilter {
            connection: pattern("connection", &self.connection)?,
            schema: pattern("schema", &self.schema)?,
            table: pattern("table", &self.table)?,
            table_priority,
            data_group_name: pattern("dataGroupName", &self.data_group_name)?,
            quality_dimension: exact("qualityDimension", &self.quality_dimension)?,
            check_category: exact("checkCategory", &self.check_category)?,
            check_type,
            check_name: pattern("checkName", &self.check_name)?,
            highest_severity,
        })
    }
}

impl IncidentNotificationTargetSpec {
    pub fn from_domain(addresses: &NotificationAddresses) -> Self {
        let show = |status| addresses.for_status(status).map(ToString::to_string);
        Self {
            incident_opened_addresses: show(IncidentStatus::Open),
            incident_acknowledged_addresses: show(IncidentStatus::Acknowledged),
            incident_resolved_addresses: show(IncidentStatus::Resolved),
            incident_muted_addresses: show(IncidentStatus::Muted),
        }
    }

    pub fn to_domain(&self, prefix: &str) -> Result<NotificationAddresses, ApiError> {
        let values = [
            &self.incident_opened_addresses,
            &self.incident_acknowledged_addresses,
            &self.incident_resolved_addresses,
            &self.incident_muted_addresses,
        ];
        let mut addresses = NotificationAddresses::default();
        for ((status, name), value) in FIELDS.into_iter().zip(values) {
            if let Some(text) = value {
                addresses.set(status, Some(parse_list(&format!("{prefix}{name}"), text)?));
            }
        }
        Ok(addresses)
    }
}

impl FilteredNotificationSpec {
    pub fn from_domain(filter: &FilteredNotification) -> Self {
        Self {
            name: None,
            filter: Some(NotificationFilterSpec::from_domain(&filter.filter)),
            target: Some(IncidentNotificationTargetSpec::from_domain(&filter.target)),
            priority: Some(filter.priority.into()),
            process_additional_filters: filter.process_additional_filters.then_some(true),
            disabled: filter.disabled.then_some(true),
            message: filter.message.clone(),
            do_not_create_incidents: filter.do_not_create_incidents.then_some(true),
        }
    }

    /// The filtered notification named `name`; `prefix` is its path in the body.
    pub fn to_domain(&self, name: FilterName, prefix: &str) -> Result<FilteredNotification, ApiError> {
        let field = |name: &str| format!("{prefix}{name}");
        let priority = match self.priority {
            None => FilteredNotification::DEFAULT_PRIORITY,
            Some(priority) => i32::try_from(priority).map_err(|_| {
                ApiError::bad_request(&field("priority"), "must be a whole number from -2147483648 to 2147483647")
            })?,
        };
        let message = match &self.message {
            None => None,
            Some(text) => parse_message(text).map_err(|reason| ApiError::bad_request(&field("message"), reason))?,
        };
        Ok(FilteredNotification {
            name,
            filter: self.filter.as_ref().map(|f| f.to_domain(&field("filter."))).transpose()?.unwrap_or_default(),
            target: self.target.as_ref().map(|t| t.to_domain(&field("target."))).transpose()?.unwrap_or_default(),
            priority,
            process_additional_filters: self.process_additional_filters.unwrap_or(false),
            disabled: self.disabled.unwrap_or(false),
            message,
            do_not_create_incidents: self.do_not_create_incidents.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_settings_read_as_dqops_writes_them() {
        let spec = IncidentGroupingSpec::from_domain(&IncidentGrouping::default(), &[]);
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            json!({"grouping_level": "table_dimension_category", "minimum_severity": "warning",
                   "max_incident_length_days": 60, "mute_for_days": 60})
        );
        assert_eq!(IncidentGroupingSpec::default().to_domain("").unwrap(), IncidentGrouping::default());
    }

    #[test]
    fn legacy_webhooks_fill_what_incident_notification_leaves_out() {
        let spec: IncidentGroupingSpec = serde_json::from_value(json!({
            "incident_notification": {"incident_opened_addresses": "https://new.example/opened"},
            "webhooks": {"incident_opened_webhook_url": "https://old.example/opened",
                         "incident_muted_webhook_url": "https://old.example/muted"}
        }))
        .unwrap();
        let grouping = spec.to_domain("").unwrap();
        let spec = IncidentGroupingSpec::from_domain(&grouping, &[]);
        assert_eq!(
            serde_json::to_value(spec.incident_notification).unwrap(),
            json!({"incident_opened_addresses": "https://new.example/opened",
                   "incident_muted_addresses": "https://old.example/muted"})
        );
    }

    #[test]
    fn every_wrong_field_is_named_by_its_path() {
        let cases = [
            (json!({"grouping_level": "TABLE"}), "incident_grouping.grouping_level"),
            (json!({"minimum_severity": "critical"}), "incident_grouping.minimum_severity"),
            (json!({"max_incident_length_days": -1}), "incident_grouping.max_incident_length_days"),
            (json!({"mute_for_days": 0}), "incident_grouping.mute_for_days"),
            (json!({"mute_for_days": 5_000_000_000_i64}), "incident_grouping.mute_for_days"),
            (
                json!({"incident_notification": {"incident_resolved_addresses": "not a url"}}),
                "incident_grouping.incident_notification.incident_resolved_addresses",
            ),
            (
                json!({"webhooks": {"incident_muted_webhook_url": "ftp://x"}}),
                "incident_grouping.webhooks.incident_muted_webhook_url",
            ),
        ];
        for (body, field) in cases {
            let spec: IncidentGroupingSpec = serde_json::from_value(body.clone()).unwrap();
            let error = spec.to_domain("incident_grouping.").unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{body}");
            assert!(error.error.starts_with(field), "{}", error.error);
        }
    }
}
