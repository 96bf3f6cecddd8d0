//! Export files of reports (point 7 of issue 15; `wire/PROTOCOL.md` section 36).
//!
//! `ExportReport { report, format, otp }`: the loop checks the request and gathers what
//! is in memory or cheap to read (the work report's counts, a survey's record), then the
//! **worker pool** builds the `kefu_report::Table` and its file (CSV or .xlsx, `kefu_report`) —
//! and, for a survey's answers, scans them from the store — and hands the bytes back to
//! the shard (`Mailbox::call`). The shard holds the file, answers chunk 0 and serves
//! chunks `1..total` to the same agent with `ExportChunk`; a file is dropped after its
//! last chunk, after [`EXPORT_TTL_MS`] on the turn's clock, or when more than
//! [`MAX_HELD_EXPORTS`] files or [`MAX_HELD_BYTES`] are held on the shard (oldest first).
//!
//! **Adding a report** is one `ReportKind` variant (wire), one arm in
//! [`Centre::export_source`] gathering its input on the loop, and one function
//! returning its `Table` (in `report_tables.rs`, called in [`build`], on the worker); `auth.rs` says who may
//! ask for it.

use super::surveys::result;
use super::{err, storage, Answer, Centre, ReplyTo};
use crate::csat_report::{csat_detail_table, csat_summary_table};
use crate::report_tables::{
    site_analytics_table, survey_answers_table, survey_results_table, visit_trend_table, work_table,
};
use crate::store::csat_records::{ratings_range, RatingRecord};
use crate::store::report_records::{AnswerRecord, SurveyRecord};
use crate::store::{keys, Cf, KvStore, StoredRecord};
use kefu_report::FileFormat;
use kefu_wire::csat::{CsatDay, CsatQuery, CsatRating, CsatReportPage};
use kefu_wire::reports::{
    ExportChunk, ExportFormat, ReportKind, WorkReportRow, EXPORT_CHUNK_BYTES, MAX_EXPORT_BYTES,
};
use kefu_wire::survey::SurveyResult;
use kefu_wire::web::{SiteAnalytics, VisitDay};
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Export files one shard holds at once.
pub const MAX_HELD_EXPORTS: usize = 8;
/// Bytes of the export files one shard holds at once (the oldest dropped first).
pub const MAX_HELD_BYTES: usize = 128 * 1024 * 1024;
/// How long a file is held for its chunks, ms.
pub const EXPORT_TTL_MS: i64 = 10 * 60 * 1000;
/// Most answers one survey-answers export reads, and most ratings one CSAT detail
/// export reads.
pub const MAX_EXPORT_ANSWERS: usize = 200_000;

/// A built file waiting for its chunks.
#[derive(Debug)]
pub(crate) struct HeldExport {
    account: u64,
    agent: u32,
    expires_at: i64,
    bytes: Arc<Vec<u8>>,
}

/// The files a shard holds, by export number.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    next: u64,
    held: BTreeMap<u64, HeldExport>,
}

/// What a report's table is built from, gathered on the loop.
enum Source {
    Work(Vec<WorkReportRow>),
    SurveyResults(Box<SurveyResult>),
    SurveyAnswers(Box<SurveyRecord>, Arc<dyn KvStore>),
    Csat(Box<CsatReportPage>),
    /// The ratings of days `from..=to`, read on the worker.
    CsatDetail(CsatDay, CsatDay, Arc<dyn KvStore>),
    VisitTrend(Vec<VisitDay>),
    SiteAnalytics(Box<SiteAnalytics>),
}

/// Reads a survey's answers (on the worker).
fn read_answers(
    store: &dyn KvStore,
    account: u64,
    survey: u64,
) -> Result<Vec<AnswerRecord>, ErrorBody> {
    let range = keys::survey_answers(account, survey);
    store
        .scan(Cf::Surveys, &range.start, &range.end, MAX_EXPORT_ANSWERS)
        .map_err(storage)?
        .into_iter()
        .map(|(_, v)| AnswerRecord::decode(&v).map_err(storage))
        .collect()
}

