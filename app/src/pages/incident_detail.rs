//! An incident's page (`/incidents/{connection}/{year}/{month}/{id}`): its fields, its status,
//! its issue link, its status history and the issues that joined it, newest first.

use super::{
    NotFound,
    form::{FieldError, FormErrors, Outcome, SaveNotice, error_id, server_message},
    notifications::{DeliveryTable, RouteSummary},
    triage::{SeverityBadge, StatusSelect, status_label},
};
use crate::{
    domain::{CheckResult, Incident, StatusChange},
    paths,
    server_fns::{
        EnableNotificationAddress, ISSUES_SHOWN, IncidentDetail, RetryNotification, SetIncidentIssueUrl,
        SetIncidentStatus, load_incident,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn IncidentPage() -> impl IntoView {
    let params = use_params_map();
    let address = Memo::new(move |_| {
        params.with(|p| {
            let get = |key: &str| p.get(key).unwrap_or_default();
            (get("connection"), get("year").parse::<i32>().ok(), get("month").parse::<u32>().ok(), get("id"))
        })
    });
    let status_action = ServerAction::<SetIncidentStatus>::new();
    let retry = ServerAction::<RetryNotification>::new();
    let enable = ServerAction::<EnableNotificationAddress>::new();
    // The history and the notifications grow with each status change, so the page reloads after one.
    let detail = Resource::new(
        move || (address.get(), status_action.version().get(), retry.version().get() + enable.version().get()),
        |((connection, year, month, id), _, _)| async move {
            match (year, month) {
                (Some(year), Some(month)) => load_incident(connection, year, month, id).await,
                _ => Ok(None),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! { <Detail detail status_action retry enable/> }.into_any(),
                    Ok(None) => view! { <NotFound message="There is no such incident."/> }.into_any(),
                    Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    detail: IncidentDetail,
    status_action: ServerAction<SetIncidentStatus>,
    retry: ServerAction<RetryNotification>,
    enable: ServerAction<EnableNotificationAddress>,
) -> impl IntoView {
    let IncidentDetail { incident, history, issues, notifications } = detail;
    let (year, month) = incident.year_month();
    let title = format!("Data quality incident {year}/{month}/{}", incident.id);
    let optional = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
    view! {
        <Title text=title.clone()/>
        <p class="breadcrumb">
            <a href=paths::INCIDENTS>"Incidents"</a>
            " / "
            <a href=paths::incidents_of(&incident.connection)>{incident.connection.to_string()}</a>
        </p>
        <h1 class="incident-title">{title}</h1>
        <div class="detail-grid">
            <section class="card" aria-labelledby="table-heading">
                <h2 id="table-heading">"Table"</h2>
                <dl class="facts">
                    <dt>"Connection"</dt>
                    <dd>{incident.connection.to_string()}</dd>
                    <dt>"Schema"</dt>
                    <dd>{incident.schema.clone()}</dd>
                    <dt>"Table"</dt>
                    <dd>{incident.table.clone()}</dd>
                    <dt>"Table priority"</dt>
                    <dd>{optional(incident.table_priority.map(|p| p.to_string()))}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="status-heading">
                <h2 id="status-heading">"Status and time range"</h2>
                <dl class="facts">
                    <dt>"Status"</dt>
                    <dd>
                        <StatusSelect incident=incident.clone() action=status_action label="Status"/>
                    </dd>
                    <dt>"First seen"</dt>
                    <dd>{incident.first_seen.to_string()}</dd>
                    <dt>"Last seen"</dt>
                    <dd>{incident.last_seen.to_string()}</dd>
                    <dt>"Valid until"</dt>
                    <dd>{incident.incident_until.to_string()}</dd>
                    {incident.muted_until.map(|until| view! {
                        <dt>"Muted until"</dt>
                        <dd>{until.to_string()}</dd>
                    })}
                </dl>
            </section>
            <section class="card" aria-labelledby="severity-heading">
                <h2 id="severity-heading">"Severity statistics"</h2>
                <dl class="facts">
                    <dt>"Minimum issue severity"</dt>
                    <dd><SeverityBadge severity=incident.minimum_severity/></dd>
                    <dt>"Highest detected issue severity"</dt>
                    <dd><SeverityBadge severity=incident.highest_severity/></dd>
                    <dt>"Total issues"</dt>
                    <dd>{incident.failed_checks_count}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="grouping-heading">
                <h2 id="grouping-heading">"Grouping"</h2>
                <dl class="facts">
                    <dt>"Quality dimension"</dt>
                    <dd>{optional(incident.quality_dimension.clone())}</dd>
                    <dt>"Check category"</dt>
                    <dd>{optional(incident.check_category.clone())}</dd>
                    <dt>"Check type"</dt>
                    <dd>{optional(incident.check_type.map(|t| t.as_str().to_owned()))}</dd>
                    <dt>"Check name"</dt>
                    <dd>{optional(incident.check_name.clone())}</dd>
                    <dt>"Data group"</dt>
                    <dd>{optional(incident.data_group.clone())}</dd>
                </dl>
            </section>
        </div>
        <IssueLink incident=incident.clone()/>
        <History history/>
        <section class="card" aria-labelledby="notifications-heading">
            <h2 id="notifications-heading">"Notifications"</h2>
            <RouteSummary deliveries=notifications.clone()/>
            <DeliveryTable deliveries=notifications retry=retry enable=enable/>
        </section>
        <Issues issues total=incident.failed_checks_count/>
    }
}

#[component]
fn IssueLink(incident: Incident) -> impl IntoView {
    let action = ServerAction::<SetIncidentIssueUrl>::new();
    let outcome: Outcome = Signal::derive(move || action.value().get());
    let errors = FormErrors::new(&["issue_url"], outcome);
    let (year, month) = incident.year_month();
    let message = errors.message("issue_url");
    view! {
        <section class="card" aria-labelledby="issue-link-heading">
            <h2 id="issue-link-heading">"Issue link"</h2>
            {incident.issue_url.clone().map(|url| view! {
                <p>
                    <a href=url.clone() rel="noreferrer noopener" target="_blank">{url.clone()}</a>
                </p>
            })}
            <SaveNotice outcome errors saved_text="Issue link saved."/>
            <ActionForm action attr:novalidate=true attr:class="inline-form">
                <input type="hidden" name="connection" value=incident.connection.to_string()/>
                <input type="hidden" name="year" value=year/>
                <input type="hidden" name="month" value=month/>
                <input type="hidden" name="id" value=incident.id.clone()/>
                <label for="issue-url">"Issue URL"</label>
                <input
                    id="issue-url"
                    name="issue_url"
                    type="text"
                    class="wide"
                    placeholder="https://tickets.example.com/DQ-123"
                    value=incident.issue_url.clone().unwrap_or_default()
                    aria-invalid=move || message.get().is_some().to_string()
                    aria-describedby=error_id("issue_url")
                />
                <button type="submit" disabled=move || action.pending().get()>"Save"</button>
            </ActionForm>
            <FieldError errors field="issue_url"/>
        </section>
    }
}

#[component]
fn History(history: Vec<StatusChange>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Status history"</h2>
            <table class="list history">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Through"</th>
                    </tr>
                </thead>
                <tbody>
                    {history
                        .into_iter()
                        .rev()
                        .map(|change| {
                            view! {
                                <tr>
                                    <td>{change.at.to_string()}</td>
                                    <td>{change.from.map_or("(opened)", status_label)}</td>
                                    <td>{status_label(change.to)}</td>
                                    <td>{change.by.name.clone()}</td>
                                    <td>{change.by.source.label()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Issues(issues: Vec<CheckResult>, total: u32) -> impl IntoView {
    let shown = issues.len();
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="issues-heading">
            <h2 id="issues-heading">"Issues"</h2>
            <p class="hint">
                {if total as usize > shown {
                    format!("The {shown} most recent of {total} issues, newest first.")
                } else {
                    match total {
                        1 => "1 issue.".to_owned(),
                        _ => format!("{total} issues, newest first."),
                    }
                }}
            </p>
            <table class="list issues">
                <thead>
                    <tr>
                        <th scope="col">"Executed at"</th>
                        <th scope="col">"Column"</th>
                        <th scope="col">"Check"</th>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Actual"</th>
                        <th scope="col">"Expected"</th>
                        <th scope="col">"Message"</th>
                    </tr>
                </thead>
                <tbody>
                    {issues
                        .into_iter()
                        .map(|issue| {
                            view! {
                                <tr>
                                    <td>{issue.executed_at.to_string()}</td>
                                    <td>{issue.column.clone().unwrap_or_default()}</td>
                                    <td>{issue.check_name.clone()}</td>
                                    <td><SeverityBadge severity=issue.severity/></td>
                                    <td class="number">{number(issue.actual_value)}</td>
                                    <td class="number">{number(issue.expected_value)}</td>
                                    <td>{issue.message.clone().unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {(shown as u32 >= ISSUES_SHOWN).then(|| view! { <p class="hint">"Older issues are available through the REST API."</p> })}
        </section>
    }
}
