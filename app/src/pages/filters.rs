//! Filtered notifications in the UI: the table on a connection's Incidents and Notifications page
//! (and on Global incident notifications), and the form that adds or edits one.

use super::{
    form::{FieldError, FormErrors, Outcome, SaveButton, SaveNotice, error_id, server_message},
    not_found::NotFound,
    webhooks::WebhookField,
};
use crate::{
    domain::{
        CheckType, ConnectionName, FilterName, FilterOwner, FilteredNotification, IncidentStatus,
        NotificationAddresses, NotificationFilter,
    },
    forms::FilterForm as Form,
    paths,
    server_fns::{DeleteFilter, FormOutcome, SaveFilter, get_filter, list_filters},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// `connection` as the server functions take it: empty for the global filters.
fn owner_key(owner: &FilterOwner) -> String {
    match owner {
        FilterOwner::Connection(name) => name.to_string(),
        FilterOwner::Global => String::new(),
    }
}

/// What a filter matches, field by field, as `schema = finance · table = fact_*`.
fn summary(filter: &NotificationFilter) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut add = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{label} = {value}"));
        }
    };
    let text = |pattern: &Option<crate::domain::SearchPattern>| pattern.as_ref().map(ToString::to_string);
    add("connection", text(&filter.connection));
    add("schema", text(&filter.schema));
    add("table", text(&filter.table));
    add("table priority", filter.table_priority.map(|p| p.to_string()));
    add("data group", text(&filter.data_group_name));
    add("quality dimension", filter.quality_dimension.clone());
    add("check category", filter.check_category.clone());
    add("check type", filter.check_type.map(|t| t.as_str().to_owned()));
    add("check name", text(&filter.check_name));
    add("highest severity", filter.highest_severity.map(|s| s.label().to_lowercase()));
    if parts.is_empty() { "every incident".to_owned() } else { parts.join(" · ") }
}

/// Where a filter (or the defaults) sends, per status, with addresses masked.
fn targets(addresses: &NotificationAddresses) -> String {
    let parts: Vec<String> = IncidentStatus::ALL
        .into_iter()
        .filter_map(|status| {
            let list = addresses.for_status(status).filter(|list| !list.is_empty())?;
            let masked: Vec<String> = list.urls().iter().map(|url| url.redacted()).collect();
            Some(format!("{status}: {}", masked.join(", ")))
        })
        .collect();
    if parts.is_empty() { "nobody".to_owned() } else { parts.join("; ") }
}

/// The filters of `owner`, tried in the order shown, then a synthetic `default` row for the
/// plain `addresses`, which apply when no filter matched (or every match went on).
#[component]
pub fn FilterTable(owner: FilterOwner, addresses: NotificationAddresses) -> impl IntoView {
    let delete = ServerAction::<DeleteFilter>::new();
    let key = owner_key(&owner);
    let filters = Resource::new(move || delete.version().get(), move |_| list_filters(key.clone()));
    let add_link = paths::filter_form(&owner, None);
    view! {
        <section class="card" aria-labelledby="filters-heading">
            <h2 id="filters-heading">"Filtered notifications"</h2>
            <p class="hint">
                "Filters route matching incidents to their own addresses: "
                {match owner {
                    FilterOwner::Connection(_) => "this connection's filters first, then the global ones, ",
                    FilterOwner::Global => "every connection's own filters first, then these, ",
                }}
                "each by priority. The first match wins unless it goes on to further filters; the default addresses apply when nothing matched or every match went on."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {
                    let owner = owner.clone();
                    let addresses = addresses.clone();
                    move || {
                        let owner = owner.clone();
                        let addresses = addresses.clone();
                        Suspend::new(async move {
                            match filters.await {
                                Ok(Some(filters)) => view! { <FilterRows owner filters addresses delete/> }.into_any(),
                                Ok(None) => view! { <p class="muted">"No such connection."</p> }.into_any(),
                                Err(error) => {
                                    view! { <p class="notice failure">{server_message(&error)}</p> }.into_any()
                                }
                            }
                        })
                    }
                }
            </Transition>
            <p>
                <a class="button" href=add_link>"Add filtered notification"</a>
            </p>
        </section>
    }
}

