//! The 「パスワード登録」 form (SPEC §3.4) that account opening and recovery share: the new
//! password (policy stated before typing), its confirmation and the mailed 認証キー, with the email
//! as a read-only username so a password manager saves the email and password, never the key.
//! The markup is `templates/partials/password_step.html`; this module reads and parses its
//! fields the same way for both callers.

use mypage_domain::password::{NewPassword, PasswordRule};
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::{SixDigitCode, SixDigitCodeError};
use serde::Deserialize;

use crate::i18n::Catalog;
use crate::web::form::acceptable;
use crate::web::page::{self, Errors};

/// Longest password read from the form (the policy then says what is wrong with a long one).
const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Deserialize)]
pub struct PasswordStepForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    password_confirmation: String,
    #[serde(default)]
    auth_key: String,
}

impl PasswordStepForm {
    /// The new password and its confirmation, for the caller's flow to check against the policy.
    pub fn passwords(&self) -> (Secret, Secret) {
        let read = |s: &str| Secret::new(s.chars().take(MAX_PASSWORD_CHARS).collect());
        (read(&self.password), read(&self.password_confirmation))
    }

    /// The fields, parsed: the password as the flow's policy judged it, and the 認証キー. Every
    /// problem is recorded on its field; `None` unless both are usable.
    pub fn parse(
        &self,
        t: &Catalog,
        policy: Result<NewPassword, Vec<PasswordRule>>,
        errors: &mut Errors,
    ) -> Option<(NewPassword, SixDigitCode)> {
        let password = policy.map_err(|unmet| page::password_errors(errors, t, unmet)).ok();
        let key = match SixDigitCode::parse(&self.auth_key) {
            Ok(key) if acceptable(&self.auth_key) => Some(key),
            Ok(_) | Err(SixDigitCodeError::Malformed) => {
                errors.add("auth_key", t.get("opening.password.error.key_malformed"));
                None
            }
            Err(SixDigitCodeError::Empty) => {
                errors.add("auth_key", t.get("opening.password.error.key_empty"));
                None
            }
        };
        Some((password?, key?))
    }
}

/// The wrong-key message on the key's field.
pub fn wrong_key(errors: &mut Errors, t: &Catalog, remaining: u32) {
    errors.add("auth_key", t.fmt("opening.password.error.key_wrong", &[("remaining", &remaining.to_string())]));
}

/// What the form partial shows: where the key went and until when, the policy, and the fields.
pub struct PasswordStep {
    /// Where the form posts.
    pub action: &'static str,
    /// The login ID, shown read-only for password managers.
    pub email: String,
    pub sent_to: String,
    pub key_expires: String,
    /// What to do when the mail does not arrive.
    pub hint: String,
    pub password_label: String,
    pub confirmation_label: String,
    /// Every rule with whether the last submission met it (all unmet before typing).
    pub rules: Vec<(&'static str, String, bool)>,
}

impl PasswordStep {
    /// The step for `email`, with the labels the caller's screen uses (`label_prefix.password` and
    /// `label_prefix.confirmation`) and the key's expiry already formatted.
    pub fn new(t: &Catalog, action: &'static str, label_prefix: &str, email: &str, password: &str) -> Self {
        Self {
            action,
            email: email.to_owned(),
            sent_to: String::new(),
            key_expires: String::new(),
            hint: String::new(),
            password_label: t.get(&format!("{label_prefix}.password")),
            confirmation_label: t.get(&format!("{label_prefix}.confirmation")),
            rules: page::password_rules(t, password),
        }
    }
}
