//! The birth date (生年月日), entered as three numeric fields in the Western calendar (西暦).

use jiff::civil::Date;

use crate::text::normalize;

/// Youngest age, in whole years on the day of entry, accepted for a job seeker.
pub const MIN_AGE: i16 = 15;
/// Oldest age, in whole years on the day of entry, accepted for a job seeker.
pub const MAX_AGE: i16 = 120;

/// Why a birth date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BirthDateError {
    /// The year, month or day field is empty.
    #[error("year, month and day are all required")]
    Missing,
    /// A field is not a number of the expected form (year: 4 digits; month, day: 1 or 2 digits).
    #[error("enter the year as 4 digits and the month and day as numbers")]
    NotANumber,
    /// The numbers do not make a calendar date (e.g. 30 February).
    #[error("this date does not exist")]
    NotARealDate,
    /// The date is after today.
    #[error("the birth date is in the future")]
    InFuture,
    /// The age on today's date is under 15 or over 120.
    #[error("the birth date gives an implausible age")]
    Implausible,
}

/// A job seeker's birth date.
///
/// Dates made by [`BirthDate::parse`] are real, not in the future and give an age of 15 to 120
/// on the day of entry; dates read back with [`BirthDate::from_iso`] are only known to be real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    date: Date,
}

impl BirthDate {
    /// Parses the three form fields. `today` is the date in JST (see [`crate::clock::today_jst`]).
    ///
    /// Each field is normalized first (full-width digits are fine) and may end with its unit
    /// (`1990年`, `4月`, `1日`), as people sometimes type it.
    pub fn parse(year: &str, month: &str, day: &str, today: Date) -> Result<Self, BirthDateError> {
        let year = normalize(year);
        let month = normalize(month);
        let day = normalize(day);
        let fields = [
            year.strip_suffix('年').unwrap_or(&year).trim(),
            month.strip_suffix('月').unwrap_or(&month).trim(),
            day.strip_suffix('日').unwrap_or(&day).trim(),
        ];
        if fields.iter().any(|f| f.is_empty()) {
            return Err(BirthDateError::Missing);
        }
        let [year, month, day] = fields;
        let year = parse_digits(year, 4..=4)?;
        let month = parse_digits(month, 1..=2)?;
        let day = parse_digits(day, 1..=2)?;
        let date = Date::new(year, month as i8, day as i8).map_err(|_| BirthDateError::NotARealDate)?;
        if date > today {
            return Err(BirthDateError::InFuture);
        }
        let age = age_on(date, today);
        if !(MIN_AGE..=MAX_AGE).contains(&age) {
            return Err(BirthDateError::Implausible);
        }
        Ok(Self { date })
    }

    /// Reads a stored date written strictly as `YYYY-MM-DD`; the age rules are not applied.
    pub fn from_iso(s: &str) -> Result<Self, BirthDateError> {
        let bytes = s.as_bytes();
        let shaped = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(BirthDateError::NotARealDate);
        }
        let number = |range: std::ops::Range<usize>| {
            s.get(range).and_then(|part| part.parse::<i16>().ok()).ok_or(BirthDateError::NotARealDate)
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let date = Date::new(year, month as i8, day as i8).map_err(|_| BirthDateError::NotARealDate)?;
        Ok(Self { date })
    }

    /// The date as `YYYY-MM-DD`, the form [`BirthDate::from_iso`] reads.
    pub fn to_iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year(), self.month(), self.day())
    }

    /// The underlying calendar date.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The year, e.g. `1990`.
    pub fn year(&self) -> i16 {
        self.date.year()
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> i8 {
        self.date.month()
    }

    /// The day of the month, 1 to 31.
    pub fn day(&self) -> i8 {
        self.date.day()
    }

    /// Whole years of age on `today`.
    pub fn age_on(&self, today: Date) -> i16 {
        age_on(self.date, today)
    }

    /// The digit strings a password must not contain, longest first, without duplicates:
    /// `YYYYMMDD`, `MMDDYYYY`, `DDMMYYYY`, `YYMMDD`, `MMDD` (e.g. `19900412`, `04121990`,
    /// `12041990`, `900412`, `0412`). Forms with separators (`1990-04-12`) are not listed: a
    /// password check looks for digit runs, and `MMDD` already sits inside most forms.
    pub fn password_fragments(&self) -> Vec<String> {
        let yyyy = format!("{:04}", self.year());
        let yy = format!("{:02}", self.year().rem_euclid(100));
        let mm = format!("{:02}", self.month());
        let dd = format!("{:02}", self.day());
        let forms = [
            format!("{yyyy}{mm}{dd}"),
            format!("{mm}{dd}{yyyy}"),
            format!("{dd}{mm}{yyyy}"),
            format!("{yy}{mm}{dd}"),
            format!("{mm}{dd}"),
        ];
        let mut fragments: Vec<String> = Vec::with_capacity(forms.len());
        for form in forms {
            if !fragments.contains(&form) {
                fragments.push(form);
            }
        }
        fragments
    }
}

impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_iso())
    }
}

