//! The password policy: a password is accepted exactly when every character rule is met and no
//! personal or common form is in it; refusals list each unmet rule once, in declaration order.
//!
//! Input: lines `password`, `confirmation` (absent: the same), `email`, `求職番号`, `birth date`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::password::{NewPassword, PasswordContext, PasswordRule, check_each, is_common};
use mypage_domain::secret::Secret;

fuzz_target!(|input: &str| {
    let mut lines = input.split('\n');
    let password = lines.next().unwrap_or("");
    let confirmation = lines.next().unwrap_or(password);
    let email = Email::parse(lines.next().unwrap_or("")).ok();
    let number = JobSeekerNumber::parse(lines.next().unwrap_or("")).ok();
    let birth_date = BirthDate::from_iso(lines.next().unwrap_or("")).ok();
    let ctx = PasswordContext { email: email.as_ref(), number: number.as_ref(), birth_date: birth_date.as_ref() };
    let characters_ok = check_each(password).iter().all(|(_, met)| *met);
    match NewPassword::parse(Secret::new(password.to_owned()), &Secret::new(confirmation.to_owned()), &ctx) {
        Ok(accepted) => {
            assert!(characters_ok);
            assert!(!is_common(password));
            assert_eq!(accepted.secret().expose(), password, "kept byte for byte");
            assert_eq!(confirmation, password);
        }
        Err(unmet) => {
            assert!(!unmet.is_empty());
            assert!(unmet.windows(2).all(|w| w[0] < w[1]), "each rule once, in order: {unmet:?}");
            assert_eq!(characters_ok, !unmet.iter().any(|r| character_rule(*r)), "{unmet:?}");
            assert_eq!(unmet.contains(&PasswordRule::ConfirmationMismatch), confirmation != password);
            assert_eq!(unmet.contains(&PasswordRule::TooCommon), is_common(password));
        }
    }
});

fn character_rule(rule: PasswordRule) -> bool {
    check_each("").iter().any(|(r, _)| *r == rule)
}
