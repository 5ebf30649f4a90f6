//! Pieces the incident pages share: the severity badge and the status select.

use super::form::server_message;
use crate::{
    domain::{Incident, IncidentStatus, Severity},
    server_fns::{FormOutcome, SetIncidentStatus},
};
use leptos::{html, prelude::*};

/// A coloured square and the severity's name (warning yellow, error orange, fatal red).
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! {
        <span class=format!("severity severity-{}", severity.name()) title=severity.label()>
            {severity.label()}
        </span>
    }
}

pub fn status_label(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => "OPEN",
        IncidentStatus::Acknowledged => "ACKNOWLEDGED",
        IncidentStatus::Resolved => "RESOLVED",
        IncidentStatus::Muted => "MUTED",
    }
}

/// A select that changes the incident's status as soon as another value is chosen. Without
/// JavaScript its "Set" button posts the form; once the page is interactive the button is hidden.
#[component]
pub fn StatusSelect(
    incident: Incident,
    action: ServerAction<SetIncidentStatus>,
    #[prop(into)] label: String,
) -> impl IntoView {
    let form_ref = NodeRef::<html::Form>::new();
    let (year, month) = incident.year_month();
    let failure = move || match action.value().get() {
        Some(Err(error)) => Some(server_message(&error)),
        Some(Ok(FormOutcome::Rejected(errors))) => errors.get("status").map(str::to_owned),
        _ => None,
    };
    view! {
        <ActionForm action node_ref=form_ref attr:class="status-form">
            <input type="hidden" name="connection" value=incident.connection.to_string()/>
            <input type="hidden" name="year" value=year/>
            <input type="hidden" name="month" value=month/>
            <input type="hidden" name="id" value=incident.id.clone()/>
            <select
                name="status"
                aria-label=label
                class=format!("status status-{}", incident.status)
                disabled=move || action.pending().get()
                on:change=move |_| {
                    if let Some(form) = form_ref.get() {
                        let _ = form.request_submit();
                    }
                }
            >
                {IncidentStatus::ALL
                    .into_iter()
                    .map(|status| {
                        view! {
                            <option value=status.as_str() selected=status == incident.status>
                                {status_label(status)}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="set-status">"Set"</button>
            {move || failure().map(|message| view! { <span class="field-error" role="alert">{message}</span> })}
        </ActionForm>
    }
}
