//! A connection's incidents (`/incidents/{connection}`), as DQOps lists them: filters by status,
//! severity, text and months; sortable columns; the status changed in place; pages.

use super::{
    NotFound,
    form::server_message,
    triage::{SeverityBadge, StatusSelect},
};
use crate::{
    domain::{ConnectionName, Incident, IncidentOrder, IncidentPage, IncidentQuery, IncidentStatus, Severity},
    paths,
    server_fns::{SetIncidentStatus, list_incidents},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

/// Reads the list's query string; anything missing or malformed takes DQOps' UI default.
pub fn query_from_params(get: impl Fn(&str) -> Option<String>, get_all: impl Fn(&str) -> Vec<String>) -> IncidentQuery {
    let defaults = IncidentQuery::ui_default();
    let statuses = if get("filtered").is_some() {
        IncidentStatus::ALL.into_iter().filter(|s| get_all("status").iter().any(|v| v == s.as_str())).collect()
    } else {
        defaults.statuses.clone()
    };
    let number = |key: &str| get(key).and_then(|v| v.trim().parse::<u32>().ok());
    IncidentQuery {
        statuses,
        severity: number("severity").and_then(|n| u8::try_from(n).ok()).and_then(|n| Severity::try_from(n).ok()),
        filter: get("filter").map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()),
        months: number("months").filter(|m| (1..=IncidentQuery::MAX_MONTHS).contains(m)).unwrap_or(defaults.months),
        order: get("order").and_then(|o| o.parse().ok()).unwrap_or(defaults.order),
        descending: get("direction").map_or(defaults.descending, |d| d != "asc"),
        page: number("page").filter(|p| *p >= 1).unwrap_or(1),
        ..defaults
    }
}

/// The list's URL showing `query`.
pub fn list_href(connection: &ConnectionName, query: &IncidentQuery) -> String {
    let mut params = vec!["filtered=1".to_owned()];
    params.extend(query.statuses.iter().map(|status| format!("status={status}")));
    if let Some(severity) = query.severity {
        params.push(format!("severity={}", severity.level()));
    }
    if let Some(filter) = &query.filter {
        params.push(format!("filter={}", paths::encode(filter)));
    }
    params.push(format!("months={}", query.months));
    params.push(format!("order={}", query.order.as_str()));
    params.push(format!("direction={}", if query.descending { "desc" } else { "asc" }));
    params.push(format!("page={}", query.page));
    format!("{}?{}", paths::incidents_of(connection), params.join("&"))
}

