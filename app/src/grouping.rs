//! Grouping: which check results may open or join an incident, the key that groups them, and
//! whether a result joins an existing incident. Pure functions; storage applies them.

use crate::domain::{
    CheckResult, CheckType, ConnectionName, GroupingLevel, IncidentGrouping, IncidentStatus, Timestamp,
};
pub use crate::domain::{GroupingKey, IncidentWindow};

/// Partitioned results older than this (by their time period) never open an incident (DQOps' default).
pub const PARTITIONED_WINDOW_DAYS: u32 = 45;

/// Whether `result` may open or join an incident under `settings`, at time `now`.
pub fn is_incident_candidate(result: &CheckResult, settings: &IncidentGrouping, now: Timestamp) -> bool {
    if settings.disabled || result.severity.level() < settings.minimum_severity.level() {
        return false;
    }
    match result.check_type {
        CheckType::Profiling => false,
        CheckType::Monitoring => true,
        CheckType::Partitioned => {
            result.time_period.is_some_and(|period| period >= now.start_of_day().minus_days(PARTITIONED_WINDOW_DAYS))
        }
    }
}

impl GroupingKey {
    pub fn of(result: &CheckResult, settings: &IncidentGrouping) -> Self {
        use GroupingLevel::*;
        let level = settings.grouping_level;
        let by_dimension = level != Table;
        let by_category =
            matches!(level, TableDimensionCategory | TableDimensionCategoryType | TableDimensionCategoryName);
        let by_type = matches!(level, TableDimensionCategoryType | TableDimensionCategoryName);
        let by_name = level == TableDimensionCategoryName;
        Self {
            schema: result.schema.clone(),
            table: result.table.clone(),
            data_group: result.data_group.clone().filter(|_| settings.divide_by_data_groups),
            quality_dimension: by_dimension.then(|| result.quality_dimension.clone()),
            check_category: by_category.then(|| result.check_category.clone()),
            check_type: by_type.then_some(result.check_type),
            check_name: by_name.then(|| result.check_name.clone()),
        }
    }

