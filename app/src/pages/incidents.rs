//! The Incidents overview: every connection with its open and acknowledged incidents by severity.

use super::form::server_message;
use crate::{domain::SeverityCounts, paths, server_fns::incident_overview};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn IncidentsPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| incident_overview());
    view! {
        <Title text="Incidents"/>
        <h1>"Incidents"</h1>
        <section class="card">
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(counts) if counts.is_empty() => {
                            view! {
                                <p class="muted">
                                    "No connections yet. "
                                    <a href=paths::SOURCES>"Add one on Data Sources"</a>
                                    ", then send it check results."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(counts) => {
                            view! {
                                <table class="list counts">
                                    <thead>
                                        <tr>
                                            <th scope="col" rowspan="2">"Connection"</th>
                                            <th scope="colgroup" colspan="3">"Open"</th>
                                            <th scope="colgroup" colspan="3">"Acknowledged"</th>
                                        </tr>
                                        <tr>
                                            <th scope="col">"Warning"</th>
                                            <th scope="col">"Error"</th>
                                            <th scope="col">"Fatal"</th>
                                            <th scope="col">"Warning"</th>
                                            <th scope="col">"Error"</th>
                                            <th scope="col">"Fatal"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {counts
                                            .into_iter()
                                            .map(|row| {
                                                view! {
                                                    <tr>
                                                        <td>
                                                            <a href=paths::incidents_of(&row.connection)>
                                                                {row.connection.to_string()}
                                                            </a>
                                                        </td>
                                                        {count_cells(row.open)}
                                                        {count_cells(row.acknowledged)}
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="notice failure">{server_message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn count_cells(counts: SeverityCounts) -> impl IntoView {
    let cell = |count: u32, class: &'static str| {
        let class = if count > 0 { class } else { "zero" };
        view! { <td class=class>{count}</td> }
    };
    view! {
        {cell(counts.warning, "severity-warning")}
        {cell(counts.error, "severity-error")}
        {cell(counts.fatal, "severity-fatal")}
    }
}
