//! Pieces every form shares: per-field error messages, the save notice, and instant checks.

use crate::{domain::FieldErrors, paths, server_fns::FormOutcome};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The result of a form's last submission, if any.
pub type Outcome = Signal<Option<Result<FormOutcome, ServerFnError>>>;

/// The errors a form shows: those of its last submission (or of the query, after a save made
/// without JavaScript), updated as the user fixes each field.
#[derive(Clone, Copy)]
pub struct FormErrors(RwSignal<FieldErrors>);

impl FormErrors {
    /// Starts from the errors carried by the page's query, then follows `outcome`.
    pub fn new(fields: &'static [&'static str], outcome: Outcome) -> Self {
        let query = use_query_map();
        let initial = query.with_untracked(|query| paths::errors_from_query(fields, |key| query.get(key)));
        let errors = RwSignal::new(initial);
        Effect::new(move |_| match outcome.get() {
            Some(Ok(FormOutcome::Rejected(rejected))) => errors.set(rejected),
            Some(Ok(FormOutcome::Saved)) => errors.set(FieldErrors::new()),
            _ => {}
        });
        Self(errors)
    }

    /// Whether the page opened with errors (after a save made without JavaScript).
    fn is_empty_untracked(self) -> bool {
        self.0.with_untracked(FieldErrors::is_empty)
    }

    pub fn message(self, field: &'static str) -> Signal<Option<String>> {
        let errors = self.0;
        Signal::derive(move || errors.with(|errors| errors.get(field).map(str::to_owned)))
    }

    /// While the user types in a field that shows an error, follows the fix as it is typed: the
    /// message changes or goes at once, so the page does not shift under the next click (the
    /// Save button would move away between mouse down and up, and the click would be lost).
    pub fn recheck<T, E: ToString>(self, field: &'static str, result: Result<T, E>) {
        if self.0.with_untracked(|errors| errors.get(field).is_some()) {
            self.check(field, result);
        }
    }

    /// Shows or clears `field`'s error after the browser checked it with the domain parser.
    pub fn check<T, E: ToString>(self, field: &'static str, result: Result<T, E>) {
        self.0.update(|errors| match result {
            Ok(_) => errors.remove(field),
            Err(error) => {
                errors.remove(field);
                errors.add(field, error.to_string());
            }
        });
    }
}

/// The message under a field, tied to it by `id` for assistive technology.
#[component]
pub fn FieldError(errors: FormErrors, field: &'static str) -> impl IntoView {
    let message = errors.message(field);
    view! {
        <Show when=move || message.get().is_some()>
            <p class="field-error" id=error_id(field) role="alert">
                {move || message.get()}
            </p>
        </Show>
    }
}

pub fn error_id(field: &str) -> String {
    format!("{field}-error")
}

/// What the last save said: saved, or why it failed. After a save made without JavaScript, the
/// query says which.
#[component]
pub fn SaveNotice(outcome: Outcome, errors: FormErrors, #[prop(into)] saved_text: String) -> impl IntoView {
    let query = use_query_map();
    let notice = move || match outcome.get() {
        Some(Ok(FormOutcome::Saved)) => Some(("notice success", saved_text.clone())),
        Some(Ok(FormOutcome::Rejected(_))) => {
            Some(("notice failure", "Nothing was saved: correct the fields marked below.".to_owned()))
        }
        Some(Err(error)) => Some(("notice failure", format!("Nothing was saved: {}", server_message(&error)))),
        None if !errors.is_empty_untracked() => {
            Some(("notice failure", "Nothing was saved: correct the fields marked below.".to_owned()))
        }
        None => query.with(|query| query.get(paths::SAVED_PARAM)).map(|_| ("notice success", saved_text.clone())),
    };
    view! {
        {move || notice().map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
    }
}

/// The message of a server function error, without the framework's prefix.
pub fn server_message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// The form's Save button: disabled, and saying so, while the save is under way.
#[component]
pub fn SaveButton(#[prop(into)] pending: Signal<bool>) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Save" }}
            </button>
        </div>
    }
}
