//! A connection's page: its header and tab bar, and the Connection tab with its details.

use super::{
    NotFound,
    form::{FieldError, FormErrors, Outcome, SaveNotice, server_message},
};
use crate::{
    domain::{Connection, Description},
    forms::ConnectionForm,
    paths,
    server_fns::{UpdateConnectionDescription, get_connection},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Connection,
    IncidentsAndNotifications,
}

/// The `:name` segment of the current URL.
pub fn connection_name_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()))
}

/// A connection's heading and tab bar around the active tab's content.
#[component]
pub fn ConnectionFrame(connection: Connection, active: Tab, children: Children) -> impl IntoView {
    let tab = |tab: Tab, href: String, label: &'static str| {
        let current = (tab == active).then_some("page");
        view! {
            <a href=href class="tab" class:active=tab == active aria-current=current>
                {label}
            </a>
        }
    };
    view! {
        <p class="breadcrumb">
            <a href=paths::SOURCES>"Data Sources"</a>
            " / "
            {connection.name.to_string()}
        </p>
        <div class="heading-row">
            <h1>{connection.name.to_string()}</h1>
            <a class="button" href=paths::incidents_of(&connection.name)>"View incidents"</a>
        </div>
        <nav class="tabs" aria-label="Connection">
            {tab(Tab::Connection, paths::connection(&connection.name), "Connection")}
            {tab(
                Tab::IncidentsAndNotifications,
                paths::incident_settings(&connection.name),
                "Incidents and Notifications",
            )}
        </nav>
        <div class="tab-panel">{children()}</div>
    }
}

pub fn unknown_connection(name: &str) -> impl IntoView + use<> {
    view! { <NotFound message=format!("There is no connection named \u{201c}{name}\u{201d}.")/> }
}

#[component]
pub fn ConnectionDetailsPage() -> impl IntoView {
    let name = connection_name_param();
    let connection = Resource::new(move || name.get(), get_connection);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match connection.await {
                    Ok(Some(connection)) => {
                        view! {
                            <Title text=connection.name.to_string()/>
                            <ConnectionFrame connection=connection.clone() active=Tab::Connection>
                                <ConnectionDetails connection=connection.clone()/>
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

#[component]
fn ConnectionDetails(connection: Connection) -> impl IntoView {
    let update = ServerAction::<UpdateConnectionDescription>::new();
    let outcome: Outcome = Signal::derive(move || update.value().get());
    let errors = FormErrors::new(&[ConnectionForm::DESCRIPTION], outcome);
    view! {
        <section class="card">
            <dl class="facts">
                <dt>"Name"</dt>
                <dd>{connection.name.to_string()}</dd>
                <dt>"Provider type"</dt>
                <dd>{connection.provider_type.label()}</dd>
            </dl>
            <SaveNotice outcome errors saved_text="Description saved."/>
            <ActionForm action=update attr:novalidate=true attr:class="stacked">
                <input type="hidden" name="connection" value=connection.name.to_string()/>
                <div class="field">
                    <label for="connection-description">"Description"</label>
                    <textarea
                        id="connection-description"
                        name="description"
                        rows="3"
                        maxlength=Description::MAX_LEN
                        on:input=move |ev| errors.recheck(ConnectionForm::DESCRIPTION, Description::parse(&event_target_value(&ev)))
                        on:change=move |ev| errors.check(ConnectionForm::DESCRIPTION, Description::parse(&event_target_value(&ev)))
                    >
                        {connection.description.as_str().to_owned()}
                    </textarea>
                    <FieldError errors field=ConnectionForm::DESCRIPTION/>
                </div>
                <button type="submit" class="primary" disabled=move || update.pending().get()>
                    "Save"
                </button>
            </ActionForm>
        </section>
    }
}
