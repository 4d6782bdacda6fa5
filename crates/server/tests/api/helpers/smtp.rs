//! A real SMTP server for tests: speaks enough ESMTP for lettre, keeps every accepted message,
//! and can be told to answer the next transactions with a temporary (4xx) or permanent (5xx)
//! failure, to exercise the outbox's retries. It can also be taken down (every connection is
//! closed before the greeting, as when the server is stopped) and brought back, and told to sit
//! on the next transaction for a while (a slow server, to catch a send mid-way).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
}

impl Received {
    /// The six-digit code standing alone on a line (auth key, OTP).
    pub fn code(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no code line in mail:\n{}", self.body))
            .to_owned()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Every accepted message, never drained.
    log: Vec<Received>,
    /// Replies to give to the next DATA transactions instead of 250.
    failures: VecDeque<String>,
    transactions: usize,
    down: bool,
    /// The next MAIL command is answered only after this long.
    hold_next: Option<std::time::Duration>,
    /// Connections refused while down.
    refused: usize,
    /// Transactions being held right now.
    holding: usize,
    /// Every RCPT command as received, e.g. `RCPT TO:<"taro."@docomo.ne.jp>`.
    rcpts: Vec<String>,
    /// Recipients (as on the envelope) answered with this reply at RCPT instead of 250.
    refused_recipients: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, s.clone()));
            }
        });
        Self { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next transaction ends with this reply (e.g. "451 4.3.0 try again later").
    pub fn fail_next(&self, reply: &str) {
        self.shared.lock().unwrap().failures.push_back(reply.to_owned());
    }

    /// Takes the server down (`true`: connections are closed at once) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.shared.lock().unwrap().down = down;
    }

    /// Connections closed unanswered while the server was down.
    pub fn refused(&self) -> usize {
        self.shared.lock().unwrap().refused
    }

    /// The next transaction's MAIL command is answered after `delay`.
    pub fn hold_next(&self, delay: std::time::Duration) {
        self.shared.lock().unwrap().hold_next = Some(delay);
    }

    /// Whether a transaction is being held right now (see [`SmtpSink::hold_next`]).
    pub fn holding(&self) -> bool {
        self.shared.lock().unwrap().holding > 0
    }

    /// Messages accepted since the last call.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut self.shared.lock().unwrap().received)
    }

    /// Every message accepted since the server started (not drained by [`SmtpSink::take`]).
    pub fn all(&self) -> Vec<Received> {
        self.shared.lock().unwrap().log.clone()
    }

    /// Answers RCPT for `address` with `reply` (e.g. "550 5.1.1 no such user") from now on.
    pub fn refuse_recipient(&self, address: &str, reply: &str) {
        self.shared.lock().unwrap().refused_recipients.push((address.to_owned(), reply.to_owned()));
    }

    /// Every RCPT command received so far, as written by the client.
    pub fn rcpt_commands(&self) -> Vec<String> {
        self.shared.lock().unwrap().rcpts.clone()
    }

    /// Transactions that reached the end of DATA (accepted or refused).
    pub fn transactions(&self) -> usize {
        self.shared.lock().unwrap().transactions
    }
}

async fn session(stream: tokio::net::TcpStream, shared: Arc<Mutex<Shared>>) {
    {
        let mut shared = shared.lock().unwrap();
        if shared.down {
            shared.refused += 1;
            return;
        }
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
    let mut to = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        if shared.lock().unwrap().down {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n".into()
        } else if upper.starts_with("MAIL") {
            let hold = {
                let mut shared = shared.lock().unwrap();
                let hold = shared.hold_next.take();
                shared.holding += usize::from(hold.is_some());
                hold
            };
            if let Some(delay) = hold {
                tokio::time::sleep(delay).await;
                shared.lock().unwrap().holding -= 1;
            }
            "250 OK\r\n".into()
        } else if upper.starts_with("HELO") || upper.starts_with("RSET") || upper.starts_with("NOOP") {
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT") {
            shared.lock().unwrap().rcpts.push(line.trim_end().to_owned());
            to = line[8..].trim().trim_start_matches(':').trim().trim_matches(|c| c == '<' || c == '>').to_owned();
            let refused =
                shared.lock().unwrap().refused_recipients.iter().find(|(a, _)| *a == to).map(|(_, r)| r.clone());
            refused.map_or_else(|| "250 OK\r\n".into(), |reply| format!("{reply}\r\n"))
        } else if upper.starts_with("DATA") {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            let mut shared = shared.lock().unwrap();
            shared.transactions += 1;
            match shared.failures.pop_front() {
                Some(failure) => format!("{failure}\r\n"),
                None => {
                    let mail = parse(&to, &data);
                    shared.log.push(mail.clone());
                    shared.received.push(mail);
                    "250 queued\r\n".into()
                }
            }
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 not implemented\r\n".into()
        };
        let _ = write.write_all(reply.as_bytes()).await;
    }
}

fn parse(to: &str, raw: &str) -> Received {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let subject = unfolded.lines().find_map(|l| l.strip_prefix("Subject: ")).map(decode_words).unwrap_or_default();
    let message_id =
        unfolded.lines().find_map(|l| l.strip_prefix("Message-ID: ")).map(|v| v.trim().to_owned()).unwrap_or_default();
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let body = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|_| body.to_owned());
    Received { to: to.to_owned(), subject, body, message_id }
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words.
fn decode_words(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            match lower.strip_prefix("=?utf-8?b?").and_then(|r| r.strip_suffix("?=")) {
                Some(_) => {
                    let payload = &w[10..w.len() - 2];
                    base64::engine::general_purpose::STANDARD
                        .decode(payload)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_else(|_| w.to_owned())
                }
                None => w.to_owned(),
            }
        })
        .collect()
}
