//! What Tocsin's HTML forms send, field by field, and how each form is parsed into domain types.
//! The server functions parse with these; the browser runs the same code for instant feedback.

use crate::domain::{
    CheckType, ConnectionName, DayCount, Description, FieldErrors, FilterName, FilteredNotification, GroupingLevel,
    IncidentGrouping, IncidentStatus, MinimumSeverity, NewConnection, NotificationAddresses, NotificationFilter,
    ProviderType, SearchPattern, Severity, WebhookAddresses, parse_exact, parse_message,
};
use serde::{Deserialize, Serialize};

/// The "Add connection" form on the Data Sources page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionForm {
    pub name: String,
    pub provider_type: String,
    #[serde(default)]
    pub description: String,
}

impl ConnectionForm {
    pub const NAME: &'static str = "name";
    pub const PROVIDER_TYPE: &'static str = "provider_type";
    pub const DESCRIPTION: &'static str = "description";

    pub fn parse(&self) -> Result<NewConnection, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check(Self::NAME, ConnectionName::parse(&self.name));
        let provider_type = errors.check(Self::PROVIDER_TYPE, self.provider_type.parse::<ProviderType>());
        let description = errors.check(Self::DESCRIPTION, Description::parse(&self.description));
        match (name, provider_type, description) {
            (Some(name), Some(provider_type), Some(description)) => {
                Ok(NewConnection { name, provider_type, description })
            }
            _ => Err(errors),
        }
    }
}

/// The Incidents and Notifications form of a connection. Checkboxes are absent when unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSettingsForm {
    pub grouping_level: String,
    pub minimum_severity: String,
    #[serde(default)]
    pub divide_by_data_groups: Option<String>,
    pub max_incident_length_days: String,
    pub mute_for_days: String,
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub incident_opened_addresses: String,
    #[serde(default)]
    pub incident_acknowledged_addresses: String,
    #[serde(default)]
    pub incident_resolved_addresses: String,
    #[serde(default)]
    pub incident_muted_addresses: String,
    /// "Notify nobody" for a status: with the field empty, the global default is not used either
    /// (DQOps' empty string). Checkboxes, absent when unchecked.
    #[serde(default)]
    pub nobody_opened: Option<String>,
    #[serde(default)]
    pub nobody_acknowledged: Option<String>,
    #[serde(default)]
    pub nobody_resolved: Option<String>,
    #[serde(default)]
    pub nobody_muted: Option<String>,
}

impl IncidentSettingsForm {
    pub const GROUPING_LEVEL: &'static str = "grouping_level";
    pub const MINIMUM_SEVERITY: &'static str = "minimum_severity";
    pub const DIVIDE_BY_DATA_GROUPS: &'static str = "divide_by_data_groups";
    pub const MAX_INCIDENT_LENGTH_DAYS: &'static str = "max_incident_length_days";
    pub const MUTE_FOR_DAYS: &'static str = "mute_for_days";
    pub const ENABLED: &'static str = "enabled";

