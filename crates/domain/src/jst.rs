//! Japan Standard Time and the date formats shown to people (slips, mails, pages).
//!
//! JST is a fixed UTC+9 with no daylight saving time, so no time zone database is needed.
//! Times are shown to the minute, floored: an expiry at 14:05:59 shows as 14:05, which is
//! never later than the real expiry.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{self, TimeZone};

/// Weekday names in Japanese, Sunday first (日月火水木金土).
const JA_WEEKDAYS: [&str; 7] = ["日", "月", "火", "水", "木", "金", "土"];
/// Weekday abbreviations in English, Sunday first.
const EN_WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Month abbreviations in English, January first.
const EN_MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The JST time zone: fixed UTC+09:00.
pub fn jst() -> TimeZone {
    TimeZone::fixed(tz::offset(9))
}

/// The civil date and time in Japan at `ts`.
pub fn to_jst(ts: Timestamp) -> DateTime {
    jst().to_datetime(ts)
}

/// `2026年11月30日(月) 14:05`: date, weekday and time in JST, minutes floored.
pub fn format_ja_datetime(ts: Timestamp) -> String {
    let dt = to_jst(ts);
    format!(
        "{}({}) {:02}:{:02}",
        format_ja_date(dt.date()),
        JA_WEEKDAYS[weekday_index(dt.weekday())],
        dt.hour(),
        dt.minute()
    )
}

/// `2026年11月30日`.
pub fn format_ja_date(date: Date) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// `Mon 30 Nov 2026, 14:05 JST`: the English form of [`format_ja_datetime`].
pub fn format_en_datetime(ts: Timestamp) -> String {
    let dt = to_jst(ts);
    let month = usize::try_from(dt.month() - 1).unwrap_or(0);
    format!(
        "{} {} {} {}, {:02}:{:02} JST",
        EN_WEEKDAYS[weekday_index(dt.weekday())],
        dt.day(),
        EN_MONTHS.get(month).unwrap_or(&""),
        dt.year(),
        dt.hour(),
        dt.minute()
    )
}

/// 0 for Sunday to 6 for Saturday.
fn weekday_index(weekday: Weekday) -> usize {
    usize::try_from(weekday.to_sunday_zero_offset()).unwrap_or(0) % 7
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn formats_a_japanese_date_time_in_jst() {
        assert_eq!(format_ja_datetime(ts("2026-11-30T05:05:00Z")), "2026年11月30日(月) 14:05");
    }

    #[test]
    fn floors_to_the_minute() {
        assert_eq!(format_ja_datetime(ts("2026-11-30T05:05:59.999Z")), "2026年11月30日(月) 14:05");
    }

    #[test]
    fn crosses_midnight_at_15_00_utc() {
        assert_eq!(format_ja_datetime(ts("2026-11-29T15:00:00Z")), "2026年11月30日(月) 00:00");
        assert_eq!(format_ja_datetime(ts("2026-11-29T14:59:00Z")), "2026年11月29日(日) 23:59");
    }

    #[test]
    fn names_every_weekday_in_japanese() {
        // 2026-11-29 is a Sunday; noon JST on each day of that week.
        let sunday_noon = ts("2026-11-29T03:00:00Z");
        let names = ["日", "月", "火", "水", "木", "金", "土"];
        for (days, name) in (0i64..).zip(names) {
            let instant = sunday_noon.checked_add(jiff::SignedDuration::from_hours(24 * days)).unwrap();
            let shown = format_ja_datetime(instant);
            assert!(shown.contains(&format!("({name}) 12:00")), "{shown}");
        }
    }

    #[test]
    fn formats_a_japanese_date_without_padding() {
        assert_eq!(format_ja_date(date(2026, 3, 2)), "2026年3月2日");
        assert_eq!(format_ja_date(date(2026, 11, 30)), "2026年11月30日");
    }

    #[test]
    fn formats_an_english_date_time_in_jst() {
        assert_eq!(format_en_datetime(ts("2026-11-30T05:05:00Z")), "Mon 30 Nov 2026, 14:05 JST");
        assert_eq!(format_en_datetime(ts("2026-01-03T23:30:00Z")), "Sun 4 Jan 2026, 08:30 JST");
    }

    #[test]
    fn jst_is_nine_hours_ahead_of_utc() {
        let dt = to_jst(ts("2026-06-30T20:00:00Z"));
        assert_eq!((dt.date(), dt.hour()), (date(2026, 7, 1), 5));
    }
}
