//! The frame every page shares: the brand and the top navigation.

use crate::paths;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href=paths::SOURCES>"Tocsin"</a>
            <nav aria-label="Main">
                <A href=paths::SOURCES>"Data Sources"</A>
                <A href=paths::INCIDENTS>"Incidents"</A>
                <A href=paths::DEFAULT_NOTIFICATIONS>"Global notifications"</A>
                <A href=paths::ACCESS>"Access"</A>
            </nav>
        </header>
    }
}
