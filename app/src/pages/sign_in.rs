//! The sign-in page, when `TOCSIN_AUTH=on`. The form posts to the server's `/sign-in` handler
//! (not a server function), so it works the same with JavaScript on and off; a rejected attempt
//! comes back here with the reason and the name that was typed.

use crate::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).unwrap_or_default();
    let error = move || match param("error").as_str() {
        "" => None,
        "invalid" => Some("The user name or the password is wrong."),
        "signed-out" => None,
        _ => Some("Sign in again."),
    };
    view! {
        <Title text="Sign in"/>
        <section class="card sign-in" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Sign in to Tocsin"</h1>
            <Show when=move || param("error") == "signed-out">
                <p class="notice success" role="status">"You have signed out."</p>
            </Show>
            {move || error().map(|message| view! { <p class="notice failure" role="alert">{message}</p> })}
            <form method="post" action=paths::SIGN_IN>
                <input type="hidden" name="next" value=move || param("next")/>
                <div class="field">
                    <label for="user">"User name"</label>
                    <input id="user" name="user" type="text" autocomplete="username" required value=move || param("user")/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                </div>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <p class="hint">"Accounts are added on the server: " <code>"tocsin user add NAME"</code> "."</p>
        </section>
    }
}