#[component]
pub fn IncidentListPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let connection = Memo::new(move |_| params.with(|p| p.get("connection").unwrap_or_default()));
    let query = Memo::new(move |_| {
        query_map.with(|q| query_from_params(|key| q.get(key), |key| q.get_all(key).unwrap_or_default()))
    });
    let page = Resource::new(move || (connection.get(), query.get()), |(c, q)| list_incidents(c, q));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading incidents…"</p> }>
            {move || Suspend::new(async move {
                match (page.await, ConnectionName::parse(&connection.get_untracked())) {
                    (Ok(Some(page)), Ok(name)) => {
                        view! { <IncidentList connection=name query=query.get_untracked() page/> }.into_any()
                    }
                    (Ok(_), _) => {
                        let name = connection.get_untracked();
                        view! { <NotFound message=format!("There is no connection named \u{201c}{name}\u{201d}.")/> }
                            .into_any()
                    }
                    (Err(error), _) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn IncidentList(connection: ConnectionName, query: IncidentQuery, page: IncidentPage) -> impl IntoView {
    let title = format!("Data quality incidents on {connection}");
    let pages = page.total.div_ceil(query.limit).max(1);
    let sort_link = {
        let (connection, query) = (connection.clone(), query.clone());
        move |order: IncidentOrder, label: &'static str| {
            let active = query.order == order;
            let descending = if active {
                !query.descending
            } else {
                matches!(
                    order,
                    IncidentOrder::FirstSeen
                        | IncidentOrder::LastSeen
                        | IncidentOrder::HighestSeverity
                        | IncidentOrder::FailedChecksCount
                )
            };
            let href = list_href(&connection, &IncidentQuery { order, descending, page: 1, ..query.clone() });
            let arrow = match (active, query.descending) {
                (false, _) => "",
                (true, true) => " ↓",
                (true, false) => " ↑",
            };
            let sort = match (active, query.descending) {
                (false, _) => "none",
                (true, true) => "descending",
                (true, false) => "ascending",
            };
            view! {
                <th scope="col" aria-sort=sort>
                    <a href=href>{label}{arrow}</a>
                </th>
            }
        }
    };
    let page_link = {
        let (connection, query) = (connection.clone(), query.clone());
        move |page: u32| list_href(&connection, &IncidentQuery { page, ..query.clone() })
    };
    view! {
        <Title text=title.clone()/>
        <p class="breadcrumb">
            <a href=paths::INCIDENTS>"Incidents"</a>
            " / "
            {connection.to_string()}
        </p>
        <div class="heading-row">
            <h1>{title}</h1>
            <a class="button" href=paths::incident_settings(&connection)>"Configure"</a>
        </div>
        <Filters connection=connection.clone() query=query.clone()/>
        <section class="card">
            {if page.incidents.is_empty() {
                view! { <p class="muted">"No incidents match these filters."</p> }.into_any()
            } else {
                view! {
                    <table class="list incidents">
                        <thead>
                            <tr>
                                <th scope="col">"Resolution status"</th>
                                {sort_link(IncidentOrder::HighestSeverity, "Severity")}
                                {sort_link(IncidentOrder::FailedChecksCount, "Total issues")}
                                <th scope="col">"Schema"</th>
                                {sort_link(IncidentOrder::Table, "Table")}
                                {sort_link(IncidentOrder::QualityDimension, "Data quality issue grouping")}
                                {sort_link(IncidentOrder::FirstSeen, "First seen")}
                                {sort_link(IncidentOrder::LastSeen, "Last seen")}
                                <th scope="col">"Issue link"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.incidents.into_iter().map(|incident| view! { <IncidentRow incident/> }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            <nav class="pager" aria-label="Pages">
                <span>{format!("Page {} of {pages} · {} incidents", query.page, page.total)}</span>
                {(query.page > 1).then(|| view! { <a href=page_link(query.page - 1) rel="prev">"Previous"</a> })}
                {(query.page < pages).then(|| view! { <a href=page_link(query.page + 1) rel="next">"Next"</a> })}
            </nav>
        </section>
    }
}

#[component]
fn Filters(connection: ConnectionName, query: IncidentQuery) -> impl IntoView {
    let months = [(1, "Current month"), (2, "Last 2 months"), (3, "Last 3 months")];
    view! {
        <Form method="GET" action=paths::incidents_of(&connection) attr:class="filters card">
            <input type="hidden" name="filtered" value="1"/>
            <input type="hidden" name="order" value=query.order.as_str()/>
            <input type="hidden" name="direction" value=if query.descending { "desc" } else { "asc" }/>
            <fieldset class="statuses">
                <legend>"Status"</legend>
                {IncidentStatus::ALL
                    .into_iter()
                    .map(|status| {
                        let id = format!("filter-status-{status}");
                        let label = match status {
                            IncidentStatus::Open => "Open",
                            IncidentStatus::Acknowledged => "Acknowledged",
                            IncidentStatus::Resolved => "Resolved",
                            IncidentStatus::Muted => "Muted",
                        };
                        view! {
                            <span class="check">
                                <input
                                    type="checkbox"
                                    id=id.clone()
                                    name="status"
                                    value=status.as_str()
                                    checked=query.statuses.contains(&status)
                                />
                                <label for=id>{label}</label>
                            </span>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="field">
                <label for="filter-severity">"Severity"</label>
                <select id="filter-severity" name="severity">
                    <option value="" selected=query.severity.is_none()>"Any severity"</option>
                    {[Severity::Warning, Severity::Error, Severity::Fatal]
                        .into_iter()
                        .map(|severity| {
                            view! {
                                <option value=severity.level() selected=query.severity == Some(severity)>
                                    {severity.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-text">"Filter incidents"</label>
                <input
                    id="filter-text"
                    type="search"
                    name="filter"
                    placeholder="table, dimension, check…"
                    value=query.filter.clone().unwrap_or_default()
                />
            </div>
            <div class="field">
                <label for="filter-months">"Period"</label>
                <select id="filter-months" name="months">
                    {months
                        .into_iter()
                        .map(|(n, label)| view! { <option value=n selected=query.months == n>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="primary">"Apply"</button>
        </Form>
    }
}

#[component]
fn IncidentRow(incident: Incident) -> impl IntoView {
    let (year, month) = incident.year_month();
    let href = paths::incident(&incident.connection, year, month, &incident.id);
    let grouping = match incident.grouping_label() {
        label if label.is_empty() => "(whole table)".to_owned(),
        label => label,
    };
    let action = ServerAction::<SetIncidentStatus>::new();
    let status_label = format!("Resolution status of the incident on {}", incident.table);
    view! {
        <tr>
            <td>
                <StatusSelect incident=incident.clone() action label=status_label/>
            </td>
            <td>
                <SeverityBadge severity=incident.highest_severity/>
            </td>
            <td class="number">{incident.failed_checks_count}</td>
            <td>{incident.schema.clone()}</td>
            <td>{incident.table.clone()}</td>
            <td>
                <a href=href>{grouping}</a>
            </td>
            <td class="date">{incident.first_seen.to_string()}</td>
            <td class="date">{incident.last_seen.to_string()}</td>
            <td>
                {incident.issue_url.clone().map(|url| {
                    let shown = shorten(&url);
                    view! { <a href=url rel="noreferrer noopener" target="_blank">{shown}</a> }
                })}
            </td>
        </tr>
    }
}

/// The last 15 characters of a long link, as DQOps shows it.
fn shorten(url: &str) -> String {
    let chars: Vec<char> = url.chars().collect();
    if chars.len() <= 18 {
        url.to_owned()
    } else {
        format!("...{}", chars[chars.len() - 15..].iter().collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> IncidentQuery {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        query_from_params(
            |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
            |key| pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect(),
        )
    }

    #[test]
    fn an_empty_query_gives_dqops_ui_defaults() {
        assert_eq!(parse(""), IncidentQuery::ui_default());
    }

    #[test]
    fn list_links_round_trip_through_the_query_string() {
        let connection = ConnectionName::parse("dwh").unwrap();
        let query = IncidentQuery {
            statuses: vec![IncidentStatus::Resolved, IncidentStatus::Muted],
            severity: Some(Severity::Fatal),
            filter: Some("orders".into()),
            months: 2,
            order: IncidentOrder::Table,
            descending: false,
            page: 3,
            ..IncidentQuery::ui_default()
        };
        let href = list_href(&connection, &query);
        assert!(href.starts_with("/incidents/dwh?filtered=1&status=resolved&status=muted&severity=3"), "{href}");
        assert_eq!(parse(href.split_once('?').unwrap().1), query);
        assert_eq!(parse("filtered=1").statuses, Vec::<IncidentStatus>::new(), "every status unticked");
        assert_eq!(parse("severity=9&months=0&page=0&order=size").severity, None);
    }

    #[test]
    fn long_issue_links_show_their_last_15_characters() {
        assert_eq!(shorten("https://t.io/1"), "https://t.io/1");
        assert_eq!(shorten("https://tickets.example.com/browse/DQ-4242"), ".../browse/DQ-4242");
    }
}
