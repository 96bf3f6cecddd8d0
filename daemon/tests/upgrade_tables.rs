//! Data outlives the storage engine: a data directory whose records are in table files
//! and a write-ahead log written by an earlier RocksDB (`tests/data/store-s15-tables`,
//! see its README: kefud on RocksDB 10.4.2) opens with this build's engine and options
//! (memtable insert hints among them), reads back every message in order, takes new
//! writes and reads the same after a restart.

mod support;

use kefu_wire::chat::{CustomerId, Party};
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::{Client, Request, Response};
use std::path::Path;
use support::*;

/// Every message of customers `kefu-load-0..2`, newest first per customer, as
/// (customer, message id) pairs.
fn messages(agent: &mut Client) -> Vec<(usize, u64)> {
    let mut all = Vec::new();
    for i in 0..3 {
        let page = match agent
            .request(&whole_history(
                CustomerId::Identified(format!("kefu-load-{i}")),
                200,
            ))
            .expect("history")
        {
            Response::History(p) => p,
            other => panic!("{other:?}"),
        };
        assert!(page.messages.iter().all(|m| m.from == Party::Customer));
        let ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "newest first, each once: {ids:?}"
        );
        all.extend(ids.into_iter().map(|id| (i, id)));
    }
    all
}

#[test]
fn tables_and_log_of_an_earlier_engine_open_and_read_back() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store-s15-tables");
    let db = fixture.join("db");
    // The fixture holds both forms: table files and an unflushed log.
    let names: Vec<String> = std::fs::read_dir(&db)
        .expect("fixture db")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".sst")));
    assert!(names.iter().any(|n| n.ends_with(".log")));

    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture, dir.path());
    let mut s = TestServer::start_over(dir);

    let mut agent = s.client();
    agent
        .login(800_001, 1001, "load-test-pw")
        .expect("agent 1001 of the load account");
    let before = messages(&mut agent);
    // Two runs of 60 messages each: the first in the tables, the second in the log.
    assert_eq!(before.len(), 120, "every stored message");

    // A write on the new engine, then a restart: the old data and the new both read.
    // (The load's customers are contacts already: the contact is a new customer.)
    let newcomer = CustomerId::Identified("after-the-upgrade".into());
    agent
        .request(&Request::CreateContact {
            customer: newcomer.clone(),
            state: ContactState::Friend,
            edit: ContactEdit {
                remark: Some("after the engine upgrade".into()),
                ..Default::default()
            },
        })
        .expect("a write on the new engine");
    drop(agent);
    s.restart();
    let mut agent = s.client();
    agent.login(800_001, 1001, "load-test-pw").expect("again");
    assert_eq!(messages(&mut agent), before);
    match agent
        .request(&Request::GetContact { customer: newcomer })
        .expect("contact")
    {
        Response::Contact(c) => {
            assert_eq!(c.remark, "after the engine upgrade");
        }
        other => panic!("{other:?}"),
    }
}
