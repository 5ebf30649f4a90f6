//! A connection (a data source) as the user names and describes it.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A connection's name: 1 to 200 letters, digits, `_`, `-` and `.`.
/// It appears in URLs and REST paths, so nothing else is allowed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionNameError {
    #[error("is required")]
    Empty,
    #[error("must be at most {max} characters long", max = ConnectionName::MAX_LEN)]
    TooLong,
    #[error("may only contain letters, digits, '_', '-' and '.' (found {0:?})")]
    InvalidCharacter(char),
}

impl ConnectionName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(input: &str) -> Result<Self, ConnectionNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ConnectionNameError::Empty);
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(ConnectionNameError::TooLong);
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
            return Err(ConnectionNameError::InvalidCharacter(bad));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ConnectionName {
    type Error = ConnectionNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConnectionName> for String {
    fn from(name: ConnectionName) -> Self {
        name.0
    }
}

/// The kind of database a connection points at, with DQOps' spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    Postgresql,
    Mysql,
    Sqlserver,
    Oracle,
    Snowflake,
    Bigquery,
    Redshift,
    Databricks,
    Duckdb,
    Sqlite,
    Trino,
    Clickhouse,
    Db2,
    Hana,
    Mariadb,
    Presto,
    Questdb,
    Spark,
    Teradata,
    Other,
}

impl ProviderType {
    pub const ALL: [ProviderType; 20] = [
        Self::Postgresql,
        Self::Mysql,
        Self::Sqlserver,
        Self::Oracle,
        Self::Snowflake,
        Self::Bigquery,
        Self::Redshift,
        Self::Databricks,
        Self::Duckdb,
        Self::Sqlite,
        Self::Trino,
        Self::Clickhouse,
        Self::Db2,
        Self::Hana,
        Self::Mariadb,
        Self::Presto,
        Self::Questdb,
        Self::Spark,
        Self::Teradata,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgresql => "postgresql",
            Self::Mysql => "mysql",
            Self::Sqlserver => "sqlserver",
            Self::Oracle => "oracle",
            Self::Snowflake => "snowflake",
            Self::Bigquery => "bigquery",
            Self::Redshift => "redshift",
            Self::Databricks => "databricks",
            Self::Duckdb => "duckdb",
            Self::Sqlite => "sqlite",
            Self::Trino => "trino",
            Self::Clickhouse => "clickhouse",
            Self::Db2 => "db2",
            Self::Hana => "hana",
            Self::Mariadb => "mariadb",
            Self::Presto => "presto",
            Self::Questdb => "questdb",
            Self::Spark => "spark",
            Self::Teradata => "teradata",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Postgresql => "PostgreSQL",
            Self::Mysql => "MySQL",
            Self::Sqlserver => "SQL Server",
            Self::Oracle => "Oracle",
            Self::Snowflake => "Snowflake",
            Self::Bigquery => "BigQuery",
            Self::Redshift => "Amazon Redshift",
            Self::Databricks => "Databricks",
            Self::Duckdb => "DuckDB",
            Self::Sqlite => "SQLite",
            Self::Trino => "Trino",
            Self::Clickhouse => "ClickHouse",
            Self::Db2 => "IBM Db2",
            Self::Hana => "SAP HANA",
            Self::Mariadb => "MariaDB",
            Self::Presto => "Presto",
            Self::Questdb => "QuestDB",
            Self::Spark => "Apache Spark",
            Self::Teradata => "Teradata",
            Self::Other => "Other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be one of postgresql, mysql, sqlserver, oracle, snowflake, bigquery, redshift, databricks, duckdb, sqlite, trino, clickhouse, db2, hana, mariadb, presto, questdb, spark, teradata or other"
)]
pub struct UnknownProviderType;

impl FromStr for ProviderType {
    type Err = UnknownProviderType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(UnknownProviderType)
    }
}

/// A free-text description of a connection: optional, bounded, one paragraph of plain text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    #[error("must be at most {max} characters long", max = Description::MAX_LEN)]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl Description {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, DescriptionError> {
        let text = input.trim();
        if text.chars().count() > Self::MAX_LEN {
            return Err(DescriptionError::TooLong);
        }
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(DescriptionError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<String> for Description {
    type Error = DescriptionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Description> for String {
    fn from(description: Description) -> Self {
        description.0
    }
}

/// What the "Add connection" form creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConnection {
    pub name: ConnectionName,
    pub provider_type: ProviderType,
    pub description: Description,
}

/// A stored connection, as the pages and APIs show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub name: ConnectionName,
    pub provider_type: ProviderType,
    pub description: Description,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_names_accept_letters_digits_underscore_dash_and_dot() {
        for ok in ["a", "dwh", "sales_db-2.prod", "A1", &"x".repeat(200)] {
            assert_eq!(ConnectionName::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(ConnectionName::parse("  padded ").unwrap().as_str(), "padded");
    }

    #[test]
    fn connection_names_reject_empty_long_and_unsafe_input() {
        assert_eq!(ConnectionName::parse(""), Err(ConnectionNameError::Empty));
        assert_eq!(ConnectionName::parse("   "), Err(ConnectionNameError::Empty));
        assert_eq!(ConnectionName::parse(&"x".repeat(201)), Err(ConnectionNameError::TooLong));
        assert_eq!(ConnectionName::parse("a b"), Err(ConnectionNameError::InvalidCharacter(' ')));
        assert_eq!(ConnectionName::parse("a/b"), Err(ConnectionNameError::InvalidCharacter('/')));
        assert_eq!(ConnectionName::parse("zażółć"), Err(ConnectionNameError::InvalidCharacter('ż')));
        assert_eq!(ConnectionName::parse("a<script>"), Err(ConnectionNameError::InvalidCharacter('<')));
    }

    #[test]
    fn every_provider_type_round_trips_through_its_dqops_spelling() {
        for provider in ProviderType::ALL {
            assert_eq!(provider.as_str().parse(), Ok(provider));
        }
        assert_eq!("PostgreSQL".parse::<ProviderType>(), Err(UnknownProviderType));
        assert_eq!("mongodb".parse::<ProviderType>(), Err(UnknownProviderType));
    }

    #[test]
    fn descriptions_are_optional_bounded_and_free_of_control_characters() {
        assert!(Description::parse("").unwrap().is_empty());
        assert_eq!(Description::parse(" Sales warehouse\n(EU) ").unwrap().as_str(), "Sales warehouse\n(EU)");
        assert_eq!(Description::parse(&"d".repeat(2001)), Err(DescriptionError::TooLong));
        assert_eq!(Description::parse("bell\u{7}"), Err(DescriptionError::ControlCharacter));
    }
}
