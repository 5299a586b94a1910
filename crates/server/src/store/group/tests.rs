//! The group commit's tests: writes waiting together, refusals, failures, panics, the lead.

use super::super::sql::{Db, Row, V};
use super::super::{Appended, Store, StoreError, StoredSession};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the database does with session `c`'s carried state.
#[derive(Debug, Clone, Copy)]
enum C {
    Writes,
    Fails,
    Panics,
}

/// SQLite, counting the transactions begun, and doing to `c`'s write what the test says.
#[derive(Debug)]
struct Watched {
    inner: Box<dyn Db>,
    begun: Arc<AtomicUsize>,
    c: C,
}

impl Db for Watched {
    fn execute(&mut self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
        if sql.starts_with("INSERT INTO carried") && params.contains(&V::Text("c".into())) {
            match self.c {
                C::Writes => {}
                C::Fails => return Err(StoreError::Engine("refused by the test".into())),
                C::Panics => panic!("a statement that panics"),
            }
        }
        self.inner.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError> {
        self.inner.query(sql, params)
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        if sql == "BEGIN" {
            self.begun.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.batch(sql)
    }
    fn engine(&self) -> &'static str {
        self.inner.engine()
    }
    fn locks_rows(&self) -> bool {
        self.inner.locks_rows()
    }
}

/// Session `id`'s row.
fn session_row(id: &str) -> StoredSession {
    StoredSession {
        id: id.into(),
        name: id.into(),
        secret: "k".into(),
        leader_secret: None,
        viewer_secret: None,
        pin: None,
    }
}

/// A store in a temp folder of its own, removed when this drops.
struct Held(Arc<Store>, std::path::PathBuf);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// A write's answer (`None` if its thread panicked, which the group's writer never lets
/// happen: it answers each write).
type Answer = Option<Result<bool, StoreError>>;

/// Sessions a, b and c (b deleted) each write their carried state, and a a document update
/// too, while the database is held, then it is let go. Returns each write's result, what is
/// stored of each, whether a's update is, and how many transactions the three took.
/// The store lives on in the returned [`Held`] for what a test does after.
fn three_writes_held(tag: &str, c: C) -> (Vec<Answer>, Vec<Option<String>>, bool, usize, Held) {
    let dir = std::env::temp_dir().join(format!("bandsync-group-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let begun = Arc::new(AtomicUsize::new(0));
    let inner = Box::new(super::super::sqlite::Sqlite::open(&dir).unwrap());
    let store = Arc::new(Store::on(Box::new(Watched { inner, begun: begun.clone(), c })));
    for id in ["a", "b", "c"] {
        store.put_session(&session_row(id), 0).unwrap();
    }
    store.delete_session("b").unwrap();
    let held = store.db();
    let writers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|id| {
            let store = store.clone();
            std::thread::spawn(move || {
                let carried = Some(format!("{{\"of\":\"{id}\"}}"));
                // A row written before the carried states: a failure after it must undo it.
                let updates = if id == "a" { vec![b"an edit".to_vec()] } else { Vec::new() };
                store.append(id, Appended { carried, updates, ..Appended::default() })
            })
        })
        .collect();
    let asked = Instant::now();
    while store.waiting().len() < 3 {
        assert!(asked.elapsed() < Duration::from_secs(10), "the three writes did not queue");
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = begun.load(Ordering::SeqCst);
    drop(held);
    let results: Vec<_> = writers.into_iter().map(|w| w.join().ok()).collect();
    let transactions = begun.load(Ordering::SeqCst) - before;
    let stored = ["a", "b", "c"].map(|id| store.carried(id).unwrap().map(|c| c.0)).to_vec();
    let updated = !store.document("a").unwrap().1.is_empty();
    (results, stored, updated, transactions, Held(store, dir))
}

/// The first to take the database writes all three in one transaction; the deleted one is
/// refused, and the other two are durable.
#[test]
fn writes_waiting_together_are_one_transaction_and_a_refused_one_writes_nothing() {
    let (results, stored, updated, transactions, _store) = three_writes_held("refused", C::Writes);
    assert_eq!(transactions, 1, "{results:?}");
    assert!(matches!(results[0], Some(Ok(_))) && matches!(results[2], Some(Ok(_))), "{results:?}");
    assert!(matches!(results[1], Some(Err(StoreError::Deleted(ref id))) if id == "b"), "{results:?}");
    assert_eq!(stored, [Some("{\"of\":\"a\"}".into()), None, Some("{\"of\":\"c\"}".into())]);
    assert!(updated);
}

/// A statement the database fails fails the whole transaction: nobody is told it was
/// written, and nothing of it is stored.
#[test]
fn a_failed_statement_fails_every_write_of_its_transaction() {
    let (results, stored, updated, _, _store) = three_writes_held("failed", C::Fails);
    assert!(matches!(results[0], Some(Err(StoreError::Engine(_)))), "{results:?}");
    // The checks come before any write: the deleted one is refused, whatever fails after.
    assert!(matches!(results[1], Some(Err(StoreError::Deleted(_)))), "{results:?}");
    assert!(matches!(results[2], Some(Err(StoreError::Engine(_)))), "{results:?}");
    assert_eq!(stored, [None, None, None]);
    assert!(!updated, "a's update, written before the failure, was rolled back");
}

/// A panic partway rolls the transaction back: every write of it hears an error, none is
/// told it was written, and no thread unwinds (the one writing goes on to the next group).
#[test]
fn after_a_panic_nobody_is_told_a_write_was_stored() {
    let (results, stored, updated, _, held) = three_writes_held("panicked", C::Panics);
    let store = &held.0;
    assert!(results.iter().all(|r| matches!(r, Some(Err(_)))), "{results:?}");
    assert_eq!(stored, [None, None, None]);
    assert!(!updated, "a's update, written before the panic, was rolled back");
    // The groups go on.
    store.append("a", Appended { carried: Some("{}".into()), ..Appended::default() }).unwrap();
    assert_eq!(store.carried("a").unwrap(), Some(("{}".into(), None)));
}

/// The members are written only when they change: a schedule without them keeps the ones
/// stored, and of two writes of one session in a transaction, the last schedule and the
/// last roster are kept.
#[test]
fn a_carried_state_without_its_roster_keeps_the_one_stored() {
    let held = crate::store::TestStore::new("roster");
    let store = &held.store;
    let put = |rows: &[(&'static str, Option<&'static str>)]| {
        let rows: Vec<super::super::CarriedRow<'_>> = rows.iter().map(|&(d, r)| ("s", d, r)).collect();
        super::super::sql::transaction(&mut **store.db(), |tx| super::super::put_carried(tx, &rows)).unwrap();
    };
    put(&[("1", Some("[a]"))]);
    put(&[("2", None)]);
    assert_eq!(store.carried("s").unwrap(), Some(("2".into(), Some("[a]".into()))));
    put(&[("3", Some("[b]")), ("4", None)]);
    assert_eq!(store.carried("s").unwrap(), Some(("4".into(), Some("[b]".into()))));
    let appended = Appended { carried: Some("5".into()), roster: Some("[c]".into()), ..Appended::default() };
    store.append("s", appended).unwrap();
    assert_eq!(store.carried("s").unwrap(), Some(("5".into(), Some("[c]".into()))), "through a group's write");
}

/// A runtime shutting down drops a writer's task unrun: the lead is given up, the write
/// waiting hears so (rather than waiting for good), and the next write leads again.
#[test]
fn a_lead_that_never_starts_is_given_up_and_its_write_hears_so() {
    let held = super::super::TestStore::new("group-unled");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let mut answer = {
        let _runtime = handle.enter();
        held.store.append_queued("s", Appended { carried: Some("{}".into()), ..Appended::default() })
    };
    let asked = Instant::now();
    let heard = loop {
        match answer.try_recv() {
            Ok(heard) => break heard,
            Err(_) => assert!(asked.elapsed() < Duration::from_secs(10), "the write was never answered"),
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(matches!(heard, Err(StoreError::Engine(ref why)) if why.contains("did not start")), "{heard:?}");
    held.store.append("s", Appended { carried: Some("{}".into()), ..Appended::default() }).unwrap();
}

/// Sessions' tasks writing at once through the queue: one writer at a time writes their
/// groups, each hears its answer, and all of it is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sessions_writing_at_once_through_the_queue_are_all_answered_and_stored() {
    let held = super::super::TestStore::new("group-queued");
    let store = held.store.clone();
    let ids: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
    for id in &ids {
        store.put_session(&session_row(id), 0).unwrap();
    }
    for round in 0..5 {
        let asked: Vec<_> = ids
            .iter()
            .map(|id| store.append_queued(id, Appended { carried: Some(format!("{round}")), ..Appended::default() }))
            .collect();
        for answer in asked {
            answer.await.expect("answered").expect("written");
        }
    }
    for id in &ids {
        assert_eq!(store.carried(id).unwrap().map(|c| c.0).as_deref(), Some("4"), "{id}");
    }
    // The last answer goes just before the lead is let go.
    let answered = Instant::now();
    while store.leading.load(Ordering::SeqCst) {
        assert!(answered.elapsed() < Duration::from_secs(10), "the lead is let go once none waits");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
