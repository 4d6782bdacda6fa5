//! Opening an account (SPEC §3.2–3.5): consent to the current documents, prove who you are with
//! the counter-issued code, receive an auth key by mail, set a password.

use jiff::Timestamp;
use mypage_domain::account_code::AccountCode;
use mypage_domain::birth_date::BirthDate;
use mypage_domain::code_state::{CodeRecord, CodeState};
use mypage_domain::email::Email;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::password::{NewPassword, PasswordContext, PasswordRule};
use mypage_domain::secret::Secret;
use mypage_domain::six_digits::SixDigitCode;
use serde::{Deserialize, Serialize};

use super::FlowError;
use super::auth_key::{self, KeyCheck};
use super::limits::{APPLY_FAILURES_PER_CLIENT, AUTH_KEY_RESEND_COOLDOWN, BIRTH_DATE_MISMATCHES, Refusal};
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, Entry, accounts, audit, auth_keys, codes, documents, job_seekers};
use crate::tokens::Purpose;

/// The versions of the documents a job seeker agreed to, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub privacy_version: i64,
    pub terms_version: i64,
    pub at_ms: i64,
}

/// The privacy policy or the terms of use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Privacy,
    Terms,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privacy => "privacy",
            Self::Terms => "terms",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "privacy" => Some(Self::Privacy),
            "terms" => Some(Self::Terms),
            _ => None,
        }
    }
}

/// The current version of a document.
pub async fn current_document(state: &AppState, kind: DocumentKind) -> Result<documents::DocumentRow, FlowError> {
    documents::current(state.store.pool(), kind.as_str())
        .await?
        .ok_or_else(|| FlowError::Store(store::StoreError::Corrupt(format!("no {} document", kind.as_str()))))
}

/// What the job seeker typed on 「必要な情報の入力」, parsed.
#[derive(Debug)]
pub struct Application {
    pub email: Email,
    pub number: JobSeekerNumber,
    pub birth_date: BirthDate,
    pub code: AccountCode,
}

/// The opening in progress after an auth key was sent; kept in the browser's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOpening {
    pub auth_key_id: i64,
    pub job_seeker_id: i64,
    pub email: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// An auth key was mailed (or, when the address is taken, a mail saying so): go on.
    KeySent(PendingOpening),
    /// No job seeker with that 求職番号 and birth date. Same message as a wrong code.
    NoMatch,
    /// The code is wrong; it stays valid for `remaining` more wrong entries.
    WrongCode {
        remaining: u32,
    },
    /// The code is void (this entry voided it, or it already was), or none was issued.
    CodeVoid,
    /// The entered code is an earlier one, replaced by a reissue: not counted as a wrong entry.
    CodeReplaced,
    CodeExpired,
    AlreadyOpened,
    /// Too many birth-date mismatches for this 求職番号: entry is paused.
    NumberPaused,
    /// Too many failures from this client address.
    ClientLimited,
    /// Too many auth key mails for this job seeker within the hour.
    SendLimited,
}

/// Checks the application and, when it holds, mails an auth key.
///
/// Every budget is reserved before the work it guards: the client's failure budget before
/// anything is looked up, the 求職番号's birth-date budget when the birth date is compared (a
/// mismatch takes a place, a match needs one free, both serialized with the other entries),
/// the code's entry when it is compared, the send cap before the key is made. An attempt
/// that turns out not to count gives its reservation back.
pub async fn apply(state: &AppState, app: &Application, client: &str, lang: Lang) -> Result<ApplyOutcome, FlowError> {
    // A paused 求職番号 is refused by a plain read before anything is reserved: a flood against
    // one number costs no write.
    if BIRTH_DATE_MISMATCHES.is_full(state, app.number.as_str()).await? {
        return Ok(ApplyOutcome::NumberPaused);
    }
    let Ok(client_slot) = APPLY_FAILURES_PER_CLIENT.reserve(state, client).await? else {
        return Ok(ApplyOutcome::ClientLimited);
    };
    let outcome = check_application(state, app, client, lang).await?;
    if outcome.counts_against_client() {
        client_slot.keep();
    } else {
        client_slot.release(state).await?;
    }
    Ok(outcome)
}

