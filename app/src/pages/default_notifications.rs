//! Global incident notifications: the addresses used for every connection that leaves a status's
//! field empty (DQOps' default notifications).

use super::{
    filters::FilterTable,
    form::{FormErrors, Outcome, SaveButton, SaveNotice, server_message},
    webhooks::WebhookField,
};
use crate::{
    domain::{FilterOwner, IncidentStatus, NotificationAddresses},
    forms::DefaultNotificationsForm as Form,
    server_fns::{SaveDefaultNotifications, get_default_notifications},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DefaultNotificationsPage() -> impl IntoView {
    // Loaded once and never refetched after a save, so a rejected save keeps what was typed.
    let defaults = Resource::new(|| (), |_| get_default_notifications());
    view! {
        <Title text="Global incident notifications"/>
        <h1>"Global incident notifications"</h1>
        <p class="muted">
            "Where notifications go for every connection whose own address for that status is empty. "
            "A connection that should notify nobody for a status ticks “When empty, notify nobody” under that field."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match defaults.await {
                    Ok(defaults) => view! { <DefaultsForm defaults/> }.into_any(),
                    Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DefaultsForm(defaults: NotificationAddresses) -> impl IntoView {
    let save = ServerAction::<SaveDefaultNotifications>::new();
    let outcome: Outcome = Signal::derive(move || save.value().get());
    let errors = FormErrors::new(Form::FIELDS, outcome);
    let saved = Form::from_addresses(&defaults);
    view! {
        <SaveNotice outcome errors saved_text="Global notification addresses saved."/>
        <ActionForm action=save attr:novalidate=true attr:class="settings">
            <section class="card" aria-labelledby="defaults-heading">
                <h2 id="defaults-heading">"Webhooks for notifications of an incident state change"</h2>
                <p class="hint">
                    "One webhook URL, or several separated by commas. Each must be an absolute http:// or https:// URL."
                </p>
                {IncidentStatus::ALL
                    .into_iter()
                    .map(|status| {
                        view! {
                            <WebhookField
                                connection=String::new()
                                status
                                errors
                                value=saved.addresses(status).to_owned()
                                placeholder="https://hooks.slack.com/services/…".to_owned()
                            />
                        }
                    })
                    .collect_view()}
            </section>
            <SaveButton pending=save.pending()/>
        </ActionForm>
        <FilterTable owner=FilterOwner::Global addresses=defaults/>
    }
}
