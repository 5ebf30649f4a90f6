//! The Data Sources page: the list of connections and the "Add connection" form.

use super::form::{FieldError, FormErrors, Outcome, SaveNotice, error_id, server_message};
use crate::{
    domain::{ConnectionName, Description, ProviderType},
    forms::ConnectionForm,
    paths,
    server_fns::{CreateConnection, FormOutcome, list_connections},
};
use leptos::{html, prelude::*};
use leptos_meta::Title;

const FIELDS: &[&str] = &[ConnectionForm::NAME, ConnectionForm::PROVIDER_TYPE, ConnectionForm::DESCRIPTION];

#[component]
pub fn DataSourcesPage() -> impl IntoView {
    let create = ServerAction::<CreateConnection>::new();
    let connections = Resource::new(move || create.version().get(), |_| list_connections());
    view! {
        <Title text="Data Sources"/>
        <h1>"Data Sources"</h1>
        <section class="card" aria-labelledby="connections-heading">
            <h2 id="connections-heading">"Connections"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading connections…"</p> }>
                {move || Suspend::new(async move {
                    match connections.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted">"No connections yet. Add the first one below."</p> }
                                .into_any()
                        }
                        Ok(list) => view! { <ConnectionTable connections=list/> }.into_any(),
                        Err(error) => {
                            view! { <p class="notice failure">{server_message(&error)}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
        <AddConnection create/>
    }
}

#[component]
fn ConnectionTable(connections: Vec<crate::domain::Connection>) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Provider type"</th>
                    <th scope="col">"Description"</th>
                </tr>
            </thead>
            <tbody>
                {connections
                    .into_iter()
                    .map(|connection| {
                        view! {
                            <tr>
                                <td>
                                    <a href=paths::connection(&connection.name)>
                                        {connection.name.to_string()}
                                    </a>
                                </td>
                                <td>{connection.provider_type.label()}</td>
                                <td>{connection.description.as_str().to_owned()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn AddConnection(create: ServerAction<CreateConnection>) -> impl IntoView {
    let outcome: Outcome = Signal::derive(move || create.value().get());
    let errors = FormErrors::new(FIELDS, outcome);
    let form_ref = NodeRef::<html::Form>::new();
    // After a connection is created the form is emptied, ready for the next one.
    Effect::new(move |_| {
        if let (Some(Ok(FormOutcome::Saved)), Some(form)) = (outcome.get(), form_ref.get()) {
            form.reset();
        }
    });
    let name_error = errors.message(ConnectionForm::NAME);
    view! {
        <section class="card" aria-labelledby="add-connection-heading">
            <h2 id="add-connection-heading">"Add connection"</h2>
            <SaveNotice outcome errors saved_text="Connection added."/>
            <ActionForm action=create node_ref=form_ref attr:novalidate=true attr:class="stacked">
                <div class="field">
                    <label for="connection-name">"Name"</label>
                    <input
                        id="connection-name"
                        name="form[name]"
                        type="text"
                        required
                        maxlength=ConnectionName::MAX_LEN
                        autocomplete="off"
                        aria-invalid=move || name_error.get().is_some().to_string()
                        aria-describedby=error_id(ConnectionForm::NAME)
                        on:input=move |ev| errors.recheck(ConnectionForm::NAME, ConnectionName::parse(&event_target_value(&ev)))
                        on:change=move |ev| errors.check(ConnectionForm::NAME, ConnectionName::parse(&event_target_value(&ev)))
                    />
                    <p class="hint">"Letters, digits, '_', '-' and '.'; at most 200 characters."</p>
                    <FieldError errors field=ConnectionForm::NAME/>
                </div>
                <div class="field">
                    <label for="connection-provider">"Provider type"</label>
                    <select id="connection-provider" name="form[provider_type]">
                        {ProviderType::ALL
                            .into_iter()
                            .map(|provider| view! { <option value=provider.as_str()>{provider.label()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError errors field=ConnectionForm::PROVIDER_TYPE/>
                </div>
                <div class="field">
                    <label for="connection-description">"Description (optional)"</label>
                    <textarea
                        id="connection-description"
                        name="form[description]"
                        rows="2"
                        maxlength=Description::MAX_LEN
                        on:input=move |ev| errors.recheck(ConnectionForm::DESCRIPTION, Description::parse(&event_target_value(&ev)))
                        on:change=move |ev| errors.check(ConnectionForm::DESCRIPTION, Description::parse(&event_target_value(&ev)))
                    ></textarea>
                    <FieldError errors field=ConnectionForm::DESCRIPTION/>
                </div>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Adding…" } else { "Add connection" }}
                </button>
            </ActionForm>
        </section>
    }
}
