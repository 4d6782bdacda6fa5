//! The job-seeker CSV import (UTF-8 with or without BOM, or Shift_JIS): reading never panics,
//! rows come in file order with what could be parsed in canonical form, and a file reads the
//! same whether it was saved as UTF-8 or as Shift_JIS.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage::import::{self, RowProblem};
use mypage_domain::job_seeker_number::JobSeekerNumber;

fuzz_target!(|bytes: &[u8]| {
    let read = import::read(bytes);
    if let Ok(rows) = &read {
        assert!(rows.windows(2).all(|w| w[0].line < w[1].line), "rows in file order");
        for row in rows {
            assert!(row.line >= 2, "the header is line 1");
            let Some(fields) = &row.fields else { continue };
            if let Some(number) = &fields.number {
                assert_eq!(row.number, number.as_str(), "the report shows the canonical number");
                assert_eq!(JobSeekerNumber::parse(number.as_str()).as_ref(), Ok(number));
            }
            let problems = fields.problems(true);
            assert!(!problems.contains(&RowProblem::UnknownOffice));
            assert_eq!(fields.problems(false).len(), problems.len() + 1);
            if problems.is_empty() {
                assert!(!fields.name.is_empty() && !fields.name_kana.is_empty());
                assert!(fields.number.is_some() && fields.birth_date.is_some());
            }
        }
    }
    // The same text saved as Shift_JIS reads the same (when every character has a Shift_JIS
    // form and the bytes are not also valid UTF-8 of other text, which no reader can tell).
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    let (back, _, _) = encoding_rs::SHIFT_JIS.decode(&sjis);
    if unmappable || back != text || (std::str::from_utf8(&sjis).is_ok() && *sjis != *text.as_bytes()) {
        return;
    }
    let from_sjis = import::read(&sjis);
    match (&read, &from_sjis) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("UTF-8 and Shift_JIS disagree: {read:?} vs {from_sjis:?}"),
    }
});
