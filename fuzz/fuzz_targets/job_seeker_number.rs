//! 求職番号: any text either parses to the canonical `NNNNN-N…` form, which parses back to
//! itself, or is refused; full-width and hyphen look-alikes give the same number as ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::job_seeker_number::JobSeekerNumber;

fuzz_target!(|input: &str| {
    let Ok(number) = JobSeekerNumber::parse(input) else { return };
    let canonical = number.as_str();
    let (office, serial) = canonical.split_once('-').expect("the canonical form has a hyphen");
    assert_eq!(office.len(), 5, "{canonical}");
    assert!((1..=8).contains(&serial.len()), "{canonical}");
    assert!(office.bytes().chain(serial.bytes()).all(|b| b.is_ascii_digit()), "{canonical}");
    assert_eq!((number.office_part(), number.serial_part()), (office, serial));
    assert_eq!(number.digits(), format!("{office}{serial}"));
    assert_eq!(number.to_string(), canonical);
    assert_eq!(JobSeekerNumber::parse(canonical).as_ref(), Ok(&number), "canonical form re-parses");
    // Without its hyphen the same digits are the same number.
    assert_eq!(JobSeekerNumber::parse(&number.digits()).as_ref(), Ok(&number));
    // What a phone keyboard types: full-width digits and a full-width hyphen.
    let wide: String = canonical
        .chars()
        .map(|c| if c == '-' { '－' } else { char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c) })
        .collect();
    assert_eq!(JobSeekerNumber::parse(&wide).as_ref(), Ok(&number), "{wide}");
});
