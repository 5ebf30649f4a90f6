//! `/settings/access`: who is signed in (with Sign out), and the API tokens scripts and DQOps use
//! for the REST API. A token is shown once, when it is created; the list shows its last characters.

use super::form::server_message;
use crate::{
    domain::ApiToken,
    paths,
    server_fns::{AccessInfo, CreateApiToken, NewToken, RevokeApiToken, access_overview},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccessPage() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let overview = Resource::new(move || (create.version().get(), revoke.version().get()), |_| access_overview());
    view! {
        <Title text="Access"/>
        <h1>"Access"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <Overview overview create revoke/> }.into_any(),
                    Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Overview(
    overview: AccessInfo,
    create: ServerAction<CreateApiToken>,
    revoke: ServerAction<RevokeApiToken>,
) -> impl IntoView {
    let session = match (overview.sign_in_required, overview.user) {
        (true, Some(user)) => view! {
            <section class="card" aria-labelledby="session-heading">
                <h2 id="session-heading">"Session"</h2>
                <p>"Signed in as " <strong>{user}</strong> "."</p>
                <form method="post" action=paths::SIGN_OUT>
                    <button type="submit">"Sign out"</button>
                </form>
            </section>
        }
        .into_any(),
        _ => view! {
            <p class="notice" role="note">
                "Sign-in is off: anyone who can reach Tocsin can use it, and the REST API needs no token. "
                "Start Tocsin with TOCSIN_AUTH=on to require both; the tokens below then work."
            </p>
        }
        .into_any(),
    };
    let tokens = overview.tokens;
    view! {
        {session}
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="hint">
                "Scripts and DQOps send a token as " <code>"Authorization: Bearer tocsin_…"</code>
                ". Tocsin keeps only a hash of each token, so it is shown once, when it is created."
            </p>
            <NewTokenForm create/>
            {if tokens.is_empty() {
                view! { <p class="muted">"No API tokens yet."</p> }.into_any()
            } else {
                view! {
                    <table class="list tokens">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Token"</th>
                                <th>"Created"</th>
                                <th>"Status"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {tokens.into_iter().map(|token| view! { <TokenRow token revoke/> }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn NewTokenForm(create: ServerAction<CreateApiToken>) -> impl IntoView {
    let result = move || match create.value().get() {
        Some(Ok(NewToken::Created { token, secret })) => view! {
            <div class="notice success new-token" role="status">
                <p>{format!("Token “{}” created. Copy it now: it is not shown again.", token.name)}</p>
                <code class="secret">{secret}</code>
            </div>
        }
        .into_any(),
        Some(Ok(NewToken::Invalid(message))) => {
            view! { <p class="notice failure" role="alert">{message}</p> }.into_any()
        }
        Some(Err(error)) => view! { <p class="notice failure" role="alert">{server_message(&error)}</p> }.into_any(),
        None => ().into_any(),
    };
    view! {
        {result}
        <ActionForm action=create attr:class="new-token-form">
            <div class="field inline">
                <label for="token-name">"New token for"</label>
                <input id="token-name" name="name" type="text" placeholder="dqops-production" maxlength="200"/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create token"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn TokenRow(token: ApiToken, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    let revoked = token.revoked_at.is_some();
    let status = match token.revoked_at {
        Some(at) => format!("revoked {}", at.date_string()),
        None => "active".to_owned(),
    };
    view! {
        <tr class:disabled=revoked>
            <td>{token.name.to_string()}</td>
            <td>
                <code>{token.display()}</code>
            </td>
            <td>{token.created_at.date_string()}</td>
            <td>{status}</td>
            <td class="actions-cell">
                <Show when=move || !revoked>
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=token.id/>
                        <button type="submit" class="danger">"Revoke"</button>
                    </ActionForm>
                </Show>
            </td>
        </tr>
    }
}
