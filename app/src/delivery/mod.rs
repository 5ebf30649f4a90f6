//! Delivering notifications: the worker that sends what transitions queued, with retries,
//! pacing, order and per-address isolation, through one outbound client and one policy.

mod classify;
mod client;
pub mod policy;
mod schedule;
mod worker;

pub use classify::{Verdict, classify, parse_retry_after};
pub use client::{Answer, MAX_RESPONSE_BYTES, Outbound, SendError, Timeouts, USER_AGENT};
pub use policy::{OutboundPolicy, Subnet};
pub use schedule::{RetryPolicy, RetrySchedule, parse_duration};
pub use worker::{DeliveryConfig, DeliveryWorker};
