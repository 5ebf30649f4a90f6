//! The page shown, with HTTP status 404, for an unknown URL or connection.

use crate::paths;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound(#[prop(optional, into)] message: Option<String>) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let message = message.unwrap_or_else(|| "There is no page at this address.".to_owned());
    view! {
        <Title text="Not found"/>
        <section class="not-found">
            <h1>"Not found"</h1>
            <p>{message}</p>
            <p>
                <a href=paths::SOURCES>"Back to Data Sources"</a>
            </p>
        </section>
    }
}