/// Reads every CSAT rating of days `from..=to` (on the worker).
fn read_ratings(
    store: &dyn KvStore,
    account: u64,
    from: CsatDay,
    to: CsatDay,
) -> Result<Vec<CsatRating>, ErrorBody> {
    let range = ratings_range(account, from, to);
    let rows = store
        .scan(
            Cf::ValueAdded,
            &range.start,
            &range.end,
            MAX_EXPORT_ANSWERS + 1,
        )
        .map_err(storage)?;
    if rows.len() > MAX_EXPORT_ANSWERS {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("more than {MAX_EXPORT_ANSWERS} ratings: narrow the range"),
        ));
    }
    rows.into_iter()
        .map(|(_, v)| RatingRecord::decode(&v).map(|r| r.0).map_err(storage))
        .collect()
}

/// The table and its file (on the worker).
fn build(source: Source, account: u64, format: ExportFormat) -> Result<Vec<u8>, ErrorBody> {
    let table = match source {
        Source::Work(rows) => work_table(&rows),
        Source::SurveyResults(r) => survey_results_table(&r),
        Source::SurveyAnswers(survey, store) => {
            let answers = read_answers(store.as_ref(), account, survey.id)?;
            survey_answers_table(&survey, &answers)
        }
        Source::Csat(page) => csat_summary_table(page.from, page.to, &page.lines),
        Source::CsatDetail(from, to, store) => {
            csat_detail_table(&read_ratings(store.as_ref(), account, from, to)?)
        }
        Source::VisitTrend(days) => visit_trend_table(&days),
        Source::SiteAnalytics(a) => site_analytics_table(&a),
    };
    let format = match format {
        ExportFormat::Csv => FileFormat::Csv,
        ExportFormat::Xlsx => FileFormat::Xlsx,
    };
    let bytes = kefu_report::export(&table, format)
        .map_err(|e| err(ErrorCode::INVALID_ARGUMENT, e.to_string()))?;
    if bytes.len() > MAX_EXPORT_BYTES {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("the file would pass {MAX_EXPORT_BYTES} bytes: narrow the report"),
        ));
    }
    Ok(bytes)
}

/// Chunk `index` of `bytes`.
fn chunk(export: u64, index: u32, bytes: &[u8]) -> Option<ExportChunk> {
    let total = bytes.len().div_ceil(EXPORT_CHUNK_BYTES).max(1);
    let start = usize::try_from(index)
        .ok()?
        .checked_mul(EXPORT_CHUNK_BYTES)?;
    if usize::try_from(index).ok()? >= total {
        return None;
    }
    let end = start.saturating_add(EXPORT_CHUNK_BYTES).min(bytes.len());
    Some(ExportChunk {
        export,
        index,
        total: u32::try_from(total).ok()?,
        size: bytes.len() as u64,
        data: bytes.get(start..end)?.to_vec(),
        last: usize::try_from(index).ok()? + 1 == total,
    })
}

impl Centre {
    /// What the report is built from, checked; the token rule last for value-added
    /// reports.
    fn export_source(
        &mut self,
        account: u64,
        me: u32,
        report: ReportKind,
        otp: Option<String>,
    ) -> Result<Source, ErrorBody> {
        match report {
            ReportKind::WorkReport { from, to, agent } => self
                .work_report_rows(account, from, to, agent)
                .map(Source::Work),
            ReportKind::SurveyResults { survey } => {
                let record = self.survey_record(account, survey)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                Ok(Source::SurveyResults(Box::new(result(&record))))
            }
            ReportKind::SurveyAnswers { survey } => {
                let record = self.survey_record(account, survey)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                let store = Arc::clone(&self.shared.store);
                Ok(Source::SurveyAnswers(Box::new(record), store))
            }
            ReportKind::Csat { from, to } => self
                .csat_range(account, from, to)
                .map(|page| Source::Csat(Box::new(page))),
            ReportKind::CsatDetail { from, to } => {
                let page = self.csat_range(account, from, to)?;
                let store = Arc::clone(&self.shared.store);
                Ok(Source::CsatDetail(page.from, page.to, store))
            }
            ReportKind::VisitTrend {
                from_day,
                until_day,
            } => self
                .visit_days(account, from_day, until_day)
                .map(|a| Source::VisitTrend(a.days)),
            ReportKind::SiteAnalytics {
                from_day,
                until_day,
            } => self
                .visit_days(account, from_day, until_day)
                .map(|a| Source::SiteAnalytics(Box::new(a))),
        }
    }

