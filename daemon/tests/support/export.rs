//! Export files through the protocol (PROTOCOL.md section 36): every chunk fetched and
//! checked, and an .xlsx read back with calamine.

use calamine::{Data, Reader, Xlsx};
use kefu_wire::reports::{ExportFormat, ReportKind, EXPORT_CHUNK_BYTES};
use kefu_wire::{Client, ClientError, Request, Response};
use std::io::Cursor;

/// Every chunk of an export, in order, checked: indexes, sizes, `last` on the last only.
pub fn fetch(
    c: &mut Client,
    report: ReportKind,
    format: ExportFormat,
) -> Result<(u64, u32, Vec<u8>), ClientError> {
    let first = match c.request(&Request::ExportReport {
        report,
        format,
        otp: None,
    })? {
        Response::ExportData(chunk) => chunk,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.index, 0);
    let (export, total) = (first.export, first.total);
    let mut file = first.data.clone();
    let mut last = first;
    for index in 1..total {
        assert!(!last.last);
        assert_eq!(last.data.len(), EXPORT_CHUNK_BYTES);
        last = match c.request(&Request::ExportChunk { export, index })? {
            Response::ExportData(chunk) => chunk,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (last.export, last.index, last.total),
            (export, index, total)
        );
        file.extend_from_slice(&last.data);
    }
    assert!(last.last);
    assert_eq!(file.len() as u64, last.size);
    Ok((export, total, file))
}

pub fn sheet(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book = Xlsx::new(Cursor::new(bytes)).expect("an .xlsx");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}
