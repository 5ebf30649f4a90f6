//! `POST /api/connections/{connection}/checkresults`: a batch of check results, stored and grouped
//! into incidents atomically. A batch with any invalid item stores nothing and says which item,
//! which field and why.

use super::ApiError;
use app::{
    domain::{CheckResult, CheckType, ConnectionName, Severity, Timestamp},
    state::AppState,
};
use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State, rejection::BytesRejection},
    http::StatusCode,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The largest request body the endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The most check results one request may carry.
pub const MAX_RESULTS: usize = 10_000;
const MAX_NAME_CHARS: usize = 1024;
const MAX_MESSAGE_CHARS: usize = 10_000;
const MAX_RESULT_ID_CHARS: usize = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// One check result as sent. This type only describes the body for the OpenAPI document;
/// [`parse_check_result`] reads it, field by field, to name the wrong one.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CheckResultInput {
    /// Schema of the checked table.
    schema: String,
    table: String,
    column: Option<String>,
    #[schema(example = "daily_nulls_percent")]
    check_name: String,
    #[schema(example = "nulls")]
    check_category: String,
    /// `profiling`, `monitoring` or `partitioned`.
    #[schema(example = "monitoring")]
    check_type: String,
    #[schema(example = "Completeness")]
    quality_dimension: String,
    /// 0 valid, 1 warning, 2 error, 3 fatal.
    #[schema(minimum = 0, maximum = 3)]
    severity: u8,
    /// ISO-8601 time, with an offset or UTC.
    #[schema(example = "2026-11-30T06:00:00Z")]
    executed_at: String,
    data_group: Option<String>,
    table_priority: Option<i32>,
    /// The partition's time; required for partitioned checks.
    time_period: Option<String>,
    actual_value: Option<f64>,
    expected_value: Option<f64>,
    message: Option<String>,
    /// The sender's id: a result sent again with a known id is skipped.
    result_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct IngestResponse {
    /// Results stored now.
    accepted: u32,
    /// Results skipped because a result with the same `result_id` was stored before.
    duplicates: u32,
    incidents_opened: usize,
    incidents_updated: u32,
}

/// Stores a batch of check results and groups the failed ones into incidents, atomically.
#[utoipa::path(post, path = "/api/connections/{connectionName}/checkresults", tag = "checkresults",
    operation_id = "postCheckResults",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body(content = Vec<CheckResultInput>,
        description = "A JSON array of check results (or an object with a `results` array): at most 10,000 and 16 MiB"),
    responses(
        (status = 200, body = IngestResponse),
        (status = 400, description = "A result is wrong; `index` and `field` name it; nothing is stored", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError),
        (status = 413, description = "More than 10,000 results or 16 MiB", body = ApiError)))]
async fn ingest(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    let unknown = || ApiError::new(StatusCode::NOT_FOUND, format!("no connection named {connection:?} exists"));
    let name = ConnectionName::parse(&connection).map_err(|_| unknown())?;
    // An unknown connection answers 404 before the body is read and judged.
    state.connections.get(&name).await?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} MiB; send the results in smaller batches",
                MAX_BODY_BYTES >> 20
            ),
        ),
        status => ApiError::new(status, rejection.body_text()),
    })?;
    let results = parse_batch(&body)?;
    let outcome = state.incidents.ingest(&name, &results).await?;
    Ok(Json(IngestResponse {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        incidents_opened: outcome.opened.len(),
        incidents_updated: outcome.updated,
    }))
}

/// A JSON array of check results, or an object with a `results` array.
pub fn parse_batch(body: &[u8]) -> Result<Vec<CheckResult>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, format!("the body is not valid JSON: {error}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("results") {
            Some(Value::Array(items)) => items,
            _ => return Err(not_a_batch()),
        },
        _ => return Err(not_a_batch()),
    };
    if items.len() > MAX_RESULTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a request may carry at most {MAX_RESULTS} check results; this one has {}", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            parse_check_result(item).map_err(|(field, reason)| ApiError {
                status: StatusCode::BAD_REQUEST,
                error: format!("check result {index}: {field} {reason}"),
                field: Some(field.to_owned()),
                index: Some(index),
            })
        })
        .collect()
}