impl ApplyOutcome {
    /// Whether the outcome is a failed guess that the client's budget counts.
    fn counts_against_client(&self) -> bool {
        matches!(self, Self::NoMatch | Self::WrongCode { .. } | Self::CodeReplaced | Self::CodeVoid)
    }
}

async fn check_application(
    state: &AppState,
    app: &Application,
    client: &str,
    lang: Lang,
) -> Result<ApplyOutcome, FlowError> {
    let number = app.number.as_str();
    let seeker = job_seekers::find_by_number(state.store.pool(), number).await?;
    let seeker = seeker.filter(|s| s.birth_date == app.birth_date.to_iso());
    // A mismatch (or an unknown number, counted the same so both take the same work) takes a
    // place in the number's budget; a match only needs one to be free, so that a right birth
    // date after ten wrong ones is paused as in a sequence.
    if BIRTH_DATE_MISMATCHES.decide(state, number, seeker.is_none()).await?.is_err() {
        return Ok(ApplyOutcome::NumberPaused);
    }
    let Some(seeker) = seeker else {
        return Ok(ApplyOutcome::NoMatch);
    };
    if accounts::find_by_job_seeker(state.store.pool(), seeker.id).await?.is_some() {
        return Ok(ApplyOutcome::AlreadyOpened);
    }
    let max = state.settings.code_max_failures;
    let Some(code) = codes::latest(state.store.pool(), seeker.id).await? else {
        return Ok(ApplyOutcome::CodeVoid);
    };
    match code_record(&code)?.state(state.now(), max) {
        CodeState::Active { .. } => {}
        CodeState::Expired => return Ok(ApplyOutcome::CodeExpired),
        CodeState::Void | CodeState::Used => return Ok(ApplyOutcome::CodeVoid),
    }
    let right = enter_code(state, &code, app, client).await?;
    if let Some(refused) = right {
        return Ok(refused);
    }
    let sent = auth_key::send(state, seeker.id, Some(code.id), &app.email, None, client, lang).await?;
    let Ok(auth_key_id) = sent else { return Ok(ApplyOutcome::SendLimited) };
    Ok(ApplyOutcome::KeySent(PendingOpening {
        auth_key_id,
        job_seeker_id: seeker.id,
        email: app.email.as_str().to_owned(),
    }))
}

fn code_record(code: &codes::CodeRow) -> Result<CodeRecord, FlowError> {
    Ok(CodeRecord {
        expires_at: store::ts(code.expires_at)?,
        failed_attempts: u32::try_from(code.failed_attempts).unwrap_or(u32::MAX),
        voided_at: code.voided_at.map(store::ts).transpose()?,
        used_at: code.used_at.map(store::ts).transpose()?,
    })
}