#[component]
fn FilterRows(
    owner: FilterOwner,
    filters: Vec<FilteredNotification>,
    addresses: NotificationAddresses,
    delete: ServerAction<DeleteFilter>,
) -> impl IntoView {
    let mut sorted = filters;
    sorted.sort_by_key(|filter| filter.priority);
    view! {
        <table class="list filters">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Priority"</th>
                    <th scope="col">"Matches"</th>
                    <th scope="col">"Sends to"</th>
                    <th scope="col">"Options"</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>
                {sorted
                    .into_iter()
                    .map(|filter| view! { <FilterRow owner=owner.clone() filter delete/> })
                    .collect_view()}
                <tr class="default-row">
                    <td>"default"</td>
                    <td>"—"</td>
                    <td>"incidents no filter took"</td>
                    <td>{targets(&addresses)}</td>
                    <td></td>
                    <td></td>
                </tr>
            </tbody>
        </table>
    }
}

#[component]
fn FilterRow(owner: FilterOwner, filter: FilteredNotification, delete: ServerAction<DeleteFilter>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let name = filter.name.to_string();
    let edit = paths::filter_form(&owner, Some(&name));
    let mut options = Vec::new();
    if filter.process_additional_filters {
        options.push("goes on");
    }
    if filter.do_not_create_incidents {
        options.push("opens no incident");
    }
    if filter.disabled {
        options.push("disabled");
    }
    let key = owner_key(&owner);
    let delete_name = name.clone();
    view! {
        <tr class:disabled=filter.disabled>
            <td>
                <a href=edit.clone()>{name.clone()}</a>
            </td>
            <td>{filter.priority}</td>
            <td>{summary(&filter.filter)}</td>
            <td>{targets(&filter.target)}</td>
            <td>{options.join(", ")}</td>
            <td class="actions-cell">
                <a href=edit>"Edit"</a>
                {move || {
                    if confirming.get() {
                        let (key, name) = (key.clone(), delete_name.clone());
                        view! {
                            <span role="alert">{format!("Delete “{name}”?")}</span>
                            <ActionForm action=delete>
                                <input type="hidden" name="connection" value=key/>
                                <input type="hidden" name="name" value=name/>
                                <button type="submit" class="danger">"Yes, delete"</button>
                            </ActionForm>
                            <button type="button" on:click=move |_| confirming.set(false)>
                                "Cancel"
                            </button>
                        }
                            .into_any()
                    } else {
                        view! {
                            <button type="button" on:click=move |_| confirming.set(true)>
                                "Delete"
                            </button>
                        }
                            .into_any()
                    }
                }}
            </td>
        </tr>
    }
}