    /// The form field holding the addresses notified when an incident enters `status`.
    pub fn address_field(status: IncidentStatus) -> &'static str {
        match status {
            IncidentStatus::Open => "incident_opened_addresses",
            IncidentStatus::Acknowledged => "incident_acknowledged_addresses",
            IncidentStatus::Resolved => "incident_resolved_addresses",
            IncidentStatus::Muted => "incident_muted_addresses",
        }
    }

    pub fn addresses(&self, status: IncidentStatus) -> &str {
        match status {
            IncidentStatus::Open => &self.incident_opened_addresses,
            IncidentStatus::Acknowledged => &self.incident_acknowledged_addresses,
            IncidentStatus::Resolved => &self.incident_resolved_addresses,
            IncidentStatus::Muted => &self.incident_muted_addresses,
        }
    }

    /// The checkbox that blocks the global default for `status`.
    pub fn nobody_field(status: IncidentStatus) -> &'static str {
        match status {
            IncidentStatus::Open => "nobody_opened",
            IncidentStatus::Acknowledged => "nobody_acknowledged",
            IncidentStatus::Resolved => "nobody_resolved",
            IncidentStatus::Muted => "nobody_muted",
        }
    }

    pub fn nobody(&self, status: IncidentStatus) -> bool {
        match status {
            IncidentStatus::Open => self.nobody_opened.is_some(),
            IncidentStatus::Acknowledged => self.nobody_acknowledged.is_some(),
            IncidentStatus::Resolved => self.nobody_resolved.is_some(),
            IncidentStatus::Muted => self.nobody_muted.is_some(),
        }
    }

    /// The form as it shows `settings`.
    pub fn from_settings(settings: &IncidentGrouping) -> Self {
        let show = |status| settings.notification.for_status(status).map(ToString::to_string).unwrap_or_default();
        let nobody =
            |status| settings.notification.for_status(status).is_some_and(|a| a.is_empty()).then(|| "on".to_owned());
        Self {
            grouping_level: settings.grouping_level.as_str().to_owned(),
            minimum_severity: settings.minimum_severity.as_str().to_owned(),
            divide_by_data_groups: settings.divide_by_data_groups.then(|| "on".to_owned()),
            max_incident_length_days: settings.max_incident_length_days.to_string(),
            mute_for_days: settings.mute_for_days.to_string(),
            enabled: (!settings.disabled).then(|| "on".to_owned()),
            incident_opened_addresses: show(IncidentStatus::Open),
            incident_acknowledged_addresses: show(IncidentStatus::Acknowledged),
            incident_resolved_addresses: show(IncidentStatus::Resolved),
            incident_muted_addresses: show(IncidentStatus::Muted),
            nobody_opened: nobody(IncidentStatus::Open),
            nobody_acknowledged: nobody(IncidentStatus::Acknowledged),
            nobody_resolved: nobody(IncidentStatus::Resolved),
            nobody_muted: nobody(IncidentStatus::Muted),
        }
    }

    /// Parses one address field. An empty field means "not set".
    pub fn parse_addresses(input: &str) -> Result<Option<WebhookAddresses>, String> {
        match WebhookAddresses::parse(input) {
            Ok(addresses) if addresses.is_empty() => Ok(None),
            Ok(addresses) => Ok(Some(addresses)),
            Err(error) => Err(error.to_string()),
        }
    }

    pub fn parse(&self) -> Result<IncidentGrouping, FieldErrors> {
        let mut errors = FieldErrors::new();
        let grouping_level = errors.check(Self::GROUPING_LEVEL, self.grouping_level.parse::<GroupingLevel>());
        let minimum_severity = errors.check(Self::MINIMUM_SEVERITY, self.minimum_severity.parse::<MinimumSeverity>());
        let max_incident_length_days =
            errors.check(Self::MAX_INCIDENT_LENGTH_DAYS, DayCount::parse(&self.max_incident_length_days));
        let mute_for_days = errors.check(Self::MUTE_FOR_DAYS, DayCount::parse(&self.mute_for_days));
        let mut notification = NotificationAddresses::default();
        for status in IncidentStatus::ALL {
            let parsed = Self::parse_addresses(self.addresses(status));
            if let Some(addresses) = errors.check(Self::address_field(status), parsed) {
                // An empty field with "notify nobody" is DQOps' empty string: no default either.
                let addresses = match addresses {
                    None if self.nobody(status) => Some(WebhookAddresses::default()),
                    other => other,
                };
                notification.set(status, addresses);
            }
        }
        match (grouping_level, minimum_severity, max_incident_length_days, mute_for_days) {
            (Some(grouping_level), Some(minimum_severity), Some(max_incident_length_days), Some(mute_for_days))
                if errors.is_empty() =>
            {
                Ok(IncidentGrouping {
                    grouping_level,
                    minimum_severity,
                    divide_by_data_groups: self.divide_by_data_groups.is_some(),
                    max_incident_length_days,
                    mute_for_days,
                    disabled: self.enabled.is_none(),
                    notification,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The Global incident notifications form: the four default addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultNotificationsForm {
    #[serde(default)]
    pub incident_opened_addresses: String,
    #[serde(default)]
    pub incident_acknowledged_addresses: String,
    #[serde(default)]
    pub incident_resolved_addresses: String,
    #[serde(default)]
    pub incident_muted_addresses: String,
}

impl DefaultNotificationsForm {
    pub const FIELDS: &'static [&'static str] = &[
        "incident_opened_addresses",
        "incident_acknowledged_addresses",
        "incident_resolved_addresses",
        "incident_muted_addresses",
    ];

    pub fn addresses(&self, status: IncidentStatus) -> &str {
        match status {
            IncidentStatus::Open => &self.incident_opened_addresses,
            IncidentStatus::Acknowledged => &self.incident_acknowledged_addresses,
            IncidentStatus::Resolved => &self.incident_resolved_addresses,
            IncidentStatus::Muted => &self.incident_muted_addresses,
        }
    }

    pub fn from_addresses(addresses: &NotificationAddresses) -> Self {
        let show = |status| addresses.for_status(status).map(ToString::to_string).unwrap_or_default();
        Self {
            incident_opened_addresses: show(IncidentStatus::Open),
            incident_acknowledged_addresses: show(IncidentStatus::Acknowledged),
            incident_resolved_addresses: show(IncidentStatus::Resolved),
            incident_muted_addresses: show(IncidentStatus::Muted),
        }
    }

    /// An empty field means "no default" for that status.
    pub fn parse(&self) -> Result<NotificationAddresses, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut addresses = NotificationAddresses::default();
        for status in IncidentStatus::ALL {
            let parsed = IncidentSettingsForm::parse_addresses(self.addresses(status));
            if let Some(parsed) = errors.check(IncidentSettingsForm::address_field(status), parsed) {
                addresses.set(status, parsed);
            }
        }
        if errors.is_empty() { Ok(addresses) } else { Err(errors) }
    }
}

/// The form of a filtered notification. Checkboxes are absent when unchecked; empty fields are
/// no constraint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterForm {
    pub name: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub connection: String,
    #[serde(default)]
    pub schema: String,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub table_priority: String,
    #[serde(default)]
    pub data_group_name: String,
    #[serde(default)]
    pub quality_dimension: String,
    #[serde(default)]
    pub check_category: String,
    #[serde(default)]
    pub check_type: String,
    #[serde(default)]
    pub check_name: String,
    #[serde(default)]
    pub highest_severity: String,
    #[serde(default)]
    pub incident_opened_addresses: String,
    #[serde(default)]
    pub incident_acknowledged_addresses: String,
    #[serde(default)]
    pub incident_resolved_addresses: String,
    #[serde(default)]
    pub incident_muted_addresses: String,
    #[serde(default)]
    pub process_additional_filters: Option<String>,
    #[serde(default)]
    pub disabled: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub do_not_create_incidents: Option<String>,
}

impl FilterForm {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "priority",
        "connection",
        "schema",
        "table",
        "table_priority",
        "data_group_name",
        "quality_dimension",
        "check_category",
        "check_type",
        "check_name",
        "highest_severity",
        "incident_opened_addresses",
        "incident_acknowledged_addresses",
        "incident_resolved_addresses",
        "incident_muted_addresses",
        "message",
    ];

    pub fn addresses(&self, status: IncidentStatus) -> &str {
        match status {
            IncidentStatus::Open => &self.incident_opened_addresses,
            IncidentStatus::Acknowledged => &self.incident_acknowledged_addresses,
            IncidentStatus::Resolved => &self.incident_resolved_addresses,
            IncidentStatus::Muted => &self.incident_muted_addresses,
        }
    }

    /// The form as it shows `filter` (a new one: DQOps' defaults).
    pub fn from_filter(filter: &FilteredNotification) -> Self {
        let text = |pattern: &Option<SearchPattern>| pattern.as_ref().map(ToString::to_string).unwrap_or_default();
        let show = |status| filter.target.for_status(status).map(ToString::to_string).unwrap_or_default();
        let f = &filter.filter;
        Self {
            name: filter.name.to_string(),
            priority: filter.priority.to_string(),
            connection: text(&f.connection),
            schema: text(&f.schema),
            table: text(&f.table),
            table_priority: f.table_priority.map(|p| p.to_string()).unwrap_or_default(),
            data_group_name: text(&f.data_group_name),
            quality_dimension: f.quality_dimension.clone().unwrap_or_default(),
            check_category: f.check_category.clone().unwrap_or_default(),
            check_type: f.check_type.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            check_name: text(&f.check_name),
            highest_severity: f.highest_severity.map(|s| s.level().to_string()).unwrap_or_default(),
            incident_opened_addresses: show(IncidentStatus::Open),
            incident_acknowledged_addresses: show(IncidentStatus::Acknowledged),
            incident_resolved_addresses: show(IncidentStatus::Resolved),
            incident_muted_addresses: show(IncidentStatus::Muted),
            process_additional_filters: filter.process_additional_filters.then(|| "on".to_owned()),
            disabled: filter.disabled.then(|| "on".to_owned()),
            message: filter.message.clone().unwrap_or_default(),
            do_not_create_incidents: filter.do_not_create_incidents.then(|| "on".to_owned()),
        }
    }

    pub fn parse_priority(input: &str) -> Result<i32, String> {
        match input.trim() {
            "" => Ok(FilteredNotification::DEFAULT_PRIORITY),
            text => text.parse().map_err(|_| "must be a whole number (lower is tried first)".to_owned()),
        }
    }

    pub fn parse_table_priority(input: &str) -> Result<Option<i32>, String> {
        match input.trim() {
            "" => Ok(None),
            text => text.parse().map(Some).map_err(|_| "must be a whole number".to_owned()),
        }
    }

    pub fn parse_check_type(input: &str) -> Result<Option<CheckType>, String> {
        match input.trim() {
            "" => Ok(None),
            text => text.parse::<CheckType>().map(Some).map_err(|error| error.to_string()),
        }
    }

    pub fn parse_severity(input: &str) -> Result<Option<Severity>, String> {
        match input.trim() {
            "" => Ok(None),
            "1" => Ok(Some(Severity::Warning)),
            "2" => Ok(Some(Severity::Error)),
            "3" => Ok(Some(Severity::Fatal)),
            _ => Err("must be warning (1), error (2) or fatal (3)".to_owned()),
        }
    }

    pub fn parse(&self) -> Result<FilteredNotification, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", FilterName::parse(&self.name));
        let priority = errors.check("priority", Self::parse_priority(&self.priority));
        let mut pattern = |field: &'static str, text: &str| errors.check(field, SearchPattern::parse(text)).flatten();
        let connection = pattern("connection", &self.connection);
        let schema = pattern("schema", &self.schema);
        let table = pattern("table", &self.table);
        let data_group_name = pattern("data_group_name", &self.data_group_name);
        let check_name = pattern("check_name", &self.check_name);
        let filter = NotificationFilter {
            connection,
            schema,
            table,
            table_priority: errors.check("table_priority", Self::parse_table_priority(&self.table_priority)).flatten(),
            data_group_name,
            quality_dimension: errors.check("quality_dimension", parse_exact(&self.quality_dimension)).flatten(),
            check_category: errors.check("check_category", parse_exact(&self.check_category)).flatten(),
            check_type: errors.check("check_type", Self::parse_check_type(&self.check_type)).flatten(),
            check_name,
            highest_severity: errors.check("highest_severity", Self::parse_severity(&self.highest_severity)).flatten(),
        };
        let mut target = NotificationAddresses::default();
        for status in IncidentStatus::ALL {
            let parsed = IncidentSettingsForm::parse_addresses(self.addresses(status));
            if let Some(parsed) = errors.check(IncidentSettingsForm::address_field(status), parsed) {
                target.set(status, parsed);
            }
        }
        let message = errors.check("message", parse_message(&self.message)).flatten();
        match (name, priority) {
            (Some(name), Some(priority)) if errors.is_empty() => Ok(FilteredNotification {
                name,
                filter,
                target,
                priority,
                process_additional_filters: self.process_additional_filters.is_some(),
                disabled: self.disabled.is_some(),
                message,
                do_not_create_incidents: self.do_not_create_incidents.is_some(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_form() -> IncidentSettingsForm {
        IncidentSettingsForm {
            grouping_level: "table_dimension".into(),
            minimum_severity: "error".into(),
            divide_by_data_groups: Some("on".into()),
            max_incident_length_days: "30".into(),
            mute_for_days: "7".into(),
            enabled: None,
            incident_opened_addresses: "https://hooks.slack.com/services/T1/B1/x, https://example.com/h".into(),
            incident_acknowledged_addresses: String::new(),
            incident_resolved_addresses: "https://example.com/resolved".into(),
            incident_muted_addresses: " ".into(),
            ..Default::default()
        }
    }

    #[test]
    fn notify_nobody_turns_an_empty_field_into_a_block_of_the_global_default() {
        let form = IncidentSettingsForm {
            nobody_muted: Some("on".into()),
            nobody_resolved: Some("on".into()),
            ..valid_form()
        };
        let grouping = form.parse().unwrap();
        assert_eq!(grouping.notification.muted, Some(WebhookAddresses::default()), "empty + nobody: blocked");
        assert_eq!(grouping.notification.acknowledged, None, "empty: not set");
        assert_eq!(
            grouping.notification.resolved.as_ref().map(ToString::to_string).as_deref(),
            Some("https://example.com/resolved"),
            "an address wins over the checkbox"
        );
        let shown = IncidentSettingsForm::from_settings(&grouping);
        assert!(shown.nobody(IncidentStatus::Muted) && !shown.nobody(IncidentStatus::Acknowledged));
        assert!(!shown.nobody(IncidentStatus::Resolved));
    }

    #[test]
    fn a_valid_settings_form_parses_into_grouping_settings() {
        let settings = valid_form().parse().unwrap();
        assert_eq!(settings.grouping_level, GroupingLevel::TableDimension);
        assert_eq!(settings.minimum_severity, MinimumSeverity::Error);
        assert!(settings.divide_by_data_groups);
        assert!(settings.disabled, "an unchecked 'enable' box disables incident creation");
        assert_eq!(settings.max_incident_length_days.get(), 30);
        assert_eq!(settings.mute_for_days.get(), 7);
        assert_eq!(settings.notification.opened.as_ref().map(|a| a.urls().len()), Some(2));
        assert_eq!(settings.notification.acknowledged, None);
        assert_eq!(settings.notification.muted, None);
        assert_eq!(IncidentSettingsForm::from_settings(&settings).parse(), Ok(settings));
    }

    #[test]
    fn every_wrong_settings_field_is_named() {
        let form = IncidentSettingsForm {
            grouping_level: "by_table".into(),
            minimum_severity: "low".into(),
            max_incident_length_days: "0".into(),
            mute_for_days: "x".into(),
            incident_acknowledged_addresses: "ftp://example.com".into(),
            ..valid_form()
        };
        let errors = form.parse().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "grouping_level",
                "incident_acknowledged_addresses",
                "max_incident_length_days",
                "minimum_severity",
                "mute_for_days"
            ]
        );
        assert_eq!(errors.get("max_incident_length_days"), Some("must be between 1 and 3650 days"));
    }

    #[test]
    fn a_connection_form_names_its_wrong_fields() {
        let form =
            ConnectionForm { name: "bad name".into(), provider_type: "nosql".into(), description: String::new() };
        let errors = form.parse().unwrap_err();
        assert!(errors.get("name").is_some());
        assert!(errors.get("provider_type").is_some());
        assert_eq!(errors.get("description"), None);
        let ok = ConnectionForm { name: "dwh".into(), provider_type: "duckdb".into(), description: "x".into() };
        assert_eq!(ok.parse().unwrap().provider_type, ProviderType::Duckdb);
    }

    #[test]
    fn the_default_notifications_form_names_each_wrong_address() {
        let form = DefaultNotificationsForm {
            incident_opened_addresses: "https://a.example/o".into(),
            incident_muted_addresses: "not a url".into(),
            ..Default::default()
        };
        let errors = form.parse().unwrap_err();
        assert_eq!(errors.iter().map(|(field, _)| field.to_owned()).collect::<Vec<_>>(), ["incident_muted_addresses"]);
        let form = DefaultNotificationsForm { incident_muted_addresses: String::new(), ..form };
        let addresses = form.parse().unwrap();
        assert_eq!(addresses.opened.unwrap().to_string(), "https://a.example/o");
        assert_eq!(addresses.muted, None, "an empty field sets no default");
        assert_eq!(DefaultNotificationsForm::from_addresses(&NotificationAddresses::default()), Default::default());
    }
}
