//! Starting a stored session: what a start may write of its row.

use super::*;

/// A session an organizer deleted after a node read its row, but before the start wrote the row
/// again, stays deleted. Rows from before view-only links lack a viewer secret, so their start
/// writes the row with a new one: as an upsert, that made the deleted session again, with no
/// documents, chat or lease, and its links working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_session_deleted_before_its_start_writes_its_row_stays_deleted() {
    let dir = std::env::temp_dir().join(format!("bandsync-deleted-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(crate::store::Store::open(&dir).unwrap());
    let hub = Hub::new(ServerConfig { store: Some(store.clone()), ..ServerConfig::default() }, HostClock::new());
    let id = hub.create_session("Old band").unwrap().id.to_string();
    // A row written before view-only links.
    store.db().execute("UPDATE sessions SET viewer_secret = NULL WHERE id = ?1", &[id.as_str().into()]).unwrap();
    let read = store.sessions().unwrap().into_iter().find(|s| s.id == id).unwrap();
    assert!(read.viewer_secret.is_none());

    store.delete_session(&id).unwrap();
    let later = Hub::new(ServerConfig { store: Some(store.clone()), ..ServerConfig::default() }, HostClock::new());
    let started = later.start_stored(&later.starting(), read.clone(), None);
    assert!(matches!(started, Err(HubError::Store(_))), "refused: {:?}", started.map(|h| h.id));
    assert!(store.sessions().unwrap().is_empty(), "not made again");
    assert!(later.get(&id).is_none());

    // Not deleted, the same row is brought up to date: it gains its view-only secret.
    let id = hub.create_session("Still here").unwrap().id.to_string();
    store.db().execute("UPDATE sessions SET viewer_secret = NULL WHERE id = ?1", &[id.as_str().into()]).unwrap();
    let read = store.sessions().unwrap().into_iter().find(|s| s.id == id).unwrap();
    later.start_stored(&later.starting(), read, None).unwrap();
    let row = store.sessions().unwrap().into_iter().find(|s| s.id == id).unwrap();
    assert!(row.viewer_secret.is_some(), "{row:?}");
    hub.close_all();
    later.close_all();
    let _ = std::fs::remove_dir_all(&dir);
}