/// Enters the typed code against the job seeker's active code: `None` when it is right,
/// otherwise the outcome to show. A code from an earlier slip (replaced by a reissue) is told
/// apart and not counted against the new one.
async fn enter_code(
    state: &AppState,
    code: &codes::CodeRow,
    app: &Application,
    client: &str,
) -> Result<Option<ApplyOutcome>, FlowError> {
    let max = i64::from(state.settings.code_max_failures);
    let now = state.now();
    let typed = app.code.as_str();
    let right = || state.keys.verify(Purpose::AccountCode, typed, &code.code_hash);
    if !right() {
        let earlier = codes::earlier_hashes(state.store.pool(), code.job_seeker_id, code.id).await?;
        if earlier.iter().any(|h| state.keys.verify(Purpose::AccountCode, typed, h)) {
            return Ok(Some(ApplyOutcome::CodeReplaced));
        }
    }
    let outcome = match codes::enter(state.store.pool(), code.id, store::ms(now), max, right).await? {
        Entry::Right => return Ok(None),
        Entry::Wrong { remaining } => ApplyOutcome::WrongCode { remaining: u32::try_from(remaining).unwrap_or(0) },
        Entry::WrongAndVoid => {
            let event = audit::Event {
                actor: "system",
                kind: "code.voided",
                job_seeker_id: Some(code.job_seeker_id),
                detail: "account creation code voided after too many wrong entries",
                client_addr: Some(client),
            };
            audit::record(state.store.pool(), &event, store::ms(now)).await?;
            state.metrics.count("mypage_codes_voided_total");
            ApplyOutcome::CodeVoid
        }
        // Another request voided, used or outlived it between our read and this entry.
        Entry::Inactive => {
            return Ok(Some(match codes::find(state.store.pool(), code.id).await? {
                Some(row) if matches!(code_record(&row)?.state(now, max as u32), CodeState::Expired) => {
                    ApplyOutcome::CodeExpired
                }
                _ => ApplyOutcome::CodeVoid,
            }));
        }
    };
    state.metrics.count("mypage_code_failures_total");
    Ok(Some(outcome))
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResendOutcome {
    Sent(PendingOpening),
    /// Too soon after the last mail; try again after this many seconds.
    Cooldown {
        seconds: u64,
    },
    SendLimited,
    /// The account creation code expired meanwhile: ask the counter for a reissue.
    CodeExpired,
    /// The account creation code was voided, reissued or used meanwhile.
    CodeInvalid,
}

/// 「認証キーを再送する」: a new key to the same address, voiding the previous one. The
/// cooldown and the send cap are one reservation in the send's own transaction. An opening whose
/// account creation code has expired (or was voided or used) sends nothing more.
pub async fn resend(
    state: &AppState,
    pending: &PendingOpening,
    client: &str,
    lang: Lang,
) -> Result<ResendOutcome, FlowError> {
    let Some(key) = auth_keys::find(state.store.pool(), pending.auth_key_id).await? else {
        return Ok(ResendOutcome::SendLimited);
    };
    if let Some(code_id) = key.code_id {
        let max = state.settings.code_max_failures;
        match codes::find(state.store.pool(), code_id).await? {
            Some(code) => match code_record(&code)?.state(state.now(), max) {
                CodeState::Active { .. } => {}
                CodeState::Expired => return Ok(ResendOutcome::CodeExpired),
                CodeState::Void | CodeState::Used => return Ok(ResendOutcome::CodeInvalid),
            },
            None => return Ok(ResendOutcome::CodeInvalid),
        }
    }
    let email =
        Email::parse(&pending.email).map_err(|e| FlowError::Store(store::StoreError::Corrupt(e.to_string())))?;
    let cooldown = Some(AUTH_KEY_RESEND_COOLDOWN);
    let sent = auth_key::send(state, pending.job_seeker_id, key.code_id, &email, cooldown, client, lang).await?;
    Ok(match sent {
        Ok(id) => ResendOutcome::Sent(PendingOpening { auth_key_id: id, ..pending.clone() }),
        Err(Refusal::Cooldown { seconds }) => ResendOutcome::Cooldown { seconds },
        Err(Refusal::Full) => ResendOutcome::SendLimited,
    })
}

/// Checks a new password against the policy, with the job seeker's own data as context.
pub async fn check_password(
    state: &AppState,
    pending: &PendingOpening,
    password: Secret,
    confirmation: &Secret,
) -> Result<Result<NewPassword, Vec<PasswordRule>>, FlowError> {
    password_policy(state, Some(pending.job_seeker_id), &pending.email, password, confirmation).await
}

/// The password policy with the job seeker's email, 求職番号 and birth date as context (a
/// password must not contain them).
pub async fn password_policy(
    state: &AppState,
    job_seeker_id: Option<i64>,
    email: &str,
    password: Secret,
    confirmation: &Secret,
) -> Result<Result<NewPassword, Vec<PasswordRule>>, FlowError> {
    let seeker = match job_seeker_id {
        Some(id) => job_seekers::find(state.store.pool(), id).await?,
        None => None,
    };
    let number = seeker.as_ref().and_then(|s| JobSeekerNumber::parse(&s.number).ok());
    let birth_date = seeker.as_ref().and_then(|s| BirthDate::from_iso(&s.birth_date).ok());
    let email = Email::parse(email).ok();
    let context = PasswordContext { email: email.as_ref(), number: number.as_ref(), birth_date: birth_date.as_ref() };
    Ok(NewPassword::parse(password, confirmation, &context))
}

#[derive(Debug, PartialEq, Eq)]
pub enum CompleteOutcome {
    Opened {
        account_id: i64,
    },
    WrongKey {
        remaining: u32,
    },
    /// The key is void (five wrong entries, or a newer key was sent): ask for a new one.
    KeyVoid,
    KeyExpired,
    /// The account creation code was voided or reissued meanwhile.
    CodeInvalid,
    /// The account creation code expired before the opening was completed.
    CodeExpired,
    AlreadyOpened,
    /// The address became another account's login ID.
    AddressUnavailable,
}

/// 「完了」: checks the auth key and, in one transaction, opens the account, consumes the code and
/// the key, records the consent, and writes the audit event and the "account opened" mail.
pub async fn complete(
    state: &AppState,
    pending: &PendingOpening,
    consent: Consent,
    password: &NewPassword,
    key: &SixDigitCode,
    client: &str,
    lang: Lang,
) -> Result<CompleteOutcome, FlowError> {
    let row = match auth_key::check(state, pending.auth_key_id, key).await? {
        KeyCheck::Valid(row) => row,
        KeyCheck::Wrong { remaining } => return Ok(CompleteOutcome::WrongKey { remaining }),
        KeyCheck::Void => return Ok(CompleteOutcome::KeyVoid),
        KeyCheck::Expired => return Ok(CompleteOutcome::KeyExpired),
        KeyCheck::Used => return Ok(CompleteOutcome::AlreadyOpened),
    };
    let password_hash = state.hasher.hash(password.secret()).await?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    if !auth_keys::consume(&mut *tx, row.id, store::ms(now)).await? {
        return Ok(CompleteOutcome::KeyVoid);
    }
    // The code's expiry holds at completion too, however long ago the opening started.
    if let Some(code_id) = row.code_id
        && !codes::consume(&mut *tx, code_id, store::ms(now)).await?
    {
        drop(tx);
        let expired = codes::find(state.store.pool(), code_id)
            .await?
            .is_some_and(|c| c.used_at.is_none() && c.voided_at.is_none() && store::ms(now) >= c.expires_at);
        return Ok(if expired { CompleteOutcome::CodeExpired } else { CompleteOutcome::CodeInvalid });
    }
    let new = accounts::NewAccount {
        job_seeker_id: row.job_seeker_id,
        email: &row.email,
        password_hash: &password_hash,
        privacy_version: consent.privacy_version,
        terms_version: consent.terms_version,
        consented_at: consent.at_ms,
        lang: lang.code(),
    };
    let account_id = match accounts::insert(&mut *tx, &new, store::ms(now)).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => {
            drop(tx);
            let opened = accounts::find_by_job_seeker(state.store.pool(), row.job_seeker_id).await?.is_some();
            return Ok(if opened { CompleteOutcome::AlreadyOpened } else { CompleteOutcome::AddressUnavailable });
        }
        Err(e) => return Err(e.into()),
    };
    let t = crate::i18n::catalog(lang);
    let base_url = state.settings.base_url.as_str();
    mail::enqueue(&mut tx, t, base_url, &row.email, Some(row.job_seeker_id), &Message::AccountOpenedV1, now).await?;
    let detail = format!("privacy v{} terms v{}", consent.privacy_version, consent.terms_version);
    let event = audit::Event {
        actor: &format!("job_seeker:{}", row.job_seeker_id),
        kind: "account.opened",
        job_seeker_id: Some(row.job_seeker_id),
        detail: &detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    state.metrics.count("mypage_accounts_opened_total");
    Ok(CompleteOutcome::Opened { account_id })
}

/// When the pending key expires, for the screen (no hidden time limits).
pub async fn key_expiry(state: &AppState, pending: &PendingOpening) -> Result<Option<Timestamp>, FlowError> {
    match auth_keys::find(state.store.pool(), pending.auth_key_id).await? {
        Some(row) => Ok(Some(store::ts(row.expires_at)?)),
        None => Ok(None),
    }
}
