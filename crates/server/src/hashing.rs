//! Password hashing (argon2id, m=19456 KiB, t=2, p=1) off the async runtime on a bounded pool.
//!
//! Each hash holds ~19 MiB and tens of milliseconds of CPU, so a flood of logins must not queue
//! without bound: a fixed number of workers run at once, a bounded number wait, and anything past
//! that is refused at once as [`HashError::Busy`] (the web layer answers 503 with Retry-After).
//!
//! The workers are threads of their own, fed by a channel: each keeps its argon2 working memory
//! for its life (a verification neither allocates and zeroes 19 MiB nor leaves them in some
//! blocking thread's malloc arena), and a finished hash hands the CPU straight to the next job
//! in the queue, without a semaphore's wake-up and a blocking-pool spawn in between.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use mypage_domain::secret::Secret;
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// One job for a worker, given the worker's kept memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The bounded hashing pool. Cloning shares the pool; the workers end with its last clone.
#[derive(Clone)]
pub struct PasswordHasher(Arc<Pool>);

struct Pool {
    jobs: mpsc::Sender<Job>,
    /// Places in the pool: running or waiting. Held until the job has run.
    admitted: Arc<Semaphore>,
    capacity: usize,
    /// Requests refused because the queue was full (for `/metrics`).
    refused: AtomicU64,
    /// Hashes and verifications finished.
    completed: Arc<AtomicU64>,
    /// Verified against when an account does not exist, so both cases cost the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `workers` hashes run at once; up to `queue` more wait for a worker.
    pub fn new(workers: usize, queue: usize) -> Result<Self, HashError> {
        let dummy_hash = hash_now(b"dummy password for unknown accounts")?;
        let workers = workers.max(1);
        let (jobs, queued) = mpsc::channel::<Job>();
        let queued = Arc::new(Mutex::new(queued));
        for n in 0..workers {
            let queued = queued.clone();
            std::thread::Builder::new()
                .name(format!("mypage-hash-{n}"))
                .spawn(move || work(&queued))
                .map_err(|e| HashError::Internal(format!("cannot start a hashing worker: {e}")))?;
        }
        Ok(Self(Arc::new(Pool {
            jobs,
            admitted: Arc::new(Semaphore::new(workers + queue)),
            capacity: workers + queue,
            refused: AtomicU64::new(0),
            completed: Arc::default(),
            dummy_hash: dummy_hash.into(),
        })))
    }

    /// Requests admitted and not yet finished (running or waiting).
    pub fn depth(&self) -> usize {
        self.0.capacity - self.0.admitted.available_permits()
    }

    /// Hashes and verifications finished so far.
    pub fn completed(&self) -> u64 {
        self.0.completed.load(Relaxed)
    }

    /// Requests refused so far because the queue was full.
    pub fn refused(&self) -> u64 {
        self.0.refused.load(Relaxed)
    }

    /// Takes a place in the queue now, or `Busy`. Login takes it before reserving its attempt,
    /// so a full queue answers 503 before anything is counted against anyone.
    pub fn admit(&self) -> Result<Admission, HashError> {
        let permit = self.0.admitted.clone().try_acquire_owned().map_err(|_| {
            self.0.refused.fetch_add(1, Relaxed);
            HashError::Busy
        })?;
        Ok(Admission { hasher: self.clone(), permit })
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let password = password.expose().as_bytes().to_vec();
        self.admit()?.run(move |_| hash_now(&password)).await
    }

    /// Whether `password` matches `stored`. With `None` (no such account) it verifies against a
    /// dummy hash and answers false, taking the same time as a real mismatch.
    pub async fn verify(&self, password: &Secret, stored: Option<String>) -> Result<bool, HashError> {
        self.admit()?.verify(password, stored).await
    }
}

/// A worker: runs jobs in the order they came until the pool is gone.
fn work(queued: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        // One idle worker waits in `recv` holding the lock, the others on the lock: either way
        // the next job goes to a worker that is free.
        let job = queued.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(mpsc::RecvError) => return,
        }
    }
}

/// A place in the hashing queue (see `PasswordHasher::admit`), used by one hash.
pub struct Admission {
    hasher: PasswordHasher,
    permit: OwnedSemaphorePermit,
}