/// Parses a field of ASCII digits whose length is in `lengths`.
fn parse_digits(field: &str, lengths: std::ops::RangeInclusive<usize>) -> Result<i16, BirthDateError> {
    if !lengths.contains(&field.len()) || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BirthDateError::NotANumber);
    }
    field.parse().map_err(|_| BirthDateError::NotANumber)
}

/// Whole years from `born` to `today` (negative if `today` is earlier).
fn age_on(born: Date, today: Date) -> i16 {
    let had_birthday = (today.month(), today.day()) >= (born.month(), born.day());
    today.year() - born.year() - if had_birthday { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 30);

    fn parse(y: &str, m: &str, d: &str) -> Result<BirthDate, BirthDateError> {
        BirthDate::parse(y, m, d, TODAY)
    }

    #[test]
    fn accepts_plain_full_width_and_suffixed_fields() {
        let cases = [
            (("1990", "4", "12"), "1990-04-12"),
            (("1990", "04", "02"), "1990-04-02"),
            (("１９９０", "４", "１２"), "1990-04-12"),
            ((" 1990 ", "\u{3000}4", "12 "), "1990-04-12"),
            (("1990年", "4月", "12日"), "1990-04-12"),
            (("2000", "2", "29"), "2000-02-29"),
        ];
        for ((y, m, d), expected) in cases {
            let parsed = parse(y, m, d).map(|b| b.to_iso());
            assert_eq!(parsed.as_deref(), Ok(expected), "input {y:?} {m:?} {d:?}");
        }
    }

    #[test]
    fn says_which_kind_of_problem_the_fields_have() {
        use BirthDateError::*;
        let cases = [
            (("", "4", "12"), Missing),
            (("1990", "", "12"), Missing),
            (("1990", "4", "\u{3000}"), Missing),
            (("90", "4", "12"), NotANumber),
            (("19900", "4", "12"), NotANumber),
            (("平成2", "4", "12"), NotANumber),
            (("1990", "April", "12"), NotANumber),
            (("1990", "004", "12"), NotANumber),
            (("1990", "4", "-1"), NotANumber),
            (("1990", "4", "1.5"), NotANumber),
            (("1990", "2", "30"), NotARealDate),
            (("1990", "13", "1"), NotARealDate),
            (("1990", "0", "1"), NotARealDate),
            (("1990", "4", "31"), NotARealDate),
            (("1990", "4", "0"), NotARealDate),
            (("2001", "2", "29"), NotARealDate),
            (("２００１", "２", "２９"), NotARealDate),
            (("2026", "12", "1"), InFuture),
            (("2027", "1", "1"), InFuture),
            (("2026", "11", "30"), Implausible),
            (("1900", "1", "1"), Implausible),
        ];
        for ((y, m, d), expected) in cases {
            assert_eq!(parse(y, m, d), Err(expected), "input {y:?} {m:?} {d:?}");
        }
    }

    #[test]
    fn accepts_ages_from_15_to_120_on_the_day_of_entry() {
        // 15th birthday today: accepted; one day short of it: refused.
        assert!(parse("2011", "11", "30").is_ok());
        assert_eq!(parse("2011", "12", "1"), Err(BirthDateError::Implausible));
        // 120 years old until the 121st birthday.
        assert!(parse("1906", "1", "1").is_ok());
        assert!(parse("1905", "12", "1").is_ok());
        assert_eq!(parse("1905", "11", "30"), Err(BirthDateError::Implausible));
    }

    #[test]
    fn computes_age_across_birthdays() {
        let born = BirthDate::from_iso("1990-04-12").unwrap();
        assert_eq!(born.age_on(date(2026, 4, 11)), 35);
        assert_eq!(born.age_on(date(2026, 4, 12)), 36);
    }

    #[test]
    fn reads_and_writes_the_strict_iso_form() {
        let born = BirthDate::from_iso("1990-04-12").unwrap();
        assert_eq!(born.to_iso(), "1990-04-12");
        assert_eq!(born.to_string(), "1990-04-12");
        assert_eq!((born.year(), born.month(), born.day()), (1990, 4, 12));
        assert_eq!(born.date(), date(1990, 4, 12));
        // Stored data skips the age rules.
        assert!(BirthDate::from_iso("2026-11-30").is_ok());
        for bad in [
            "1990-4-12",
            "1990/04/12",
            "19900412",
            " 1990-04-12",
            "1990-02-30",
            "1990-13-01",
            "１９９０-04-12",
            "+990-04-12",
            "",
        ] {
            assert_eq!(BirthDate::from_iso(bad), Err(BirthDateError::NotARealDate), "{bad:?}");
        }
    }

    #[test]
    fn lists_the_digit_forms_a_password_must_not_contain() {
        let born = BirthDate::from_iso("1990-04-12").unwrap();
        assert_eq!(born.password_fragments(), ["19900412", "04121990", "12041990", "900412", "0412"]);
        let born = BirthDate::from_iso("2005-05-05").unwrap();
        assert_eq!(born.password_fragments(), ["20050505", "05052005", "050505", "0505"]);
    }
}
