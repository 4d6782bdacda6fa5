//! The current versions of the privacy policy and the terms, kept in memory per node for the
//! consent page, which every new visitor opens and which would otherwise read both documents
//! per request.
//!
//! A version read here is trusted for at most [`FRESH_FOR`]; publishing on this node forgets it
//! at once, so another node shows a new version at most [`FRESH_FOR`] after it was published.
//! Only the consent page's labels and ticks use it: the documents themselves, the consent post
//! and My Page read the database, so a consent always records the versions current when it is
//! posted, whichever node shows the page (`docs/decisions.md`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use super::FlowError;
use super::opening::{DocumentKind, current_document};
use crate::state::AppState;
use crate::store;

/// How long a version read from the database is shown without reading it again: the bound on how
/// late another node's consent page shows a newly published version. One read of both documents
/// a second per node costs nothing next to the requests it spares.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The version of each document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub privacy: i64,
    pub terms: i64,
}

impl Versions {
    pub fn of(&self, kind: DocumentKind) -> i64 {
        match kind {
            DocumentKind::Privacy => self.privacy,
            DocumentKind::Terms => self.terms,
        }
    }
}

#[derive(Debug, Default)]
pub struct CurrentVersions {
    /// The versions and the clock's time (ms) they were read at.
    cached: RwLock<Option<(Versions, i64)>>,
    /// Counts the invalidations, so a read that started before a publish cannot store the versions
    /// it found after the publish forgot them.
    generation: AtomicU64,
}

impl CurrentVersions {
    /// The current versions, from memory while fresh.
    pub async fn get(&self, state: &AppState) -> Result<Versions, FlowError> {
        let now = store::ms(state.now());
        let fresh_ms = i64::try_from(FRESH_FOR.as_millis()).unwrap_or(i64::MAX);
        if let Some((versions, at)) = *self.cached.read().unwrap_or_else(PoisonError::into_inner)
            && (at..at.saturating_add(fresh_ms)).contains(&now)
        {
            return Ok(versions);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let versions = Versions {
            privacy: current_document(state, DocumentKind::Privacy).await?.version,
            terms: current_document(state, DocumentKind::Terms).await?.version,
        };
        let mut cached = self.cached.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            *cached = Some((versions, now));
        }
        Ok(versions)
    }

    /// Forgets the versions (a document was just published on this node).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.cached.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
