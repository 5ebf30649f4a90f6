//! Every page of the web UI, the HTML shell they render in, and the route table.

mod access;
mod connection;
mod default_notifications;
mod filters;
mod form;
mod incident_detail;
mod incident_list;
mod incident_settings;
mod incidents;
mod layout;
mod not_found;
mod notifications;
mod sign_in;
mod sources;
mod triage;
mod webhooks;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

pub use not_found::NotFound;

/// The HTML document the server renders every page into.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Leptos gives every page render a fresh nonce and writes it on its inline scripts; the
    // policy names it, so those scripts run and an injected one would not.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let policy = crate::content_policy::with_nonce(&nonce);
        if let Ok(value) = http::HeaderValue::from_str(&policy) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: mark the page as interactive.
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Stylesheet id="tocsin" href="/pkg/tocsin.css"/>
        <Title formatter=|page: String| format!("{page} · Tocsin")/>
        <Router>
            <layout::Header/>
            <main class="page">
                // Async rendering sends each page whole, so its forms work without JavaScript and
                // a missing connection can answer with status 404.
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/sources") view=sources::DataSourcesPage ssr=SsrMode::Async/>
                    <Route
                        path=path!("/sources/connection/:name")
                        view=connection::ConnectionDetailsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/sources/connection/:name/incidents")
                        view=incident_settings::IncidentSettingsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/sources/connection/:name/incidents/filters/:filter")
                        view=|| view! { <filters::FilterFormPage global=false/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/definitions/default-notifications/filters/:filter")
                        view=|| view! { <filters::FilterFormPage global=true/> }
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/incidents") view=incidents::IncidentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=sign_in::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/access") view=access::AccessPage ssr=SsrMode::Async/>
                    <Route
                        path=path!("/definitions/default-notifications")
                        view=default_notifications::DefaultNotificationsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/incidents/:connection")
                        view=incident_list::IncidentListPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/incidents/:connection/:year/:month/:id")
                        view=incident_detail::IncidentPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}
