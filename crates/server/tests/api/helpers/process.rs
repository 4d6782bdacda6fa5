//! `mypage serve`, the binary as an operator runs it, started by a test on a free port against
//! the test's database and SMTP server; killed with SIGKILL or stopped with SIGTERM.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::TestApp;

pub struct Served {
    child: Child,
    pub base: String,
}

impl Served {
    /// Starts the binary with the app's settings plus `extra`, and waits until `/healthz` answers.
    pub async fn start(app: &TestApp, port: u16, data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(app.temp_path(&format!("serve-{port}.log")))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mypage"));
        command.arg("serve").env_clear().envs(app.binary_env(port, data_dir));
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().unwrap();
        let served = Self { child, base: format!("http://localhost:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", served.base)).send().await
                && r.status() == 200
            {
                return served;
            }
            assert!(Instant::now() < deadline, "mypage serve did not come up on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, as an init system or orchestrator stops a service.
    pub fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// The exit status if the process ends within `bound`.
    pub async fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
