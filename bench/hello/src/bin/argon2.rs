//! `bench-argon2 THREADS SECONDS`: the machine's bare argon2id rate with the service's parameters
//! (m=19456 KiB, t=2, p=1, the `argon2` crate's defaults), THREADS verifications at once, so the
//! login figures can be read against what the same cores do with nothing else around the hash.
//! Two ways, each for SECONDS: `fresh` allocates the 19 MiB per verification as
//! `PasswordVerifier::verify_password` does; `reused` hashes into memory kept by each thread.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Argon2, Block, Params};

const PASSWORD: &[u8] = b"wrong-password-0";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let phc = match Argon2::default().hash_password(b"the stored password") {
        Ok(hash) => hash.to_string(),
        Err(e) => {
            eprintln!("bench-argon2: {e}");
            return ExitCode::FAILURE;
        }
    };
    for mode in ["fresh", "reused"] {
        let duration = Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let counts: Vec<u64> = std::thread::scope(|scope| {
            let workers: Vec<_> =
                (0..threads).map(|_| scope.spawn(|| verify_for(mode, &phc, started + duration))).collect();
            workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
        });
        let elapsed = started.elapsed().as_secs_f64();
        let total: u64 = counts.iter().sum();
        let rate = total as f64 / elapsed;
        println!(
            "BENCH_ARGON2 mode={mode} threads={threads} hashes={total} seconds={elapsed:.3} hashes_per_s={rate:.2} ms_per_hash_per_thread={:.2}",
            if total > 0 { 1000.0 * elapsed * threads as f64 / total as f64 } else { 0.0 }
        );
    }
    ExitCode::SUCCESS
}

/// Verifications of a wrong password until `until`; how many.
fn verify_for(mode: &str, phc: &str, until: Instant) -> u64 {
    let Ok(parsed) = PasswordHash::new(phc) else { return 0 };
    let params = Params::default();
    let mut memory = vec![Block::new(); params.block_count()];
    let salt = parsed.salt.map(|s| s.as_ref().to_vec()).unwrap_or_default();
    let mut out = [0u8; 32];
    let mut n = 0;
    while Instant::now() < until {
        let ok = if mode == "fresh" {
            Argon2::default().verify_password(PASSWORD, &parsed).is_ok()
        } else {
            Argon2::default().hash_password_into_with_memory(PASSWORD, &salt, &mut out, &mut memory).is_ok()
        };
        std::hint::black_box(ok);
        n += 1;
    }
    n
}
