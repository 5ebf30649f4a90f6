//! Filtered notifications (DQOps' `FilteredNotificationSpec`) and how a transition is routed to
//! addresses: connection filters before global ones, each by priority, the first match winning
//! unless it asks to go on, and the connection's (default-merged) addresses when nothing
//! matched or every match went on (DQOps §3.5).

use super::{CheckResult, CheckType, Incident, IncidentStatus, NotificationAddresses, Severity, WebhookUrl};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A DQOps search pattern: exact text, or one `*` wildcard as a prefix (`fact_*`), a suffix
/// (`*_eu`), both (`*sales*`) or inside (`fact_*_eu`). Case-sensitive. An absent value never
/// matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SearchPattern(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must be at most {0} characters long")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not contain '/'")]
    Slash,
    #[error("must not contain spaces")]
    Space,
    #[error("is required")]
    Empty,
}

fn bounded(input: &str, max: usize) -> Result<String, TextError> {
    let text = input.trim();
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(text.to_owned())
}

impl SearchPattern {
    pub const MAX_LEN: usize = 200;

    /// `None` for an empty pattern, which DQOps ignores.
    pub fn parse(input: &str) -> Result<Option<Self>, TextError> {
        let text = bounded(input, Self::MAX_LEN)?;
        Ok((!text.is_empty()).then_some(Self(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, value: Option<&str>) -> bool {
        let Some(value) = value else { return false };
        let pattern = self.0.as_str();
        let (Some(first), Some(last)) = (pattern.find('*'), pattern.rfind('*')) else {
            return value == pattern;
        };
        let end = pattern.len() - 1;
        if first != last && first == 0 && last == end {
            // `*text*`: contains (inner stars are plain text).
            return value.contains(&pattern[1..end]);
        }
        // One wildcard: the last when the pattern ends with one, otherwise the first.
        let star = if last == end { last } else { first };
        let (prefix, suffix) = (&pattern[..star], &pattern[star + 1..]);
        value.len() >= prefix.len() + suffix.len() && value.starts_with(prefix) && value.ends_with(suffix)
    }
}

impl fmt::Display for SearchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SearchPattern {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)?.ok_or(TextError::Empty)
    }
}

impl From<SearchPattern> for String {
    fn from(pattern: SearchPattern) -> Self {
        pattern.0
    }
}

/// A filtered notification's name: unique per connection (or among the global ones), at most
/// 200 characters, no control characters and no `/` (it is a segment of REST paths).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FilterName(String);

impl FilterName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let text = bounded(input, Self::MAX_LEN)?;
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.contains('/') {
            return Err(TextError::Slash);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FilterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FilterName {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FilterName> for String {
    fn from(name: FilterName) -> Self {
        name.0
    }
}

/// A filter's message, copied into the payload (an SLA note, the purpose…): at most 2000 characters.
pub fn parse_message(input: &str) -> Result<Option<String>, TextError> {
    let text = input.trim();
    if text.chars().count() > 2000 {
        return Err(TextError::TooLong(2000));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(TextError::ControlCharacter);
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Exact values (a quality dimension, a check category) are bounded like patterns.
pub fn parse_exact(input: &str) -> Result<Option<String>, TextError> {
    let text = bounded(input, SearchPattern::MAX_LEN)?;
    Ok((!text.is_empty()).then_some(text))
}

/// What a filter looks at (DQOps' `NotificationFilterSpec`); an absent field matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationFilter {
    pub connection: Option<SearchPattern>,
    pub schema: Option<SearchPattern>,
    pub table: Option<SearchPattern>,
    pub table_priority: Option<i32>,
    pub data_group_name: Option<SearchPattern>,
    /// Exact, case-sensitive.
    pub quality_dimension: Option<String>,
    /// Exact, case-sensitive.
    pub check_category: Option<String>,
    /// Unlike in DQOps, where a filter on the check type never matches, this one does.
    pub check_type: Option<CheckType>,
    pub check_name: Option<SearchPattern>,
    /// The incident's highest severity at the transition.
    pub highest_severity: Option<Severity>,
}

/// The facts of an incident (or of the check result about to open one) that filters look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentFacts<'a> {
    pub connection: &'a str,
    pub schema: &'a str,
    pub table: &'a str,
    pub table_priority: Option<i32>,
    pub data_group: Option<&'a str>,
    pub quality_dimension: Option<&'a str>,
    pub check_category: Option<&'a str>,
    pub check_type: Option<CheckType>,
    pub check_name: Option<&'a str>,
    pub highest_severity: Severity,
}

impl<'a> IncidentFacts<'a> {
    pub fn of_incident(incident: &'a Incident) -> Self {
        Self {
            connection: incident.connection.as_str(),
            schema: &incident.schema,
            table: &incident.table,
            table_priority: incident.table_priority,
            data_group: incident.data_group.as_deref(),
            quality_dimension: incident.quality_dimension.as_deref(),
            check_category: incident.check_category.as_deref(),
            check_type: incident.check_type,
            check_name: incident.check_name.as_deref(),
            highest_severity: incident.highest_severity,
        }
    }

    /// The incident a check result would open, as DQOps probes it before creating one.
    pub fn of_result(connection: &'a str, result: &'a CheckResult) -> Self {
        Self {
            connection,
            schema: &result.schema,
            table: &result.table,
            table_priority: result.table_priority,
            data_group: result.data_group.as_deref(),
            quality_dimension: Some(&result.quality_dimension),
            check_category: Some(&result.check_category),
            check_type: Some(result.check_type),
            check_name: Some(&result.check_name),
            highest_severity: result.severity,
        }
    }
}

impl NotificationFilter {
    pub fn matches(&self, facts: &IncidentFacts<'_>) -> bool {
        fn pattern(pattern: &Option<SearchPattern>, value: Option<&str>) -> bool {
            pattern.as_ref().is_none_or(|pattern| pattern.matches(value))
        }
        fn exact<T: PartialEq>(wanted: &Option<T>, value: Option<T>) -> bool {
            wanted.as_ref().is_none_or(|wanted| value.as_ref() == Some(wanted))
        }
        pattern(&self.connection, Some(facts.connection))
            && pattern(&self.schema, Some(facts.schema))
            && pattern(&self.table, Some(facts.table))
            && exact(&self.table_priority, facts.table_priority)
            && pattern(&self.data_group_name, facts.data_group)
            && exact(&self.quality_dimension.as_deref(), facts.quality_dimension)
            && exact(&self.check_category.as_deref(), facts.check_category)
            && exact(&self.check_type, facts.check_type)
            && pattern(&self.check_name, facts.check_name)
            && exact(&self.highest_severity, Some(facts.highest_severity))
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A named filter with the addresses it routes matching incidents to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilteredNotification {
    pub name: FilterName,
    pub filter: NotificationFilter,
    pub target: NotificationAddresses,
    /// Lower first; DQOps' default is 1000.
    pub priority: i32,
    /// Keep looking for further matching filters after this one.
    pub process_additional_filters: bool,
    pub disabled: bool,
    /// Copied into the payload's `message`.
    pub message: Option<String>,
    /// A matching check result is stored but opens no incident.
    pub do_not_create_incidents: bool,
}

impl FilteredNotification {
    pub const DEFAULT_PRIORITY: i32 = 1000;

    pub fn new(name: FilterName) -> Self {
        Self {
            name,
            filter: NotificationFilter::default(),
            target: NotificationAddresses::default(),
            priority: Self::DEFAULT_PRIORITY,
            process_additional_filters: false,
            disabled: false,
            message: None,
            do_not_create_incidents: false,
        }
    }
}

/// Where the filters live: on a connection, or global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilterScope {
    Connection,
    Global,
}

/// Whose filters: a connection's, or the global ones.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilterOwner {
    Connection(super::ConnectionName),
    Global,
}

/// Who decided a route: a filter (and where it lives), or the plain addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteSource {
    Filter(FilterScope, FilterName),
    /// The connection's addresses, with the global defaults filling what it leaves unset.
    Defaults,
}

impl RouteSource {
    /// How it is stored and shown: `filter:<name>`, `global filter:<name>` or `defaults`.
    pub fn label(&self) -> String {
        match self {
            Self::Filter(FilterScope::Connection, name) => format!("filter:{name}"),
            Self::Filter(FilterScope::Global, name) => format!("global filter:{name}"),
            Self::Defaults => "defaults".to_owned(),
        }
    }

    /// In words, for people: `filter “finance”`, `global filter “on-call”` or `default addresses`.
    pub fn describe(&self) -> String {
        match self {
            Self::Filter(FilterScope::Connection, name) => format!("filter “{name}”"),
            Self::Filter(FilterScope::Global, name) => format!("global filter “{name}”"),
            Self::Defaults => "default addresses".to_owned(),
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        if label == "defaults" {
            return Some(Self::Defaults);
        }
        let (scope, name) = match label.split_once(':')? {
            ("filter", name) => (FilterScope::Connection, name),
            ("global filter", name) => (FilterScope::Global, name),
            _ => return None,
        };
        FilterName::parse(name).ok().map(|name| Self::Filter(scope, name))
    }
}

/// One address to notify, with what decided it and the message to carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub url: WebhookUrl,
    pub source: RouteSource,
    pub message: Option<String>,
}

/// The filters that apply to a connection's incidents, and its effective plain addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routing {
    pub connection_filters: Vec<FilteredNotification>,
    pub global_filters: Vec<FilteredNotification>,
    /// The connection's addresses merged with the global defaults.
    pub addresses: NotificationAddresses,
}

impl Routing {
    /// The enabled filters that match, connection ones first, each group by priority.
    fn matching<'a>(
        &'a self,
        facts: &'a IncidentFacts<'_>,
    ) -> impl Iterator<Item = (FilterScope, &'a FilteredNotification)> {
        let by_priority = |filters: &'a [FilteredNotification], scope| {
            let mut sorted: Vec<&FilteredNotification> = filters.iter().collect();
            // Stable: filters of equal priority keep their stored order.
            sorted.sort_by_key(|filter| filter.priority);
            sorted.into_iter().map(move |filter| (scope, filter))
        };
        by_priority(&self.connection_filters, FilterScope::Connection)
            .chain(by_priority(&self.global_filters, FilterScope::Global))
            .filter(move |(_, filter)| !filter.disabled && filter.filter.matches(facts))
    }

    /// True when no transition into `status` can notify anyone, whatever the incident.
    pub fn is_silent(&self, status: IncidentStatus) -> bool {
        self.connection_filters.iter().chain(&self.global_filters).all(|filter| filter.disabled)
            && self.addresses.for_status(status).is_none_or(|addresses| addresses.is_empty())
    }

    /// Whether the first matching filter says not to open an incident for these facts.
    pub fn suppresses_incident(&self, facts: &IncidentFacts<'_>) -> bool {
        self.matching(facts).next().is_some_and(|(_, filter)| filter.do_not_create_incidents)
    }

    /// Where a transition of an incident with `facts` into `status` is sent, each address once
    /// (the first route to it wins), in order.
    pub fn route(&self, facts: &IncidentFacts<'_>, status: IncidentStatus) -> Vec<Route> {
        let mut chosen: Vec<(RouteSource, Option<&str>, Option<&super::WebhookAddresses>)> = Vec::new();
        let mut went_on = true;
        for (scope, filter) in self.matching(facts) {
            chosen.push((
                RouteSource::Filter(scope, filter.name.clone()),
                filter.message.as_deref(),
                filter.target.for_status(status),
            ));
            if !filter.process_additional_filters {
                went_on = false;
                break;
            }
        }
        if went_on {
            chosen.push((RouteSource::Defaults, None, self.addresses.for_status(status)));
        }
        let mut routes: Vec<Route> = Vec::new();
        for (source, message, addresses) in chosen {
            for url in addresses.map(|a| a.urls()).unwrap_or_default() {
                if routes.iter().all(|route| route.url != *url) {
                    routes.push(Route {
                        url: url.clone(),
                        source: source.clone(),
                        message: message.map(str::to_owned),
                    });
                }
            }
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WebhookAddresses;

    fn pattern(text: &str) -> Option<SearchPattern> {
        SearchPattern::parse(text).unwrap()
    }

    #[test]
    fn search_patterns_follow_dqops_wildcards() {
        let cases = [
            ("fact_sales", "fact_sales", true),
            ("fact_sales", "fact_sales_eu", false),
            ("fact_sales", "Fact_sales", false),
            ("fact_*", "fact_sales", true),
            ("fact_*", "fact_", true),
            ("fact_*", "dim_fact", false),
            ("*_eu", "sales_eu", true),
            ("*_eu", "sales_eu_old", false),
            ("*sales*", "fact_sales_eu", true),
            ("*sales*", "fact_orders", false),
            ("fact_*_eu", "fact_sales_eu", true),
            ("fact_*_eu", "fact_sales_us", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*", "anything", true),
            ("a*b*c", "a*b*c", true),
            ("a*b*c", "axb*c", true),
            ("a*b*c", "axbyc", false),
        ];
        for (text, value, expected) in cases {
            assert_eq!(pattern(text).unwrap().matches(Some(value)), expected, "{text} vs {value}");
        }
        assert!(!pattern("*").unwrap().matches(None), "an absent value never matches");
        assert_eq!(SearchPattern::parse("  ").unwrap(), None, "an empty pattern is no pattern");
        assert_eq!(SearchPattern::parse("a\u{7}"), Err(TextError::ControlCharacter));
    }

    fn facts() -> IncidentFacts<'static> {
        IncidentFacts {
            connection: "dwh",
            schema: "finance",
            table: "fact_ledger",
            table_priority: Some(2),
            data_group: None,
            quality_dimension: Some("Completeness"),
            check_category: Some("nulls"),
            check_type: Some(CheckType::Monitoring),
            check_name: Some("daily_nulls_percent"),
            highest_severity: Severity::Error,
        }
    }

    #[test]
    fn each_filter_field_alone_matches_and_misses() {
        type Case = (NotificationFilter, bool);
        let f = NotificationFilter::default;
        let cases: Vec<Case> = vec![
            (f(), true),
            (NotificationFilter { connection: pattern("dw*"), ..f() }, true),
            (NotificationFilter { connection: pattern("crm"), ..f() }, false),
            (NotificationFilter { schema: pattern("finance"), ..f() }, true),
            (NotificationFilter { schema: pattern("sales"), ..f() }, false),
            (NotificationFilter { table: pattern("fact_*"), ..f() }, true),
            (NotificationFilter { table: pattern("dim_*"), ..f() }, false),
            (NotificationFilter { table_priority: Some(2), ..f() }, true),
            (NotificationFilter { table_priority: Some(1), ..f() }, false),
            (NotificationFilter { data_group_name: pattern("*"), ..f() }, false),
            (NotificationFilter { quality_dimension: Some("Completeness".into()), ..f() }, true),
            (NotificationFilter { quality_dimension: Some("completeness".into()), ..f() }, false),
            (NotificationFilter { check_category: Some("nulls".into()), ..f() }, true),
            (NotificationFilter { check_category: Some("volume".into()), ..f() }, false),
            (NotificationFilter { check_type: Some(CheckType::Monitoring), ..f() }, true),
            (NotificationFilter { check_type: Some(CheckType::Partitioned), ..f() }, false),
            (NotificationFilter { check_name: pattern("*nulls*"), ..f() }, true),
            (NotificationFilter { check_name: pattern("row_count"), ..f() }, false),
            (NotificationFilter { highest_severity: Some(Severity::Error), ..f() }, true),
            (NotificationFilter { highest_severity: Some(Severity::Fatal), ..f() }, false),
        ];
        for (filter, expected) in cases {
            assert_eq!(filter.matches(&facts()), expected, "{filter:?}");
        }
        let with_group = IncidentFacts { data_group: Some("country=DE"), ..facts() };
        assert!(NotificationFilter { data_group_name: pattern("country=*"), ..f() }.matches(&with_group));
    }

    fn addresses(status: IncidentStatus, urls: &str) -> NotificationAddresses {
        let mut addresses = NotificationAddresses::default();
        addresses.set(status, Some(WebhookAddresses::parse(urls).unwrap()));
        addresses
    }

    fn filter(name: &str, priority: i32, filter: NotificationFilter, url: &str) -> FilteredNotification {
        FilteredNotification {
            priority,
            filter,
            target: addresses(IncidentStatus::Open, url),
            ..FilteredNotification::new(FilterName::parse(name).unwrap())
        }
    }

    fn sent(routing: &Routing, facts: &IncidentFacts<'_>) -> Vec<(String, String)> {
        routing
            .route(facts, IncidentStatus::Open)
            .into_iter()
            .map(|route| (route.url.as_str().to_owned(), route.source.label()))
            .collect()
    }

    fn pair(url: &str, source: &str) -> (String, String) {
        (url.to_owned(), source.to_owned())
    }

    #[test]
    fn the_first_match_by_priority_wins_connection_filters_before_global_ones() {
        let finance = NotificationFilter { schema: pattern("finance"), ..Default::default() };
        let routing = Routing {
            connection_filters: vec![
                filter("late", 200, finance.clone(), "https://c.example/late"),
                filter("early", 100, finance.clone(), "https://c.example/early"),
            ],
            global_filters: vec![filter("global", 1, finance.clone(), "https://g.example/global")],
            addresses: addresses(IncidentStatus::Open, "https://d.example/defaults"),
        };
        assert_eq!(sent(&routing, &facts()), [pair("https://c.example/early", "filter:early")]);
        let elsewhere = IncidentFacts { schema: "sales", ..facts() };
        assert_eq!(sent(&routing, &elsewhere), [pair("https://d.example/defaults", "defaults")], "no match");
    }

    #[test]
    fn process_additional_filters_chains_and_the_defaults_join_only_when_every_match_went_on() {
        let any = NotificationFilter::default();
        let fatal = NotificationFilter { highest_severity: Some(Severity::Fatal), ..Default::default() };
        let mut first = filter("finance", 1, any.clone(), "https://c.example/finance");
        first.process_additional_filters = true;
        first.message = Some("SLA: 4 hours".into());
        let routing = Routing {
            connection_filters: vec![first.clone()],
            global_filters: vec![filter("on-call", 5, fatal, "https://g.example/oncall")],
            addresses: addresses(IncidentStatus::Open, "https://d.example/defaults"),
        };
        // Error: only the chaining filter matched, so the defaults join.
        assert_eq!(
            sent(&routing, &facts()),
            [pair("https://c.example/finance", "filter:finance"), pair("https://d.example/defaults", "defaults")]
        );
        // Fatal: the global filter matched too and did not ask to go on: no defaults.
        let fatal_facts = IncidentFacts { highest_severity: Severity::Fatal, ..facts() };
        assert_eq!(
            sent(&routing, &fatal_facts),
            [
                pair("https://c.example/finance", "filter:finance"),
                pair("https://g.example/oncall", "global filter:on-call")
            ]
        );
        let routes = routing.route(&fatal_facts, IncidentStatus::Open);
        assert_eq!(routes[0].message.as_deref(), Some("SLA: 4 hours"));
        assert_eq!(routes[1].message, None);
    }

    #[test]
    fn disabled_filters_are_skipped_and_a_status_without_target_sends_nothing() {
        let mut off = filter("off", 1, NotificationFilter::default(), "https://c.example/off");
        off.disabled = true;
        let quiet = filter("quiet", 2, NotificationFilter::default(), "https://c.example/quiet");
        let routing = Routing {
            connection_filters: vec![off, quiet],
            global_filters: vec![],
            addresses: addresses(IncidentStatus::Acknowledged, "https://d.example/ack"),
        };
        assert_eq!(sent(&routing, &facts()), [pair("https://c.example/quiet", "filter:quiet")]);
        // "quiet" matches but has no acknowledged address: nobody is told, not even the defaults.
        assert!(routing.route(&facts(), IncidentStatus::Acknowledged).is_empty());
    }

    #[test]
    fn an_address_reached_twice_is_sent_once() {
        let mut first = filter("a", 1, NotificationFilter::default(), "https://same.example/x");
        first.process_additional_filters = true;
        let routing = Routing {
            connection_filters: vec![first],
            global_filters: vec![],
            addresses: addresses(IncidentStatus::Open, "https://same.example/x, https://other.example/y"),
        };
        assert_eq!(
            sent(&routing, &facts()),
            [pair("https://same.example/x", "filter:a"), pair("https://other.example/y", "defaults")]
        );
    }

    #[test]
    fn do_not_create_incidents_is_decided_by_the_first_match() {
        let noisy = NotificationFilter { table: pattern("tmp_*"), ..Default::default() };
        let mut drop = filter("noisy", 10, noisy, "https://c.example/x");
        drop.do_not_create_incidents = true;
        let routing = Routing { connection_filters: vec![drop.clone()], ..Default::default() };
        assert!(routing.suppresses_incident(&IncidentFacts { table: "tmp_load", ..facts() }));
        assert!(!routing.suppresses_incident(&facts()));
        let earlier = filter("earlier", 1, NotificationFilter::default(), "https://c.example/y");
        let routing = Routing { connection_filters: vec![drop, earlier], ..Default::default() };
        assert!(!routing.suppresses_incident(&IncidentFacts { table: "tmp_load", ..facts() }), "an earlier match wins");
    }

    #[test]
    fn route_sources_are_stored_as_labels_and_read_back() {
        for source in [
            RouteSource::Defaults,
            RouteSource::Filter(FilterScope::Connection, FilterName::parse("finance: EU").unwrap()),
            RouteSource::Filter(FilterScope::Global, FilterName::parse("on-call").unwrap()),
        ] {
            assert_eq!(RouteSource::from_label(&source.label()), Some(source));
        }
        assert_eq!(FilterName::parse("a/b"), Err(TextError::Slash));
    }
}