fn not_a_batch() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "the body must be a JSON array of check results (or an object with a \"results\" array)",
    )
}

type FieldResult<T> = Result<T, (&'static str, String)>;

/// Reads one check result; an error names the field and the reason.
pub fn parse_check_result(item: &Value) -> FieldResult<CheckResult> {
    let Value::Object(fields) = item else {
        return Err(("(item)", "must be a JSON object".to_owned()));
    };
    let fields = Fields(fields);
    let check_type: CheckType =
        fields.required_text("check_type", 20)?.parse().map_err(|e| ("check_type", format!("{e}")))?;
    let time_period = fields.optional_time("time_period")?;
    if check_type == CheckType::Partitioned && time_period.is_none() {
        return Err(("time_period", "is required for partitioned checks".to_owned()));
    }
    Ok(CheckResult {
        schema: fields.required_text("schema", MAX_NAME_CHARS)?,
        table: fields.required_text("table", MAX_NAME_CHARS)?,
        column: fields.optional_text("column", MAX_NAME_CHARS)?,
        check_name: fields.required_text("check_name", MAX_NAME_CHARS)?,
        check_category: fields.required_text("check_category", MAX_NAME_CHARS)?,
        check_type,
        quality_dimension: fields.required_text("quality_dimension", MAX_NAME_CHARS)?,
        severity: fields.severity()?,
        executed_at: fields.required_time("executed_at")?,
        data_group: fields.optional_text("data_group", MAX_NAME_CHARS)?,
        table_priority: fields.optional_integer("table_priority")?,
        time_period,
        actual_value: fields.optional_number("actual_value")?,
        expected_value: fields.optional_number("expected_value")?,
        message: fields.optional_text("message", MAX_MESSAGE_CHARS)?,
        result_id: fields.optional_text("result_id", MAX_RESULT_ID_CHARS)?,
    })
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// The field's value; JSON `null` counts as absent.
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|value| !value.is_null())
    }

    fn optional_text(&self, field: &'static str, max_chars: usize) -> FieldResult<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(text)) if text.chars().count() > max_chars => {
                Err((field, format!("must be at most {max_chars} characters long")))
            }
            Some(Value::String(text)) if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) => {
                Err((field, "must not contain control characters".to_owned()))
            }
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err((field, "must be a string".to_owned())),
        }
    }

    fn required_text(&self, field: &'static str, max_chars: usize) -> FieldResult<String> {
        match self.optional_text(field, max_chars)? {
            Some(text) if !text.trim().is_empty() => Ok(text),
            Some(_) => Err((field, "must not be empty".to_owned())),
            None => Err((field, "is required".to_owned())),
        }
    }

    fn severity(&self) -> FieldResult<Severity> {
        let field = "severity";
        let reason = || (field, "must be 0 (valid), 1 (warning), 2 (error) or 3 (fatal)".to_owned());
        match self.get(field) {
            None => Err((field, "is required".to_owned())),
            Some(value) => value
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .and_then(|n| Severity::try_from(n).ok())
                .ok_or_else(reason),
        }
    }

    fn optional_integer(&self, field: &'static str) -> FieldResult<Option<i32>> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| (field, "must be a whole number".to_owned())),
        }
    }

    fn optional_number(&self, field: &'static str) -> FieldResult<Option<f64>> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or_else(|| (field, "must be a number".to_owned())),
        }
    }

    fn required_time(&self, field: &'static str) -> FieldResult<Timestamp> {
        self.optional_time(field)?.ok_or_else(|| (field, "is required".to_owned()))
    }

    /// An RFC 3339 time (`2024-06-01T11:45:22Z`), or a date or local date-time read as UTC.
    fn optional_time(&self, field: &'static str) -> FieldResult<Option<Timestamp>> {
        let Some(value) = self.get(field) else { return Ok(None) };
        let reason = || (field, "must be an RFC 3339 time such as 2024-06-01T11:45:22Z".to_owned());
        let text = value.as_str().ok_or_else(reason)?;
        let millis = chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp_millis())
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .map(|t| t.and_utc().timestamp_millis())
            })
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|date| date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
            })
            .map_err(|_| reason())?;
        Ok(Some(Timestamp::from_millis(millis)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "schema": "public", "table": "fact_sales", "column": "amount",
            "check_name": "daily_nulls_percent", "check_category": "nulls", "check_type": "monitoring",
            "quality_dimension": "Completeness", "severity": 2, "executed_at": "2024-06-01T11:45:22Z",
            "data_group": null, "table_priority": 3, "actual_value": 12.5, "expected_value": 0,
            "message": "too many nulls", "result_id": "r-1", "extra_key": "ignored"
        })
    }

    #[test]
    fn a_complete_check_result_parses() {
        let result = parse_check_result(&valid()).unwrap();
        assert_eq!(result.severity, Severity::Error);
        assert_eq!(result.executed_at.iso8601(), "2024-06-01T11:45:22Z");
        assert_eq!(result.data_group, None);
        assert_eq!(result.table_priority, Some(3));
        assert_eq!(result.expected_value, Some(0.0));
        assert_eq!(result.result_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn each_wrong_field_is_named_with_its_reason() {
        let cases: [(&str, Value, &str, &str); 12] = [
            ("schema", Value::Null, "schema", "is required"),
            ("table", json!(""), "table", "must not be empty"),
            ("check_type", json!("Monitoring"), "check_type", "must be one of profiling, monitoring or partitioned"),
            ("check_type", json!("partitioned"), "time_period", "is required for partitioned checks"),
            ("severity", json!(4), "severity", "must be 0 (valid), 1 (warning), 2 (error) or 3 (fatal)"),
            ("severity", json!("2"), "severity", "must be 0 (valid), 1 (warning), 2 (error) or 3 (fatal)"),
            ("executed_at", json!("yesterday"), "executed_at", "must be an RFC 3339 time such as 2024-06-01T11:45:22Z"),
            ("executed_at", Value::Null, "executed_at", "is required"),
            ("table_priority", json!(1.5), "table_priority", "must be a whole number"),
            ("actual_value", json!("12"), "actual_value", "must be a number"),
            ("message", json!("a".repeat(10_001)), "message", "must be at most 10000 characters long"),
            ("quality_dimension", json!(7), "quality_dimension", "must be a string"),
        ];
        for (key, value, field, reason) in cases {
            let mut item = valid();
            item[key] = value;
            assert_eq!(parse_check_result(&item).unwrap_err(), (field, reason.to_owned()), "{key}");
        }
    }

    #[test]
    fn times_may_be_dates_or_local_times_read_as_utc() {
        let mut item = valid();
        item["check_type"] = json!("partitioned");
        item["time_period"] = json!("2024-05-31");
        item["executed_at"] = json!("2024-06-01T13:45:22+02:00");
        let result = parse_check_result(&item).unwrap();
        assert_eq!(result.time_period.unwrap().iso8601(), "2024-05-31T00:00:00Z");
        assert_eq!(result.executed_at.iso8601(), "2024-06-01T11:45:22Z");
        item["time_period"] = json!("2024-05-31T10:00:00");
        assert_eq!(parse_check_result(&item).unwrap().time_period.unwrap().iso8601(), "2024-05-31T10:00:00Z");
    }

    #[test]
    fn a_batch_is_an_array_or_an_object_with_results() {
        let array = serde_json::to_vec(&json!([valid(), valid()])).unwrap();
        assert_eq!(parse_batch(&array).unwrap().len(), 2);
        let object = serde_json::to_vec(&json!({"results": [valid()]})).unwrap();
        assert_eq!(parse_batch(&object).unwrap().len(), 1);
        let error = parse_batch(b"{\"checks\": []}").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let mut bad = valid();
        bad["severity"] = json!(9);
        let error = parse_batch(&serde_json::to_vec(&json!([valid(), bad])).unwrap()).unwrap_err();
        assert_eq!((error.index, error.field.as_deref()), (Some(1), Some("severity")));
        assert!(error.error.starts_with("check result 1: severity must be"), "{}", error.error);
    }
}