impl Admission {
    /// Runs `job` on a worker. The place is given back when the job has run (not when the
    /// caller stops waiting), and a job whose caller has gone by the time a worker is free is
    /// skipped: a client that hung up costs no hash.
    async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = oneshot::channel();
        let Self { hasher, permit } = self;
        let completed = hasher.0.completed.clone();
        let job: Job = Box::new(move |memory| {
            if reply.is_closed() {
                return;
            }
            let result = job(memory);
            completed.fetch_add(1, Relaxed);
            // Given back before the answer, so whoever reads the answer sees the place free.
            drop(permit);
            let _ = reply.send(result);
        });
        hasher.0.jobs.send(job).map_err(|_| HashError::Internal("the hashing workers have stopped".to_owned()))?;
        answer.await.map_err(|_| HashError::Internal("a hashing worker stopped during a hash".to_owned()))?
    }

    /// Verifies against `stored`, or against a dummy hash of the same cost when there is none
    /// (an unknown account), so both take the same time. False for the dummy.
    pub async fn verify(self, password: &Secret, stored: Option<String>) -> Result<bool, HashError> {
        let password = password.expose().as_bytes().to_vec();
        let exists = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.hasher.0.dummy_hash.to_string());
        let matched = self.run(move |memory| verify_into(memory, &password, &phc)).await?;
        Ok(exists && matched)
    }
}

/// Whether `password` matches the PHC string `phc`, hashed with the string's own algorithm,
/// version and parameters into `memory` (grown when they need more). A hash that cannot be
/// computed from it (say, a salt of a length argon2 refuses) matches nothing, as with
/// `PasswordVerifier::verify_password`.
fn verify_into(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> Result<bool, HashError> {
    let unreadable = |e: argon2::password_hash::Error| HashError::Internal(format!("stored hash: {e}"));
    let parsed = PasswordHash::new(phc).map_err(|e| HashError::Internal(e.to_string()))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return Ok(false) };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(unreadable)?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(|e| HashError::Internal(e.to_string()))?;
    let params = Params::try_from(&parsed).map_err(unreadable)?;
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    if argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..needed]).is_err() {
        return Ok(false);
    }
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
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
    async fn verifying_into_kept_memory_agrees_with_the_crate_on_every_parameter_set() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = PasswordHasher::new(1, 1).unwrap();
        // Another set of parameters than the default (smaller, and argon2i), then the default
        // again: the kept memory is grown and reused, and a small set uses only part of it.
        let small = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::new(1024, 3, 1, Some(16)).unwrap());
        for (phc, password) in [
            (small.hash_password(b"Abcdef1!x").unwrap().to_string(), "Abcdef1!x"),
            (hash_now(b"Abcdef1!x").unwrap(), "Abcdef1!x"),
            (small.hash_password(b"Ghijkl2@y").unwrap().to_string(), "Ghijkl2@y"),
        ] {
            let parsed = PasswordHash::new(&phc).unwrap();
            for typed in [password, "Abcdef1!y", ""] {
                let crate_says = Argon2::default().verify_password(typed.as_bytes(), &parsed).is_ok();
                assert_eq!(
                    hasher.verify(&secret(typed), Some(phc.clone())).await.unwrap(),
                    crate_says,
                    "{phc} {typed}"
                );
            }
        }
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

    #[tokio::test]
    async fn a_caller_gone_before_its_turn_costs_no_hash_and_gives_its_place_back() {
        let hasher = PasswordHasher::new(1, 4).unwrap();
        let first = tokio::spawn({
            let h = hasher.clone();
            async move { h.hash(&secret("Abcdef1!x")).await }
        });
        // The first hash is on the one worker (tens of milliseconds) ...
        while hasher.depth() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        // ... when a second caller gives up while its job waits behind it.
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(1), hasher.hash(&secret("Abcdef1!y"))).await;
        assert!(gave_up.is_err(), "the second hash cannot have finished behind the first");
        first.await.unwrap().unwrap();
        let waited = std::time::Instant::now();
        while hasher.depth() > 0 {
            assert!(waited.elapsed() < std::time::Duration::from_secs(10), "the places were not given back");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(hasher.completed(), 1, "the abandoned job was hashed");
    }
}
