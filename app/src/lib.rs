//! Tocsin's web application: pages, server functions and domain types, shared by the server
//! (feature `ssr`, which adds the services and storage) and the browser (feature `hydrate`).
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod domain;
pub mod forms;
pub mod pages;
pub mod paths;
pub mod server_fns;

#[cfg(feature = "ssr")]
pub mod content_policy;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod grouping;
#[cfg(feature = "ssr")]
pub mod incidents;
#[cfg(feature = "ssr")]
pub mod notifications;
#[cfg(feature = "ssr")]
pub mod panic;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod storage;
#[cfg(feature = "ssr")]
#[doc(hidden)]
pub mod testing;

pub use pages::{App, shell};
