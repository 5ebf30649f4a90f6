//! Points in time, as Unix milliseconds in UTC, with the calendar arithmetic the pages need
//! (so the browser formats dates without a date library).

use serde::{Deserialize, Serialize};
use std::fmt;

pub const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_days(self, days: u32) -> Self {
        Self(self.0.saturating_add(i64::from(days) * MILLIS_PER_DAY))
    }

    pub fn minus_days(self, days: u32) -> Self {
        Self(self.0.saturating_sub(i64::from(days) * MILLIS_PER_DAY))
    }

    /// Midnight UTC of the same day.
    pub fn start_of_day(self) -> Self {
        Self(self.0.div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY)
    }

    /// (year, month 1-12, day 1-31) in UTC.
    pub fn date(self) -> (i32, u32, u32) {
        civil_from_days(self.0.div_euclid(MILLIS_PER_DAY))
    }

    /// Midnight UTC of the first day of the month `months_back` months before this one.
    pub fn start_of_month(self, months_back: u32) -> Self {
        let (year, month, _) = self.date();
        let index = year as i64 * 12 + (month as i64 - 1) - i64::from(months_back);
        let (year, month) = (index.div_euclid(12) as i32, index.rem_euclid(12) as u32 + 1);
        Self(days_from_civil(year, month, 1) * MILLIS_PER_DAY)
    }

    pub fn from_date(year: i32, month: u32, day: u32) -> Self {
        Self(days_from_civil(year, month, day) * MILLIS_PER_DAY)
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(self) -> String {
        let (year, month, day) = self.date();
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// ISO-8601 in UTC, as DQOps serialises instants: `2024-06-01T11:45:22Z`, with milliseconds
    /// only when they are not zero.
    pub fn iso8601(self) -> String {
        let (year, month, day) = self.date();
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (hours, minutes, seconds, millis) =
            (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
        if millis == 0 {
            format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}Z")
        } else {
            format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
        }
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DD HH:MM UTC`, for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        write!(f, "{} {:02}:{:02} UTC", self.date_string(), in_day / 3_600_000, in_day / 60_000 % 60)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_dqops_instants_and_dates() {
        let t = Timestamp::from_millis(1_717_242_322_000); // 2024-06-01T11:45:22Z
        assert_eq!(t.iso8601(), "2024-06-01T11:45:22Z");
        assert_eq!(Timestamp::from_millis(1_693_822_399_255).iso8601(), "2023-09-04T10:13:19.255Z");
        assert_eq!(t.date(), (2024, 6, 1));
        assert_eq!(t.to_string(), "2024-06-01 11:45 UTC");
        assert_eq!(Timestamp::from_millis(0).iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_millis(-1).date(), (1969, 12, 31));
    }

    #[test]
    fn calendar_arithmetic_handles_month_and_year_boundaries() {
        let t = Timestamp::from_date(2024, 3, 15).plus_days(0);
        assert_eq!(t.start_of_month(0), Timestamp::from_date(2024, 3, 1));
        assert_eq!(t.start_of_month(2), Timestamp::from_date(2024, 1, 1));
        assert_eq!(t.start_of_month(3), Timestamp::from_date(2023, 12, 1));
        assert_eq!(Timestamp::from_date(2024, 2, 28).plus_days(1).date(), (2024, 2, 29));
        assert_eq!(Timestamp::from_date(2023, 12, 31).plus_days(1).date(), (2024, 1, 1));
        for days in [-1000_i64, 0, 59, 60, 365, 10_957, 20_000] {
            let t = Timestamp::from_millis(days * MILLIS_PER_DAY);
            let (y, m, d) = t.date();
            assert_eq!(Timestamp::from_date(y, m, d), t);
        }
    }
}
