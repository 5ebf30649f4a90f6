//! The Incidents and Notifications tab: a connection's incident grouping settings and the four
//! webhook fields, saved together.

use super::{
    connection::{ConnectionFrame, Tab, connection_name_param, unknown_connection},
    filters::FilterTable,
    form::{FieldError, FormErrors, Outcome, SaveButton, SaveNotice, error_id, server_message},
    notifications::DeliveryTable,
    webhooks::WebhookField,
};
use crate::{
    domain::{DayCount, FilterOwner, GroupingLevel, IncidentStatus, MinimumSeverity},
    forms::IncidentSettingsForm as Form,
    paths,
    server_fns::{
        ConnectionSettings, EnableNotificationAddress, RetryNotification, SaveIncidentSettings, get_incident_settings,
        recent_notifications,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

const FIELDS: &[&str] = &[
    Form::GROUPING_LEVEL,
    Form::MINIMUM_SEVERITY,
    Form::DIVIDE_BY_DATA_GROUPS,
    Form::MAX_INCIDENT_LENGTH_DAYS,
    Form::MUTE_FOR_DAYS,
    Form::ENABLED,
    "incident_opened_addresses",
    "incident_acknowledged_addresses",
    "incident_resolved_addresses",
    "incident_muted_addresses",
];

#[component]
pub fn IncidentSettingsPage() -> impl IntoView {
    let name = connection_name_param();
    // Loaded once per connection and never refetched after a save, so a rejected save keeps
    // everything the user typed in the inputs.
    let settings = Resource::new(move || name.get(), get_incident_settings);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(Some(settings)) => {
                        view! {
                            <Title text=format!("{} · Incidents and Notifications", settings.connection.name)/>
                            <ConnectionFrame
                                connection=settings.connection.clone()
                                active=Tab::IncidentsAndNotifications
                            >
                                <SettingsForm settings=settings.clone()/>
                            </ConnectionFrame>
                        }
                            .into_any()
                    }
                    Ok(None) => unknown_connection(&name.get_untracked()).into_any(),
                    Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The input's name in the submitted form (the server function's `form` argument).
fn input_name(field: &str) -> String {
    format!("form[{field}]")
}

/// What an empty address field stands for: the global default, or nobody.
fn inherited_placeholder(settings: &ConnectionSettings, status: IncidentStatus) -> String {
    if settings.grouping.notification.for_status(status).is_some_and(|addresses| addresses.is_empty()) {
        return "Nobody: the global default is not used".to_owned();
    }
    match settings.defaults.for_status(status) {
        Some(addresses) if !addresses.is_empty() => format!("Global default: {addresses}"),
        _ => "https://hooks.slack.com/services/…".to_owned(),
    }
}

#[component]
fn SettingsForm(settings: ConnectionSettings) -> impl IntoView {
    let save = ServerAction::<SaveIncidentSettings>::new();
    let outcome: Outcome = Signal::derive(move || save.value().get());
    let errors = FormErrors::new(FIELDS, outcome);
    let saved = Form::from_settings(&settings.grouping);
    let connection_name = settings.connection.name.to_string();
    let filter_owner = FilterOwner::Connection(settings.connection.name.clone());
    let plain_addresses = settings.grouping.notification.with_defaults(&settings.defaults);
    let days_input = move |field: &'static str, id: &'static str, value: String| {
        let message = errors.message(field);
        view! {
            <input
                id=id
                name=input_name(field)
                type="text"
                inputmode="numeric"
                class="days"
                value=value
                aria-invalid=move || message.get().is_some().to_string()
                aria-describedby=error_id(field)
                on:input=move |ev| errors.recheck(field, DayCount::parse(&event_target_value(&ev)))
                on:change=move |ev| errors.check(field, DayCount::parse(&event_target_value(&ev)))
            />
        }
    };
    view! {
        <SaveNotice outcome errors saved_text="Incident and notification settings saved."/>
        <ActionForm action=save attr:novalidate=true attr:class="settings">
            <input type="hidden" name="connection" value=settings.connection.name.to_string()/>
            <section class="card" aria-labelledby="grouping-heading">
                <h2 id="grouping-heading">"Incident grouping"</h2>
                <div class="field">
                    <label for="grouping-level">"Data quality incident grouping level"</label>
                    <select id="grouping-level" name=input_name(Form::GROUPING_LEVEL)>
                        {GroupingLevel::ALL
                            .into_iter()
                            .map(|level| {
                                view! {
                                    <option value=level.as_str() selected=level == settings.grouping.grouping_level>
                                        {level.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <FieldError errors field=Form::GROUPING_LEVEL/>
                </div>
                <div class="field">
                    <label for="minimum-severity">"Minimum severity level"</label>
                    <select id="minimum-severity" name=input_name(Form::MINIMUM_SEVERITY)>
                        {MinimumSeverity::ALL
                            .into_iter()
                            .map(|severity| {
                                view! {
                                    <option
                                        value=severity.as_str()
                                        selected=severity == settings.grouping.minimum_severity
                                    >
                                        {severity.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <FieldError errors field=Form::MINIMUM_SEVERITY/>
                </div>
                <div class="field checkbox">
                    <input
                        id="divide-by-data-groups"
                        name=input_name(Form::DIVIDE_BY_DATA_GROUPS)
                        type="checkbox"
                        checked=settings.grouping.divide_by_data_groups
                    />
                    <label for="divide-by-data-groups">"Create separate incidents for each data group"</label>
                </div>
                <div class="field inline">
                    <label for="max-incident-length">"Maximum incident duration"</label>
                    {days_input(Form::MAX_INCIDENT_LENGTH_DAYS, "max-incident-length", saved.max_incident_length_days.clone())}
                    <span>"days. After this time, Tocsin creates a new incident."</span>
                    <FieldError errors field=Form::MAX_INCIDENT_LENGTH_DAYS/>
                </div>
                <div class="field inline">
                    <label for="mute-for-days">"Mute data quality issues for"</label>
                    {days_input(Form::MUTE_FOR_DAYS, "mute-for-days", saved.mute_for_days.clone())}
                    <span>"days. If the incident is muted, Tocsin will not create a new one."</span>
                    <FieldError errors field=Form::MUTE_FOR_DAYS/>
                </div>
                <div class="field checkbox">
                    <input
                        id="incidents-enabled"
                        name=input_name(Form::ENABLED)
                        type="checkbox"
                        checked=!settings.grouping.disabled
                    />
                    <label for="incidents-enabled">"Enable data quality incident creation"</label>
                </div>
            </section>
            <section class="card" aria-labelledby="webhooks-heading">
                <h2 id="webhooks-heading">"Webhooks for notifications of an incident state change"</h2>
                <p class="hint">
                    "One webhook URL, or several separated by commas. Each must be an absolute http:// or https:// URL."
                </p>
                <p class="hint">
                    "An empty field uses the "
                    <a href=paths::DEFAULT_NOTIFICATIONS>"global default"</a>
                    ", shown greyed in it."
                </p>
                {IncidentStatus::ALL
                    .into_iter()
                    .map(|status| {
                        let connection = settings.connection.name.to_string();
                        let placeholder = inherited_placeholder(&settings, status);
                        let nobody = Form::nobody_field(status);
                        let id = format!("nobody-{status}");
                        view! {
                            <WebhookField connection status errors value=saved.addresses(status).to_owned() placeholder/>
                            <div class="field checkbox nobody">
                                <input
                                    id=id.clone()
                                    name=input_name(nobody)
                                    type="checkbox"
                                    checked=saved.nobody(status)
                                />
                                <label for=id>"When empty, notify nobody (not even the global default)"</label>
                            </div>
                        }
                    })
                    .collect_view()}
            </section>
            <SaveButton pending=save.pending()/>
        </ActionForm>
        <FilterTable owner=filter_owner addresses=plain_addresses/>
        <RecentNotifications connection=connection_name save/>
    }
}

/// The connection's latest notifications, refreshed after each save, retry or re-enable.
#[component]
fn RecentNotifications(connection: String, save: ServerAction<SaveIncidentSettings>) -> impl IntoView {
    let retry = ServerAction::<RetryNotification>::new();
    let enable = ServerAction::<EnableNotificationAddress>::new();
    let deliveries = Resource::new(
        move || (save.version().get(), retry.version().get(), enable.version().get()),
        move |_| recent_notifications(connection.clone()),
    );
    view! {
        <section class="card" aria-labelledby="recent-notifications-heading">
            <h2 id="recent-notifications-heading">"Recent notifications"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Ok(deliveries) => view! { <DeliveryTable deliveries retry enable/> }.into_any(),
                        Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
