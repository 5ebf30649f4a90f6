//! An address field of a notification form, shared by a connection's settings and the global
//! defaults: the input, its check as the user types, and "Send test message".

use super::form::{FieldError, FormErrors, error_id, server_message};
use crate::{
    domain::IncidentStatus,
    forms::IncidentSettingsForm as Form,
    server_fns::{SendTestMessage, TestMessage},
};
use leptos::{html, prelude::*};

/// One status's address field, with its "Send test message" button and the test's outcome.
/// `connection` is empty on the global defaults page.
#[component]
pub fn WebhookField(
    connection: String,
    status: IncidentStatus,
    errors: FormErrors,
    value: String,
    placeholder: String,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let test = ServerAction::<SendTestMessage>::new();
    let send_test = move |_| {
        let addresses = input.get().map(|input| input.value()).unwrap_or_default();
        test.dispatch(SendTestMessage {
            connection: connection.clone(),
            status: status.as_str().to_owned(),
            addresses,
        });
    };
    let field = Form::address_field(status);
    let label = match status {
        IncidentStatus::Open => "A new incident was opened (detected)",
        IncidentStatus::Acknowledged => "An incident was acknowledged",
        IncidentStatus::Resolved => "An incident was resolved",
        IncidentStatus::Muted => "An incident was muted",
    };
    let id = format!("webhook-{status}");
    let message = errors.message(field);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <div class="with-button">
            <input
                id=id
                node_ref=input
                name=format!("form[{field}]")
                type="text"
                class="wide"
                value=value
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                aria-invalid=move || message.get().is_some().to_string()
                aria-describedby=error_id(field)
                on:input=move |ev| errors.recheck(field, Form::parse_addresses(&event_target_value(&ev)))
                on:change=move |ev| errors.check(field, Form::parse_addresses(&event_target_value(&ev)))
            />
            <button type="button" class="test-button" on:click=send_test disabled=move || test.pending().get()>
                "Send test message"
            </button>
            </div>
            <FieldError errors field/>
            <TestResult test/>
        </div>
    }
}

/// What the last test message did, under its field.
#[component]
fn TestResult(test: ServerAction<SendTestMessage>) -> impl IntoView {
    move || {
        if test.pending().get() {
            return view! { <p class="test-result" role="status">"Sending a test message…"</p> }.into_any();
        }
        match test.value().get() {
            None => ().into_any(),
            Some(Ok(TestMessage::Invalid(reason))) => {
                view! { <p class="test-result failed" role="status">{format!("No test message sent: {reason}")}</p> }
                    .into_any()
            }
            Some(Ok(TestMessage::Sent(outcomes))) => view! {
                <ul class="test-result" role="status">
                    {outcomes
                        .into_iter()
                        .map(|outcome| {
                            let (class, verdict) =
                                if outcome.delivered { ("delivered", "delivered") } else { ("failed", "not delivered") };
                            view! { <li class=class>{format!("{}: {verdict} ({})", outcome.address, outcome.detail)}</li> }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
            Some(Err(error)) => {
                view! { <p class="test-result failed" role="status">{server_message(&error)}</p> }.into_any()
            }
        }
    }
}