    /// A stable, non-negative 63-bit hash of the connection and the key's present components,
    /// in DQOps' order (FNV-1a; absent components are skipped, as DQOps drops nulls).
    pub fn hash(&self, connection: &ConnectionName) -> i64 {
        let components = [
            Some(connection.as_str()),
            Some(self.schema.as_str()),
            Some(self.table.as_str()),
            self.data_group.as_deref(),
            self.quality_dimension.as_deref(),
            self.check_category.as_deref(),
            self.check_type.map(CheckType::as_str),
            self.check_name.as_deref(),
        ];
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for component in components.into_iter().flatten() {
            for byte in component.bytes().chain([0x1f]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        (hash & i64::MAX as u64) as i64
    }
}

/// Whether an issue executed at `executed_at` joins the incident. A resolved incident never
/// takes new issues; a muted one absorbs them silently until its mute window ends, even past
/// its maximum length; open and acknowledged ones until their maximum length.
pub fn joins(incident: IncidentWindow, executed_at: Timestamp) -> bool {
    if executed_at < incident.first_seen {
        return false;
    }
    match incident.status {
        IncidentStatus::Resolved => false,
        IncidentStatus::Open | IncidentStatus::Acknowledged => executed_at <= incident.incident_until,
        IncidentStatus::Muted => {
            executed_at <= incident.incident_until.max(incident.muted_until.unwrap_or(incident.incident_until))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DayCount, MinimumSeverity, Severity};

    fn result() -> CheckResult {
        CheckResult {
            schema: "public".into(),
            table: "fact_sales".into(),
            column: Some("amount".into()),
            check_name: "daily_nulls_percent".into(),
            check_category: "nulls".into(),
            check_type: CheckType::Monitoring,
            quality_dimension: "Completeness".into(),
            severity: Severity::Error,
            executed_at: Timestamp::from_date(2024, 6, 1),
            data_group: Some("EU".into()),
            table_priority: Some(2),
            time_period: None,
            actual_value: Some(12.5),
            expected_value: Some(0.0),
            message: None,
            result_id: None,
        }
    }

    fn settings(level: GroupingLevel) -> IncidentGrouping {
        IncidentGrouping { grouping_level: level, ..IncidentGrouping::default() }
    }

    #[test]
    fn each_grouping_level_keeps_its_components() {
        type Expected = (Option<&'static str>, Option<&'static str>, Option<CheckType>, Option<&'static str>);
        let cases: [(GroupingLevel, Expected); 5] = [
            (GroupingLevel::Table, (None, None, None, None)),
            (GroupingLevel::TableDimension, (Some("Completeness"), None, None, None)),
            (GroupingLevel::TableDimensionCategory, (Some("Completeness"), Some("nulls"), None, None)),
            (
                GroupingLevel::TableDimensionCategoryType,
                (Some("Completeness"), Some("nulls"), Some(CheckType::Monitoring), None),
            ),
            (
                GroupingLevel::TableDimensionCategoryName,
                (Some("Completeness"), Some("nulls"), Some(CheckType::Monitoring), Some("daily_nulls_percent")),
            ),
        ];
        for (level, (dimension, category, check_type, name)) in cases {
            let key = GroupingKey::of(&result(), &settings(level));
            assert_eq!((key.schema.as_str(), key.table.as_str()), ("public", "fact_sales"), "{level}");
            assert_eq!(key.quality_dimension.as_deref(), dimension, "{level}");
            assert_eq!(key.check_category.as_deref(), category, "{level}");
            assert_eq!(key.check_type, check_type, "{level}");
            assert_eq!(key.check_name.as_deref(), name, "{level}");
            assert_eq!(key.data_group, None, "{level}: not divided by data groups");
        }
    }

    #[test]
    fn finer_levels_separate_what_coarser_levels_group() {
        let connection = ConnectionName::parse("dwh").unwrap();
        let mut other_check = result();
        other_check.check_name = "daily_row_count".into();
        other_check.check_category = "volume".into();
        for (level, same) in [
            (GroupingLevel::Table, true),
            (GroupingLevel::TableDimension, true),
            (GroupingLevel::TableDimensionCategory, false),
            (GroupingLevel::TableDimensionCategoryName, false),
        ] {
            let a = GroupingKey::of(&result(), &settings(level)).hash(&connection);
            let b = GroupingKey::of(&other_check, &settings(level)).hash(&connection);
            assert_eq!(a == b, same, "{level}");
            assert!(a >= 0);
        }
        let other_connection = ConnectionName::parse("lake").unwrap();
        let key = GroupingKey::of(&result(), &settings(GroupingLevel::Table));
        assert_ne!(key.hash(&connection), key.hash(&other_connection));
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        let connection = ConnectionName::parse("dwh").unwrap();
        let key = GroupingKey::of(&result(), &settings(GroupingLevel::TableDimensionCategory));
        assert_eq!(key.hash(&connection), key.hash(&connection));
        assert_eq!(key.hash(&connection), 2_301_095_058_655_569_561, "changing the hash splits existing incidents");
    }

    #[test]
    fn data_groups_divide_incidents_only_when_enabled() {
        let mut divided = settings(GroupingLevel::Table);
        divided.divide_by_data_groups = true;
        assert_eq!(GroupingKey::of(&result(), &divided).data_group.as_deref(), Some("EU"));
        let mut us = result();
        us.data_group = Some("US".into());
        let connection = ConnectionName::parse("dwh").unwrap();
        assert_ne!(
            GroupingKey::of(&result(), &divided).hash(&connection),
            GroupingKey::of(&us, &divided).hash(&connection)
        );
        assert_eq!(
            GroupingKey::of(&result(), &settings(GroupingLevel::Table)).hash(&connection),
            GroupingKey::of(&us, &settings(GroupingLevel::Table)).hash(&connection)
        );
    }

    #[test]
    fn candidates_depend_on_severity_check_type_and_the_switch() {
        let now = Timestamp::from_date(2024, 6, 10);
        let base = IncidentGrouping::default();
        let with = |f: &dyn Fn(&mut CheckResult)| {
            let mut r = result();
            f(&mut r);
            r
        };
        let strict = IncidentGrouping { minimum_severity: MinimumSeverity::Fatal, ..base.clone() };
        let disabled = IncidentGrouping { disabled: true, ..base.clone() };
        let cases: Vec<(&str, CheckResult, &IncidentGrouping, bool)> = vec![
            ("an error at warning minimum", result(), &base, true),
            ("a valid result", with(&|r| r.severity = Severity::Valid), &base, false),
            ("a warning at warning minimum", with(&|r| r.severity = Severity::Warning), &base, true),
            ("an error below a fatal minimum", result(), &strict, false),
            ("a fatal at a fatal minimum", with(&|r| r.severity = Severity::Fatal), &strict, true),
            ("incident creation disabled", result(), &disabled, false),
            ("a profiling check", with(&|r| r.check_type = CheckType::Profiling), &base, false),
            (
                "a partitioned check for a recent partition",
                with(&|r| {
                    r.check_type = CheckType::Partitioned;
                    r.time_period = Some(Timestamp::from_date(2024, 5, 1));
                }),
                &base,
                true,
            ),
            (
                "a partitioned check for a partition older than 45 days",
                with(&|r| {
                    r.check_type = CheckType::Partitioned;
                    r.time_period = Some(Timestamp::from_date(2024, 4, 25));
                }),
                &base,
                false,
            ),
        ];
        for (name, result, settings, expected) in cases {
            assert_eq!(is_incident_candidate(&result, settings, now), expected, "{name}");
        }
    }

    #[test]
    fn which_issues_join_an_existing_incident() {
        let first_seen = Timestamp::from_date(2024, 6, 1);
        let window = |status, muted_until| IncidentWindow {
            status,
            first_seen,
            incident_until: first_seen.plus_days(DayCount::DQOPS_DEFAULT.get()),
            muted_until,
        };
        let day = |n: u32| first_seen.plus_days(n);
        let muted = Some(day(90));
        let cases = [
            ("open, inside its length", window(IncidentStatus::Open, None), day(10), true),
            ("open, on its last moment", window(IncidentStatus::Open, None), day(60), true),
            ("open, past its maximum length", window(IncidentStatus::Open, None), day(61), false),
            ("acknowledged, inside", window(IncidentStatus::Acknowledged, None), day(59), true),
            ("resolved never reopens", window(IncidentStatus::Resolved, None), day(1), false),
            ("muted, inside the mute window past the length", window(IncidentStatus::Muted, muted), day(80), true),
            ("muted, after the mute window", window(IncidentStatus::Muted, muted), day(91), false),
            ("muted, short mute inside the length", window(IncidentStatus::Muted, Some(day(5))), day(30), true),
            ("before the incident began", window(IncidentStatus::Open, None), first_seen.minus_days(1), false),
        ];
        for (name, incident, executed_at, expected) in cases {
            assert_eq!(joins(incident, executed_at), expected, "{name}");
        }
    }
}
