//! Where mail goes: SMTP (plain with opportunistic STARTTLS, required STARTTLS, or implicit TLS),
//! or `file:DIR`, one `.eml` file per message with names that sort by time.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailTransport, SmtpSecurity};

/// Why a send failed, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        Self { permanent: true, message: message.into() }
    }
    fn transient(message: impl Into<String>) -> Self {
        Self { permanent: false, message: message.into() }
    }
}

pub enum Transport {
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    pub fn new(config: &MailTransport) -> anyhow::Result<Self> {
        Ok(match config {
            MailTransport::File(dir) => {
                crate::private_fs::create_dir(dir)?;
                Self::File(dir.clone())
            }
            MailTransport::Smtp(s) => {
                let tls = match s.security {
                    SmtpSecurity::Opportunistic => Tls::Opportunistic(TlsParameters::new(s.host.clone())?),
                    SmtpSecurity::StartTls => Tls::Required(TlsParameters::new(s.host.clone())?),
                    SmtpSecurity::Tls => Tls::Wrapper(TlsParameters::new(s.host.clone())?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .tls(tls)
                    .timeout(Some(Duration::from_secs(20)));
                if let Some((user, pass)) = &s.credentials {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
                }
                Self::Smtp(builder.build())
            }
        })
    }

    /// Sends one plain-text UTF-8 message. `stem` names the file for the file transport;
    /// `message_id` (`<…@…>`) is the same on every attempt of one outbox row.
    pub async fn send(
        &self,
        from: &str,
        to: &str,
        subject: &str,
        body: &str,
        stem: &str,
        message_id: &str,
    ) -> Result<(), SendError> {
        let from: Mailbox = from.parse().map_err(|e| SendError::permanent(format!("bad sender: {e}")))?;
        let to = super::address::recipient(to).map_err(SendError::permanent)?;
        let message = Message::builder()
            .envelope(super::address::envelope(&from, &to).map_err(SendError::permanent)?)
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_owned()))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(body.to_owned()),
            )
            .map_err(|e| SendError::permanent(format!("cannot build message: {e}")))?;
        match self {
            Self::File(dir) => {
                // Written under a temporary name and renamed, so a reader never sees half a mail.
                let path = dir.join(format!("{stem}.eml"));
                let partial = dir.join(format!(".{stem}.eml.partial"));
                // Mode 0600: a mail holds a code meant for one person.
                let io = |e: std::io::Error| SendError::transient(format!("cannot write {}: {e}", path.display()));
                let options = crate::private_fs::file_options().write(true).create(true).truncate(true).clone();
                let mut file = tokio::fs::OpenOptions::from(options).open(&partial).await.map_err(io)?;
                tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await.map_err(io)?;
                tokio::io::AsyncWriteExt::flush(&mut file).await.map_err(io)?;
                drop(file);
                tokio::fs::rename(&partial, &path).await.map_err(io)?;
                tracing::info!(file = %path.display(), "mail written");
                Ok(())
            }
            Self::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::permanent(e.to_string())),
                Err(e) => Err(SendError::transient(e.to_string())),
            },
        }
    }
}
