//! Password hashing (argon2id, m=19456 KiB, t=2, p=1) off the async runtime on a bounded pool.
//!
//! Each hash holds ~19 MiB and tens of milliseconds of CPU, so a flood of logins must not queue
//! without bound: a fixed number of workers run at once, a bounded number wait, and anything past
//! that is refused at once as [`HashError::Busy`] (the web layer answers 503 with Retry-After).

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use mypage_domain::secret::Secret;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The bounded hashing pool. Cloning shares the pool.
#[derive(Clone)]
pub struct PasswordHasher {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    capacity: usize,
    /// Requests refused because the queue was full (for `/metrics`).
    refused: Arc<std::sync::atomic::AtomicU64>,
    /// Hashes and verifications finished.
    completed: Arc<std::sync::atomic::AtomicU64>,
    /// Verified against when an account does not exist, so both cases cost the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `workers` hashes run at once; up to `queue` more wait for a worker.
    pub fn new(workers: usize, queue: usize) -> Result<Self, HashError> {
        let dummy_hash = hash_now(b"dummy password for unknown accounts")?;
        Ok(Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            capacity: workers + queue,
            refused: Arc::default(),
            completed: Arc::default(),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Requests admitted and not yet finished (running or waiting).
    pub fn depth(&self) -> usize {
        self.capacity - self.admitted.available_permits()
    }

    /// Hashes and verifications finished so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests refused so far because the queue was full.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes a place in the queue now, or `Busy`. Login takes it before reserving its attempt,
    /// so a full queue answers 503 before anything is counted against anyone.
    pub fn admit(&self) -> Result<Admission, HashError> {
        let permit = self.admitted.clone().try_acquire_owned().map_err(|_| {
            self.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            HashError::Busy
        })?;
        Ok(Admission { hasher: self.clone(), _permit: permit })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let admission = self.admit()?;
        admission.run(job).await
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let password = password.expose().as_bytes().to_vec();
        self.run(move || hash_now(&password)).await
    }

    /// Whether `password` matches `stored`. With `None` (no such account) it verifies against a
    /// dummy hash and answers false, taking the same time as a real mismatch.
    pub async fn verify(&self, password: &Secret, stored: Option<String>) -> Result<bool, HashError> {
        self.admit()?.verify(password, stored).await
    }
}

/// A place in the hashing queue (see `PasswordHasher::admit`), used by one hash.
pub struct Admission {
    hasher: PasswordHasher,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Admission {
    async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let running = self.hasher.running.clone().acquire_owned().await.map_err(|_| HashError::Busy)?;
        let completed = self.hasher.completed.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _running = running;
            let result = job();
            completed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            result
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?;
        drop(self);
        result
    }

    /// Verifies against `stored`, or against a dummy hash of the same cost when there is none
    /// (an unknown account), so both take the same time. False for the dummy.
    pub async fn verify(self, password: &Secret, stored: Option<String>) -> Result<bool, HashError> {
        let password = password.expose().as_bytes().to_vec();
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.hasher.dummy_hash.to_string());
        let matched = self
            .run(move || {
                let parsed = PasswordHash::new(&phc).map_err(|e| HashError::Internal(e.to_string()))?;
                Ok(Argon2::default().verify_password(&password, &parsed).is_ok())
            })
            .await?;
        Ok(exists && matched)
    }
}

fn hash_now(password: &[u8]) -> Result<String, HashError> {
    Argon2::default().hash_password(password).map(|h| h.to_string()).map_err(|e| HashError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s.to_owned())
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(1, 1).unwrap();
        let phc = hasher.hash(&secret("Abcdef1!x")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&secret("Abcdef1!x"), Some(phc.clone())).await.unwrap());
        assert!(!hasher.verify(&secret("Abcdef1!y"), Some(phc)).await.unwrap());
        assert!(!hasher.verify(&secret("dummy password for unknown accounts"), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_instead_of_waiting() {
        let hasher = PasswordHasher::new(1, 1).unwrap();
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.hash(&secret("Abcdef1!x")).await })
            })
            .collect();
        let mut busy = 0;
        for job in jobs {
            if matches!(job.await.unwrap(), Err(HashError::Busy)) {
                busy += 1;
            }
        }
        assert!(busy >= 1, "with room for 2, some of 6 simultaneous hashes must be refused");
        assert_eq!(hasher.depth(), 0);
    }
}
