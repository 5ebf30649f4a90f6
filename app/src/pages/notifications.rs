//! The notifications of a connection or an incident: each delivery's address (masked), state and
//! attempts, with "Retry now" for failed ones and "Re-enable" for disabled addresses.

use super::triage::status_label;
use crate::{
    domain::{Delivery, DeliveryAttempt, DeliveryState},
    server_fns::{EnableNotificationAddress, RetryNotification},
};
use leptos::prelude::*;

fn state_text(delivery: &Delivery) -> String {
    let error = delivery.last_error.clone().unwrap_or_default();
    match delivery.state {
        DeliveryState::Pending if delivery.attempts == 0 => "pending".to_owned(),
        DeliveryState::Pending => match delivery.next_attempt_at {
            Some(at) => format!("retrying at {at}: {error}"),
            None => format!("retrying: {error}"),
        },
        DeliveryState::Delivered => "delivered".to_owned(),
        DeliveryState::Failed => format!("failed: {error}"),
        DeliveryState::Skipped => format!("skipped: {error}"),
    }
}

fn attempt_text(attempt: &DeliveryAttempt) -> String {
    let answer = match (attempt.http_status, &attempt.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => String::new(),
    };
    let excerpt =
        attempt.response_excerpt.as_deref().map(|e| format!(" “{}”", e.chars().take(120).collect::<String>()));
    format!(
        "#{} {} · {} ms · {answer}{}",
        attempt.attempt,
        attempt.started_at,
        attempt.duration_ms,
        excerpt.unwrap_or_default()
    )
}

/// Which filters (or the default addresses) decided where an incident's notifications went, and
/// the addresses each sent to.
#[component]
pub fn RouteSummary(deliveries: Vec<Delivery>) -> impl IntoView {
    let mut routes: Vec<(String, Vec<String>)> = Vec::new();
    for delivery in &deliveries {
        let route = delivery.route.as_ref().map_or_else(|| "not recorded".to_owned(), |route| route.describe());
        match routes.iter_mut().find(|(known, _)| *known == route) {
            Some((_, addresses)) if addresses.contains(&delivery.address) => {}
            Some((_, addresses)) => addresses.push(delivery.address.clone()),
            None => routes.push((route, vec![delivery.address.clone()])),
        }
    }
    (!routes.is_empty()).then(|| {
        view! {
            <ul class="routes" aria-label="Notification routing">
                {routes
                    .into_iter()
                    .map(|(route, addresses)| view! { <li>"Routed by " {route} ": " <code>{addresses.join(", ")}</code></li> })
                    .collect_view()}
            </ul>
        }
    })
}

#[component]
pub fn DeliveryTable(
    deliveries: Vec<Delivery>,
    retry: ServerAction<RetryNotification>,
    enable: ServerAction<EnableNotificationAddress>,
) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="muted">"No notifications yet."</p> }.into_any();
    }
    view! {
        <table class="list notifications">
            <thead>
                <tr>
                    <th scope="col">"Queued"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Routed by"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Attempts"</th>
                    <th scope="col"></th>
                </tr>
            </thead>
            <tbody>
                {deliveries
                    .into_iter()
                    .map(|delivery| {
                        let state = state_text(&delivery);
                        let retryable = matches!(delivery.state, DeliveryState::Failed | DeliveryState::Skipped);
                        let id = delivery.id;
                        view! {
                            <tr class=format!("delivery-{}", delivery.state)>
                                <td class="date">{delivery.created_at.to_string()}</td>
                                <td>{status_label(delivery.incident_status)}</td>
                                <td>
                                    <code>{delivery.address.clone()}</code>
                                    {delivery.address_disabled.then(|| view! { <span class="flag">"disabled"</span> })}
                                </td>
                                <td class="route">
                                    {delivery.route.as_ref().map_or_else(|| "—".to_owned(), |route| route.describe())}
                                </td>
                                <td class="state">{state}</td>
                                <td class="attempts">
                                    {delivery.history.iter().map(|a| view! { <div>{attempt_text(a)}</div> }).collect_view()}
                                </td>
                                <td class="actions-cell">
                                    {retryable.then(|| view! {
                                        <ActionForm action=retry>
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit">"Retry now"</button>
                                        </ActionForm>
                                    })}
                                    {delivery.address_disabled.then(|| view! {
                                        <ActionForm action=enable>
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit">"Re-enable"</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
