//! The Incidents overview. Incident triage is not built yet; the page says so.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn IncidentsPage() -> impl IntoView {
    view! {
        <Title text="Incidents"/>
        <h1>"Incidents"</h1>
        <p class="muted">
            "Coming soon: incidents opened from failed data quality checks will be listed and triaged here."
        </p>
    }
}
