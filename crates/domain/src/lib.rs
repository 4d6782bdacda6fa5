//! MyPage's product rules, with no I/O: the types untrusted input is parsed into at the edge
//! ("parse, don't validate"), the password policy, the life of codes and keys, the clock, and
//! Japan Standard Time formatting.
//!
//! Everything a job seeker types is NFKC-normalized and trimmed first ([`text::normalize`]), so
//! full-width input is never an error; passwords are the exception and are kept byte for byte.
//! Secrets (passwords, codes, keys) have redacted `Debug` and no `Display`.
//!
//! Error enums are stable: the server maps each variant to a message in its catalogs, so a
//! variant's meaning never changes, and their English `Display` is for logs and tests only.

#![forbid(unsafe_code)]
// Tests may unwrap: a panic there is a failed test. Non-test builds keep the workspace's denials.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod account_code;
pub mod birth_date;
pub mod carrier;
pub mod clock;
pub mod code_state;
pub mod duration;
pub mod email;
pub mod job_seeker_number;
pub mod jst;
pub mod password;
pub mod secret;
pub mod six_digits;
pub mod text;

pub use account_code::{AccountCode, AccountCodeError};
pub use birth_date::{BirthDate, BirthDateError};
pub use clock::{Clock, FixedClock, SystemClock, today_jst};
pub use code_state::{
    CodeRecord, CodeState, KeyRecord, KeyState, OtpRecord, OtpState, SingleUseRecord, SingleUseState,
};
pub use duration::{DurationError, format_duration, parse_duration};
pub use email::{Email, EmailError};
pub use job_seeker_number::{JobSeekerNumber, JobSeekerNumberError};
pub use password::{NewPassword, PasswordContext, PasswordRule};
pub use secret::Secret;
pub use six_digits::{SixDigitCode, SixDigitCodeError};
pub mod user_agent;