/// `/sources/connection/{name}/incidents/filters/{filter}` (or `new`), and the same under
/// `/definitions/default-notifications`.
#[component]
pub fn FilterFormPage(global: bool) -> impl IntoView {
    let params = use_params_map();
    let owner = move || {
        if global {
            Some(FilterOwner::Global)
        } else {
            let name = params.with(|p| p.get("name")).unwrap_or_default();
            ConnectionName::parse(&name).ok().map(FilterOwner::Connection)
        }
    };
    let filter_name = move || params.with(|p| p.get("filter")).filter(|name| name != "new");
    let loaded = Resource::new(
        move || (owner(), filter_name()),
        |(owner, name)| async move {
            let Some(owner) = owner else { return Ok(None) };
            match name {
                None => {
                    // A new filter: the owner must exist.
                    let exists = list_filters(owner_key(&owner)).await?.is_some();
                    Ok(exists.then_some((owner, None)))
                }
                Some(name) => {
                    let filter = get_filter(owner_key(&owner), name).await?;
                    Ok(filter.map(|filter| (owner, Some(filter))))
                }
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(Some((owner, filter))) => view! { <FilterEditor owner filter/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FilterEditor(owner: FilterOwner, filter: Option<FilteredNotification>) -> impl IntoView {
    let save = ServerAction::<SaveFilter>::new();
    let outcome: Outcome = Signal::derive(move || save.value().get());
    let errors = FormErrors::new(Form::FIELDS, outcome);
    let home = paths::filters_home(&owner);
    let navigate = use_navigate();
    let back = home.clone();
    Effect::new(move |_| {
        if let Some(Ok(FormOutcome::Saved)) = save.value().get() {
            navigate(&format!("{back}?{}=1", paths::SAVED_PARAM), Default::default());
        }
    });
    let original = filter.as_ref().map(|f| f.name.to_string()).unwrap_or_default();
    let form = match &filter {
        Some(filter) => Form::from_filter(filter),
        None => Form::from_filter(&FilteredNotification::new(FilterName::parse("new filter").expect("a valid name"))),
    };
    let form = if filter.is_none() { Form { name: String::new(), ..form } } else { form };
    let heading = match (&owner, &filter) {
        (FilterOwner::Connection(name), None) => format!("New filtered notification on {name}"),
        (FilterOwner::Global, None) => "New global filtered notification".to_owned(),
        (_, Some(filter)) => format!("Filtered notification “{}”", filter.name),
    };
    let key = owner_key(&owner);
    let text = move |field: &'static str, label: &'static str, value: String, hint: &'static str| {
        let message = errors.message(field);
        let id = format!("filter-{field}");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <input
                    id=id
                    name=format!("form[{field}]")
                    type="text"
                    value=value
                    autocomplete="off"
                    aria-invalid=move || message.get().is_some().to_string()
                    aria-describedby=error_id(field)
                />
                {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
                <FieldError errors field/>
            </div>
        }
    };
    let checkbox = |field: &'static str, label: &'static str, checked: bool| {
        let id = format!("filter-{field}");
        view! {
            <div class="field checkbox">
                <input id=id.clone() name=format!("form[{field}]") type="checkbox" checked=checked/>
                <label for=id>{label}</label>
            </div>
        }
    };
    const PATTERN: &str = "Exact text, or with one * as a wildcard: fact_*, *_eu, *sales*. Empty matches anything.";
    view! {
        <Title text=heading.clone()/>
        <p>
            <a href=home.clone()>"← Back"</a>
        </p>
        <h1>{heading}</h1>
        <SaveNotice outcome errors saved_text="Filtered notification saved."/>
        <ActionForm action=save attr:novalidate=true attr:class="settings">
            <input type="hidden" name="connection" value=key.clone()/>
            <input type="hidden" name="original" value=original/>
            <section class="card" aria-labelledby="filter-heading">
                <h2 id="filter-heading">"Filter"</h2>
                {text("name", "Name", form.name.clone(), "Unique here; no '/'.")}
                {text("priority", "Priority", form.priority.clone(), "Lower is tried first; default 1000.")}
                {text("connection", "Connection", form.connection.clone(), PATTERN)}
                {text("schema", "Schema", form.schema.clone(), PATTERN)}
                {text("table", "Table", form.table.clone(), PATTERN)}
                {text("table_priority", "Table priority", form.table_priority.clone(), "")}
                {text("data_group_name", "Data group", form.data_group_name.clone(), PATTERN)}
                {text("quality_dimension", "Quality dimension", form.quality_dimension.clone(), "Exact, such as Completeness.")}
                {text("check_category", "Check category", form.check_category.clone(), "Exact, such as nulls.")}
                <div class="field">
                    <label for="filter-check_type">"Check type"</label>
                    <select id="filter-check_type" name="form[check_type]">
                        <option value="" selected=form.check_type.is_empty()>"any"</option>
                        {CheckType::ALL
                            .into_iter()
                            .map(|t| view! { <option value=t.as_str() selected=form.check_type == t.as_str()>{t.as_str()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError errors field="check_type"/>
                </div>
                {text("check_name", "Check name", form.check_name.clone(), PATTERN)}
                <div class="field">
                    <label for="filter-highest_severity">"Highest severity"</label>
                    <select id="filter-highest_severity" name="form[highest_severity]">
                        {[("", "any"), ("1", "Warning"), ("2", "Error"), ("3", "Fatal")]
                            .into_iter()
                            .map(|(value, label)| {
                                view! { <option value=value selected=form.highest_severity == value>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                    <FieldError errors field="highest_severity"/>
                </div>
            </section>
            <section class="card" aria-labelledby="filter-targets-heading">
                <h2 id="filter-targets-heading">"Webhooks for notifications of an incident state change"</h2>
                <p class="hint">"An empty field sends nothing for that status when this filter decides."</p>
                {IncidentStatus::ALL
                    .into_iter()
                    .map(|status| {
                        view! {
                            <WebhookField
                                connection=key.clone()
                                status
                                errors
                                value=form.addresses(status).to_owned()
                                placeholder="https://hooks.slack.com/services/…".to_owned()
                            />
                        }
                    })
                    .collect_view()}
                {text("message", "Message", form.message.clone(), "Copied into the notification, such as an SLA note.")}
                {checkbox(
                    "process_additional_filters",
                    "Go on to further filters after this one",
                    form.process_additional_filters.is_some(),
                )}
                {checkbox(
                    "do_not_create_incidents",
                    "Do not open incidents for matching check results",
                    form.do_not_create_incidents.is_some(),
                )}
                {checkbox("disabled", "Disabled", form.disabled.is_some())}
            </section>
            <SaveButton pending=save.pending()/>
        </ActionForm>
    }
}
