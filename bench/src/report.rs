//! The benchmark's figures: printed as a table, and written as JSON for comparisons.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct Figure {
    pub section: String,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// What produced it.
    pub parameters: String,
    /// What it should be, in words (e.g. "at least 6,000"), when the project sets a target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'static str>,
}

#[derive(Default, Serialize)]
pub struct Report {
    pub figures: Vec<Figure>,
}

impl Report {
    pub fn add(
        &mut self,
        section: impl Into<String>,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        parameters: &str,
    ) {
        self.figures.push(Figure {
            section: section.into(),
            name: name.into(),
            value,
            unit,
            parameters: parameters.to_owned(),
            target: None,
        });
    }

    /// Sets the target of the figure added last.
    pub fn against(&mut self, target: &'static str) {
        if let Some(figure) = self.figures.last_mut() {
            figure.target = Some(target);
        }
    }

    /// p50, p99 and max of `latencies`, in milliseconds; the p99 against `p99_target`.
    pub fn latencies(
        &mut self,
        section: &str,
        what: &str,
        latencies: &mut [Duration],
        parameters: &str,
        p99_target: Option<&'static str>,
    ) {
        latencies.sort();
        for (label, value) in [
            ("p50", percentile(latencies, 0.50)),
            ("p99", percentile(latencies, 0.99)),
            ("max", latencies.last().copied().unwrap_or_default()),
        ] {
            self.add(section, format!("{what} {label}"), ms(value), "ms", parameters);
            if label == "p99"
                && let Some(target) = p99_target
            {
                self.against(target);
            }
        }
    }

    pub fn print(&self) {
        let width = self.figures.iter().map(|f| f.section.len() + f.name.len() + 3).max().unwrap_or(0);
        let mut section = "";
        for figure in &self.figures {
            if figure.section != section {
                section = &figure.section;
                println!("{section}  ({})", figure.parameters);
            }
            let label = format!("  {}", figure.name);
            let value = format!("{:>12} {}", format_value(figure.value), figure.unit);
            match figure.target {
                Some(target) => println!("{label:<width$}  {value:<20} target: {target}"),
                None => println!("{label:<width$}  {value}"),
            }
        }
    }
}

fn format_value(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

pub fn kb(bytes: u64) -> f64 {
    bytes as f64 / 1000.0
}
