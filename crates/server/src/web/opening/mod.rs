//! 「アカウント作成コードをハローワークで発行済みの求職者」: the account opening flow,
//! 規約の確認 → 情報の入力 → パスワード登録 → 完了 (SPEC §3.2–3.5).

pub(crate) mod apply;
pub(crate) mod consent;
mod done;
mod password;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/opening/consent", get(consent::show).post(consent::submit))
        .route("/opening/documents/{kind}", get(consent::document))
        .route("/opening/apply", get(apply::show).post(apply::submit))
        .route("/opening/password", get(password::show).post(password::submit))
        .route("/opening/password/resend", post(password::resend))
        .route("/opening/done", get(done::show))
}

/// The step indicator's steps, in order; `current` is 1-based.
pub struct Steps {
    pub current: u8,
}

impl Steps {
    const KEYS: [&'static str; 4] =
        ["opening.steps.consent", "opening.steps.apply", "opening.steps.password", "opening.steps.done"];

    /// Each step's number, label and whether it is done, current or still to come.
    pub fn items(&self, t: &crate::i18n::Catalog) -> Vec<(u8, String, &'static str)> {
        (1u8..)
            .zip(Self::KEYS)
            .map(|(n, key)| {
                let state = match n.cmp(&self.current) {
                    std::cmp::Ordering::Less => "done",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "todo",
                };
                (n, t.get(key), state)
            })
            .collect()
    }
}
