//! JavaScript's two ways of writing a date, for what goes over the wire as the reference writes
//! it: `new Date() + ""` (a handshake's `time`) and `JSON.stringify(new Date())` (the admin UI's
//! timestamps), both in UTC, from milliseconds since 1970.
//!
//! ```text
//! js_date_string(1795599005000)  Wed Nov 25 2026 09:30:05 GMT+0000 (Coordinated Universal Time)
//! iso_string(1795599005123)      2026-11-25T09:30:05.123Z
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

/// `Date.now()`: milliseconds since 1970-01-01 UTC.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A day of the calendar and a time of that day.
struct Civil {
    year: i64,
    /// 1 to 12.
    month: i64,
    /// 1 to 31.
    day: i64,
    hour: u64,
    minute: u64,
    second: u64,
    millisecond: u64,
    /// 0 for Thursday (1970-01-01 was one) to 6 for Wednesday.
    weekday_from_thursday: u64,
}

/// Milliseconds since 1970 as a UTC calendar date (Howard Hinnant's days-to-civil algorithm).
fn civil(millis: u64) -> Civil {
    let seconds = millis / 1000;
    let days = seconds / 86_400;
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    Civil {
        year,
        month,
        day,
        hour: (seconds % 86_400) / 3600,
        minute: (seconds % 3600) / 60,
        second: seconds % 60,
        millisecond: millis % 1000,
        weekday_from_thursday: days % 7,
    }
}

/// `new Date() + ""` in UTC: `Wed Nov 25 2026 09:30:00 GMT+0000 (Coordinated Universal Time)`.
pub fn js_date_string(millis: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let date = civil(millis);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[date.weekday_from_thursday as usize],
        MONTHS[(date.month - 1) as usize],
        date.day,
        date.year,
        date.hour,
        date.minute,
        date.second
    )
}

/// `new Date().toISOString()`, which is also how `JSON.stringify` writes a `Date`:
/// `2026-11-25T09:30:05.123Z`.
pub fn iso_string(millis: u64) -> String {
    let date = civil(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        date.year, date.month, date.day, date.hour, date.minute, date.second, date.millisecond
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_like_javascript() {
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // 2026-11-25T09:30:05Z
        assert_eq!(
            js_date_string(1_795_599_005_000),
            "Wed Nov 25 2026 09:30:05 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn iso_strings_like_javascript() {
        // new Date(0).toISOString(), new Date(1795599005123).toISOString(), ...
        assert_eq!(iso_string(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_string(1_795_599_005_123), "2026-11-25T09:30:05.123Z");
        assert_eq!(iso_string(951_782_400_007), "2000-02-29T00:00:00.007Z");
        assert_eq!(iso_string(1_796_193_119_762), "2026-12-02T06:31:59.762Z");
    }
}
