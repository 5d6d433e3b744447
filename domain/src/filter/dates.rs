//! Relative dates (`today`, `last_30_days`, `this_quarter` ...): each names a span of whole
//! days in UTC, resolved against the day of the request. Weeks start on Monday (ISO 8601).

use chrono::{Datelike, Days, Months, NaiveDate};

wire_enum! {
    /// A span of days relative to today (UTC). `last_N_days` ends today and `next_N_days`
    /// starts today, both today included; `this_`, `last_` and `next_` week, month, quarter
    /// and year are whole calendar periods.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RelativeDate {
        Today = "today",
        Yesterday = "yesterday",
        Tomorrow = "tomorrow",
        Last7Days = "last_7_days",
        Last30Days = "last_30_days",
        Last90Days = "last_90_days",
        Next7Days = "next_7_days",
        Next30Days = "next_30_days",
        Next90Days = "next_90_days",
        ThisWeek = "this_week",
        LastWeek = "last_week",
        NextWeek = "next_week",
        ThisMonth = "this_month",
        LastMonth = "last_month",
        NextMonth = "next_month",
        ThisQuarter = "this_quarter",
        LastQuarter = "last_quarter",
        NextQuarter = "next_quarter",
        ThisYear = "this_year",
        LastYear = "last_year",
        NextYear = "next_year",
    }
}

impl RelativeDate {
    pub fn parse(raw: &str) -> Option<RelativeDate> {
        RelativeDate::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// The first and last day of the span (both included), seen from `today`. `None` only at
    /// the ends of the calendar chrono handles.
    pub fn resolve(self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        use RelativeDate::*;
        let back = |n: u64| today.checked_sub_days(Days::new(n));
        let ahead = |n: u64| today.checked_add_days(Days::new(n));
        match self {
            Today => Some((today, today)),
            Yesterday => back(1).map(|d| (d, d)),
            Tomorrow => ahead(1).map(|d| (d, d)),
            Last7Days => Some((back(6)?, today)),
            Last30Days => Some((back(29)?, today)),
            Last90Days => Some((back(89)?, today)),
            Next7Days => Some((today, ahead(6)?)),
            Next30Days => Some((today, ahead(29)?)),
            Next90Days => Some((today, ahead(89)?)),
            ThisWeek | LastWeek | NextWeek => {
                let monday = back(u64::from(today.weekday().num_days_from_monday()))?;
                let start = match self {
                    LastWeek => monday.checked_sub_days(Days::new(7))?,
                    NextWeek => monday.checked_add_days(Days::new(7))?,
                    _ => monday,
                };
                Some((start, start.checked_add_days(Days::new(6))?))
            }
            ThisMonth | LastMonth | NextMonth => {
                let first = today.with_day(1)?;
                let start = match self {
                    LastMonth => first.checked_sub_months(Months::new(1))?,
                    NextMonth => first.checked_add_months(Months::new(1))?,
                    _ => first,
                };
                months(start, 1)
            }
            ThisQuarter | LastQuarter | NextQuarter => {
                let first = NaiveDate::from_ymd_opt(today.year(), today.month0() / 3 * 3 + 1, 1)?;
                let start = match self {
                    LastQuarter => first.checked_sub_months(Months::new(3))?,
                    NextQuarter => first.checked_add_months(Months::new(3))?,
                    _ => first,
                };
                months(start, 3)
            }
            ThisYear | LastYear | NextYear => {
                let year = match self {
                    LastYear => today.year() - 1,
                    NextYear => today.year() + 1,
                    _ => today.year(),
                };
                let start = NaiveDate::from_ymd_opt(year, 1, 1)?;
                months(start, 12)
            }
        }
    }
}

/// `count` months from `start` (the first of a month): its first and last day.
fn months(start: NaiveDate, count: u32) -> Option<(NaiveDate, NaiveDate)> {
    let end = start
        .checked_add_months(Months::new(count))?
        .checked_sub_days(Days::new(1))?;
    Some((start, end))
}