    /// The CSAT report of a range without detail: the range checked and defaulted as
    /// `CsatReport` does.
    fn csat_range(
        &mut self,
        account: u64,
        from: Option<CsatDay>,
        to: Option<CsatDay>,
    ) -> Result<CsatReportPage, ErrorBody> {
        let offset = self.csat_offset(account)?;
        let query = CsatQuery {
            from,
            to,
            detail: false,
            after: None,
        };
        self.csat_report(account, offset, &query)
    }

    /// `ExportReport`: built on the worker pool; chunk 0 answers when it is done.
    pub(super) fn export_report(
        &mut self,
        reply: ReplyTo,
        account: u64,
        me: u32,
        report: ReportKind,
        format: ExportFormat,
        otp: Option<String>,
    ) {
        let source = match self.export_source(account, me, report, otp) {
            Ok(s) => s,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let mailbox = Arc::clone(&self.mailbox);
        let spawned = self.shared.workers.spawn(move || {
            let built = build(source, account, format);
            mailbox.call(Box::new(move |centre: &mut Centre| {
                centre.export_built(reply, account, me, built);
            }));
        });
        if !spawned {
            self.reply(
                reply,
                Err(err(ErrorCode::INTERNAL, "the worker pool is gone")),
            );
        }
    }

    /// The worker's file: held, and chunk 0 answered.
    fn export_built(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        built: Result<Vec<u8>, ErrorBody>,
    ) {
        let bytes = match built {
            Ok(b) => b,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let now = self.now_ms;
        let exports = &mut self.exports;
        exports.held.retain(|_, h| h.expires_at >= now);
        let held_bytes = |e: &Exports| e.held.values().map(|h| h.bytes.len()).sum::<usize>();
        while exports.held.len() >= MAX_HELD_EXPORTS
            || (!exports.held.is_empty() && held_bytes(exports) + bytes.len() > MAX_HELD_BYTES)
        {
            exports.held.pop_first();
        }
        exports.next += 1;
        let id = exports.next;
        let first = chunk(id, 0, &bytes);
        if first.as_ref().is_some_and(|c| !c.last) {
            exports.held.insert(
                id,
                HeldExport {
                    account,
                    agent,
                    expires_at: now.saturating_add(EXPORT_TTL_MS),
                    bytes: Arc::new(bytes),
                },
            );
        }
        let answer = first
            .map(Response::ExportData)
            .ok_or_else(|| err(ErrorCode::INTERNAL, "no chunk 0"));
        self.reply(reply, answer);
    }

    /// `ExportChunk`: the agent's own held file only.
    pub(super) fn export_chunk(
        &mut self,
        account: u64,
        me: u32,
        export: u64,
        index: u32,
    ) -> Answer {
        let now = self.now_ms;
        let held = self
            .exports
            .held
            .get(&export)
            .filter(|h| h.account == account && h.agent == me && h.expires_at >= now);
        let Some(held) = held else {
            return Err(err(
                ErrorCode::EXPORT_GONE,
                format!("export {export} is not held: ask for it again"),
            ));
        };
        let Some(part) = chunk(export, index, &held.bytes) else {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("no chunk {index}"),
            ));
        };
        if part.last {
            self.exports.held.remove(&export);
        }
        Ok(Response::ExportData(part))
    }
}

#[cfg(test)]
mod tests {
    use super::chunk;
    use kefu_wire::reports::EXPORT_CHUNK_BYTES;

    #[test]
    fn chunks_cover_the_file_once() {
        for size in [
            0,
            1,
            EXPORT_CHUNK_BYTES,
            EXPORT_CHUNK_BYTES + 1,
            3 * EXPORT_CHUNK_BYTES,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let first = chunk(1, 0, &bytes).unwrap();
            let mut joined = Vec::new();
            for i in 0..first.total {
                let c = chunk(1, i, &bytes).unwrap();
                assert_eq!(c.last, i + 1 == first.total);
                assert!(c.data.len() <= EXPORT_CHUNK_BYTES);
                joined.extend(c.data);
            }
            assert_eq!(joined, bytes);
            assert!(chunk(1, first.total, &bytes).is_none());
        }
    }
}
