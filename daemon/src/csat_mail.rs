//! The weekly CSAT mail (S2, manual §10.1.2; `wire/PROTOCOL.md` section 37): last week's
//! report as a plain-text summary (ASCII, so it travels unencoded) with the summary and
//! the detail as CSV attachments, sent through the SMTP relay of `[mail]` with `lettre`'s
//! blocking transport, over rustls when `[mail] tls` asks for it (required STARTTLS or
//! implicit TLS; PROTOCOL.md 37.6). Blocking: called only on the worker pool (`centre/csat.rs`).

use crate::config::{MailRelay, MailTls};
use crate::csat_report::{csat_detail_table, csat_summary_table};
use kefu_wire::csat::{civil, CsatReportPage};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{CertificateStore, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use std::fmt::Write as _;
use std::time::Duration;

/// One mail, ready to send.
#[derive(Debug, Clone)]
pub struct WeeklyMail {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text summary.
    pub text: String,
    /// `csat-summary.csv`.
    pub summary_csv: Vec<u8>,
    /// `csat-detail.csv`.
    pub detail_csv: Vec<u8>,
    /// The `Date:` header, unix ms (the turn's clock).
    pub date_ms: i64,
}

fn ymd(day: i32) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

impl WeeklyMail {
    /// The mail of `page` for `account`'s subscribers.
    pub fn new(account: u64, to: &[String], page: &CsatReportPage, date_ms: i64) -> WeeklyMail {
        let (from, until) = (ymd(page.from), ymd(page.to));
        let mut text = format!("CSAT report of account {account}, {from} to {until}\r\n\r\n");
        if page.lines.is_empty() {
            text.push_str("No ratings this week.\r\n");
        }
        for l in &page.lines {
            let c = l.counts;
            let ratio = l
                .satisfaction()
                .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
            let _ = write!(
                text,
                "agent {}: options 1-5: {} {} {} {} {}; total {}; satisfied {ratio}\r\n",
                l.agent,
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                l.total()
            );
        }
        let _ = write!(text, "\r\nratings in the detail: {}\r\n", page.detail.len());
        WeeklyMail {
            to: to.to_vec(),
            subject: format!("CSAT weekly report {from} to {until}"),
            text,
            summary_csv: kefu_report::to_csv(&csat_summary_table(page.from, page.to, &page.lines)),
            detail_csv: kefu_report::to_csv(&csat_detail_table(&page.detail)),
            date_ms,
        }
    }

    fn message(&self, from: &str) -> Result<Message, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("from address: {e}"))?;
        let date =
            std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(self.date_ms).unwrap_or(0));
        let mut b = Message::builder()
            .from(from)
            .subject(self.subject.clone())
            .date(date);
        for to in &self.to {
            let to: Mailbox = to.parse().map_err(|e| format!("address {to}: {e}"))?;
            b = b.to(to);
        }
        let csv = ContentType::parse("text/csv; charset=utf-8").map_err(|e| e.to_string())?;
        b.multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(self.text.clone()))
                .singlepart(
                    Attachment::new("csat-summary.csv".to_owned())
                        .body(self.summary_csv.clone(), csv.clone()),
                )
                .singlepart(
                    Attachment::new("csat-detail.csv".to_owned())
                        .body(self.detail_csv.clone(), csv),
                ),
        )
        .map_err(|e| e.to_string())
    }
}

/// The `lettre` TLS setting of `relay`: the certificate must chain to `relay.roots()`
/// and name `relay.host` (a host name or an IP address).
fn tls(relay: &MailRelay) -> Result<Tls, String> {
    if relay.tls == MailTls::None {
        return Ok(Tls::None);
    }
    let parameters = TlsParameters::builder(relay.host.clone())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(relay.roots()?)
        .build_rustls()
        .map_err(|e| format!("TLS settings: {e}"))?;
    Ok(match relay.tls {
        MailTls::Tls => Tls::Wrapper(parameters),
        _ => Tls::Required(parameters),
    })
}

/// Sends `mail` through `relay` (blocking: connect, [TLS,] EHLO, [STARTTLS, EHLO,] MAIL,
/// RCPT, DATA, QUIT). With `tls = "starttls"` a relay that does not offer STARTTLS, or
/// whose certificate does not verify, fails the attempt before `MAIL FROM`.
pub fn send(relay: &MailRelay, mail: &WeeklyMail) -> Result<(), String> {
    let message = mail.message(&relay.from)?;
    let mut transport = SmtpTransport::builder_dangerous(relay.host.as_str())
        .port(relay.port)
        .tls(tls(relay)?)
        .timeout(Some(Duration::from_millis(u64::from(relay.timeout_ms))));
    if let (Some(user), Some(password)) = (&relay.username, &relay.password) {
        transport =
            transport.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user.clone(),
                password.clone(),
            ));
    }
    transport
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
