//! Mail: the messages the service sends (rendered from the catalog at the moment the state change
//! happens, and written to the outbox in the same transaction), the transports, and the worker.

pub mod address;
pub mod transport;
pub mod worker;

use crate::i18n::Catalog;
use crate::store::{self, StoreError, WriteTx, outbox::NewMail};
use jiff::Timestamp;
use mypage_domain::six_digits::SixDigitCode;

/// The sealing purpose of outbox bodies.
pub const OUTBOX_SEAL_LABEL: &str = "outbox body v1";

/// Every kind of mail, versioned so the meaning of a stored kind never changes.
#[derive(Debug)]
pub enum Message<'a> {
    /// The 認証キー for opening an account.
    AuthKeyV1 { key: &'a SixDigitCode, expires_at: Timestamp, ttl_minutes: u64 },
    /// The 認証キー for resetting a forgotten password (or opening via recovery, SPEC §3.9).
    RecoveryKeyV1 { key: &'a SixDigitCode, expires_at: Timestamp, ttl_minutes: u64 },
    /// The ワンタイムパスワード of a login.
    OneTimePasswordV1 { otp: &'a SixDigitCode, expires_at: Timestamp, ttl_minutes: u64 },
    /// Password login is locked after repeated failures.
    LoginLockedV1 { until: Timestamp },
    /// Password login is locked after too many wrong one-time passwords: the password is known.
    OtpLockedV1 { until: Timestamp },
    /// The password was reset through recovery.
    PasswordResetV1,
    /// The password was reset through recovery; the account's passkeys still work.
    PasswordResetKeepsPasskeysV1 { passkeys: i64 },
    /// A passkey was added to the account.
    PasskeyAddedV1 { name: &'a str, at: Timestamp },
    /// The code that confirms a new login ID, sent to the new address.
    EmailChangeCodeV1 { key: &'a SixDigitCode, expires_at: Timestamp, ttl_minutes: u64 },
    /// The login ID changed; sent to the old address.
    EmailChangedV1 { new_email: &'a str },
    /// The counter changed the login ID (the holder lost the mailbox); sent to the old address,
    /// without the new one (whoever reads the old mailbox now need not learn it).
    EmailChangedByCounterV1 { office: &'a str },
    /// The counter changed the login ID to this address; sent to the new address.
    LoginIdSetByCounterV1 { office: &'a str },
    /// The password was changed on My Page.
    PasswordChangedV1,
    /// Someone tried to open an account with an address that is already a login ID.
    AddressInUseV1,
    /// A 「パスワードをお忘れの方」 request with this address matched no account it could reset.
    RecoveryNoMatchV1,
    /// The account is open.
    AccountOpenedV1,
}

impl Message<'_> {
    /// When the code this mail carries stops working; `None` for a notice. A code mail is not
    /// sent after this.
    pub fn code_expires_at(&self) -> Option<Timestamp> {
        match self {
            Self::AuthKeyV1 { expires_at, .. }
            | Self::RecoveryKeyV1 { expires_at, .. }
            | Self::OneTimePasswordV1 { expires_at, .. }
            | Self::EmailChangeCodeV1 { expires_at, .. } => Some(*expires_at),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::AuthKeyV1 { .. } => "auth_key.v1",
            Self::RecoveryKeyV1 { .. } => "recovery_key.v1",
            Self::OneTimePasswordV1 { .. } => "one_time_password.v1",
            Self::LoginLockedV1 { .. } => "login_locked.v1",
            Self::OtpLockedV1 { .. } => "otp_locked.v1",
            Self::PasswordResetV1 => "password_reset.v1",
            Self::PasswordResetKeepsPasskeysV1 { .. } => "password_reset_keeps_passkeys.v1",
            Self::PasskeyAddedV1 { .. } => "passkey_added.v1",
            Self::EmailChangeCodeV1 { .. } => "email_change_code.v1",
            Self::EmailChangedV1 { .. } => "email_changed.v1",
            Self::EmailChangedByCounterV1 { .. } => "email_changed_by_counter.v1",
            Self::LoginIdSetByCounterV1 { .. } => "login_id_set_by_counter.v1",
            Self::PasswordChangedV1 => "password_changed.v1",
            Self::AddressInUseV1 => "address_in_use.v1",
            Self::RecoveryNoMatchV1 => "recovery_no_match.v1",
            Self::AccountOpenedV1 => "account_opened.v1",
        }
    }

    /// Subject and plain-text body. A code stands on a line of its own with its validity.
    pub fn render(&self, t: &Catalog, base_url: &str) -> (String, String) {
        let footer = t.fmt("mail.footer", &[("base_url", base_url)]);
        let (subject, body) = match self {
            Self::AuthKeyV1 { key, expires_at, ttl_minutes } => (
                t.get("mail.auth_key.subject"),
                t.fmt(
                    "mail.auth_key.body",
                    &[
                        ("key", key.as_str()),
                        ("minutes", &ttl_minutes.to_string()),
                        ("expires", &crate::i18n::datetime(t.lang(), *expires_at)),
                    ],
                ),
            ),
            Self::RecoveryKeyV1 { key, expires_at, ttl_minutes } => (
                t.get("mail.recovery_key.subject"),
                t.fmt(
                    "mail.recovery_key.body",
                    &[
                        ("key", key.as_str()),
                        ("minutes", &ttl_minutes.to_string()),
                        ("expires", &crate::i18n::datetime(t.lang(), *expires_at)),
                    ],
                ),
            ),
            Self::OneTimePasswordV1 { otp, expires_at, ttl_minutes } => (
                t.get("mail.otp.subject"),
                t.fmt(
                    "mail.otp.body",
                    &[
                        ("otp", otp.as_str()),
                        ("minutes", &ttl_minutes.to_string()),
                        ("expires", &crate::i18n::datetime(t.lang(), *expires_at)),
                    ],
                ),
            ),
            Self::LoginLockedV1 { until } => (
                t.get("mail.login_locked.subject"),
                t.fmt(
                    "mail.login_locked.body",
                    &[
                        ("until", &crate::i18n::datetime(t.lang(), *until)),
                        ("forgot_url", &format!("{base_url}/login/forgot")),
                    ],
                ),
            ),
            Self::OtpLockedV1 { until } => (
                t.get("mail.otp_locked.subject"),
                t.fmt(
                    "mail.otp_locked.body",
                    &[
                        ("until", &crate::i18n::datetime(t.lang(), *until)),
                        ("forgot_url", &format!("{base_url}/login/forgot")),
                    ],
                ),
            ),
            Self::PasswordResetV1 => (
                t.get("mail.password_reset.subject"),
                t.fmt("mail.password_reset.body", &[("login_url", &format!("{base_url}/login"))]),
            ),
            Self::PasswordResetKeepsPasskeysV1 { passkeys } => (
                t.get("mail.password_reset.subject"),
                t.fmt(
                    "mail.password_reset_keeps_passkeys.body",
                    &[
                        ("login_url", &format!("{base_url}/login")),
                        ("passkeys", &passkeys.to_string()),
                        ("settings_url", &format!("{base_url}/mypage/settings")),
                    ],
                ),
            ),
            Self::PasskeyAddedV1 { name, at } => (
                t.get("mail.passkey_added.subject"),
                t.fmt(
                    "mail.passkey_added.body",
                    &[
                        ("name", name),
                        ("at", &crate::i18n::datetime(t.lang(), *at)),
                        ("settings_url", &format!("{base_url}/mypage/settings")),
                    ],
                ),
            ),
            Self::EmailChangeCodeV1 { key, expires_at, ttl_minutes } => (
                t.get("mail.email_change_code.subject"),
                t.fmt(
                    "mail.email_change_code.body",
                    &[
                        ("key", key.as_str()),
                        ("minutes", &ttl_minutes.to_string()),
                        ("expires", &crate::i18n::datetime(t.lang(), *expires_at)),
                    ],
                ),
            ),
            Self::EmailChangedV1 { new_email } => {
                (t.get("mail.email_changed.subject"), t.fmt("mail.email_changed.body", &[("new_email", new_email)]))
            }
            Self::EmailChangedByCounterV1 { office } => (
                t.get("mail.email_changed_by_counter.subject"),
                t.fmt("mail.email_changed_by_counter.body", &[("office", office)]),
            ),
            Self::LoginIdSetByCounterV1 { office } => (
                t.get("mail.login_id_set_by_counter.subject"),
                t.fmt(
                    "mail.login_id_set_by_counter.body",
                    &[
                        ("office", office),
                        ("login_url", &format!("{base_url}/login")),
                        ("forgot_url", &format!("{base_url}/login/forgot")),
                    ],
                ),
            ),
            Self::PasswordChangedV1 => (
                t.get("mail.password_changed.subject"),
                t.fmt("mail.password_changed.body", &[("forgot_url", &format!("{base_url}/login/forgot"))]),
            ),
            Self::AddressInUseV1 => (
                t.get("mail.address_in_use.subject"),
                t.fmt("mail.address_in_use.body", &[("login_url", &format!("{base_url}/login"))]),
            ),
            Self::RecoveryNoMatchV1 => (
                t.get("mail.recovery_no_match.subject"),
                t.fmt("mail.recovery_no_match.body", &[("forgot_url", &format!("{base_url}/login/forgot"))]),
            ),
            Self::AccountOpenedV1 => (
                t.get("mail.account_opened.subject"),
                t.fmt("mail.account_opened.body", &[("login_url", &format!("{base_url}/login"))]),
            ),
        };
        (subject, format!("{body}\n\n{footer}\n"))
    }
}

/// Writes `message` to the outbox inside the caller's transaction, its body sealed.
pub async fn enqueue(
    conn: &mut WriteTx,
    t: &Catalog,
    base_url: &str,
    to: &str,
    job_seeker_id: Option<i64>,
    message: &Message<'_>,
    now: Timestamp,
) -> store::Result<i64> {
    let (subject, body) = message.render(t, base_url);
    let sealer = conn.outbox_sealer().cloned().ok_or_else(|| StoreError::Corrupt("no outbox sealer".into()))?;
    store::outbox::enqueue(
        conn,
        &sealer,
        &NewMail {
            kind: message.kind(),
            to_addr: to,
            subject: &subject,
            body: &body,
            job_seeker_id,
            expires_at: message.code_expires_at().map(store::ms),
        },
        store::ms(now),
    )
    .await
}
