//! Several nodes over one store: hand-over while draining, carried state, unheld sessions, and a
//! session let go while its task still writes.

use super::*;
use crate::config::ServerConfig;
use crate::placements::{Load, LoadJob};
use std::time::Instant;

/// A store in a folder of its own, removed when dropped.
struct Scratch(std::path::PathBuf, Arc<crate::store::Store>);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bandsync-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(crate::store::Store::open(&dir).unwrap());
        Scratch(dir, store)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn node(name: &str, store: &Arc<crate::store::Store>) -> Arc<Hub> {
    // Leases far longer than the test: a session can only move because it was handed over.
    node_with_lease(name, store, Duration::from_secs(60))
}

/// A node whose leases last `lease_ttl`; nothing renews them (`keep_leases` is not running).
fn node_with_lease(name: &str, store: &Arc<crate::store::Store>, lease_ttl: Duration) -> Arc<Hub> {
    let node = NodeConfig { name: name.into(), lease_ttl };
    let cfg = ServerConfig { store: Some(store.clone()), node: Some(node), ..ServerConfig::default() };
    Hub::new(cfg, crate::clock::HostClock::new())
}

/// Nodes `a` and `other` on one store (in folder `tag`), leases of `lease_ttl`, and a session `a`
/// created and holds.
fn band_on_a(tag: &str, other: &str, lease_ttl: Duration) -> (Scratch, Arc<Hub>, Arc<Hub>, String) {
    let scratch = Scratch::new(tag);
    let (a, b) = (node_with_lease("a", &scratch.1, lease_ttl), node_with_lease(other, &scratch.1, lease_ttl));
    let id = a.create_session("Big band").unwrap().id.to_string();
    (scratch, a, b, id)
}

/// Drains node `a` as `bandsync serve` does at SIGTERM: off the async workers.
async fn drain(a: &Arc<Hub>) {
    let a = a.clone();
    tokio::task::spawn_blocking(move || a.drain()).await.unwrap();
}

/// One load, alone in its batch: its outcome.
pub(super) fn try_load(
    hub: &Hub,
    id: &str,
    ask: bool,
    waited_on: Option<crate::store::lease::Lease>,
) -> Result<Load, String> {
    let (mut job, mut outcome) = job(id);
    job.ask = ask;
    job.waited_on = waited_on;
    hub.try_loads(&mut [job]);
    outcome.try_recv().expect("told")
}

/// A load asked for `id` by a member arriving now, and where its outcome goes.
fn job(id: &str) -> (LoadJob, tokio::sync::oneshot::Receiver<Result<Load, String>>) {
    let (answer, outcome) = tokio::sync::oneshot::channel();
    let (gave_up, begun) = (Arc::default(), Arc::default());
    let job = LoadJob {
        id: id.into(),
        ask: false,
        waited_on: None,
        gave_up,
        begun,
        arrived: std::time::Instant::now(),
        answer: Some(answer),
    };
    (job, outcome)
}

/// Sessions whose members reach a node together load in one batch (a statement for each read
/// and one take for them all), each once, each with its own outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_reached_together_load_in_one_batch_each_with_its_outcome() {
    let (scratch, a, b, first) = band_on_a("batch", "b", Duration::from_secs(60));
    let second = a.create_session("Two").unwrap().id.to_string();
    let third = a.create_session("Three").unwrap().id.to_string();
    // Handed over: their leases are free.
    drain(&a).await;
    let (gone, gone_told) = job(&third);
    gone.gave_up.store(true, std::sync::atomic::Ordering::Release);
    // An older job for `first`, whose member stopped waiting before it was told so, stands
    // behind the newer one.
    let (jobs, told): (Vec<_>, Vec<_>) =
        [job(&first), job(&first), job(&second), (gone, gone_told), job("nosuchsess")].into_iter().unzip();
    let before = b.placing.attempts();
    tokio::task::spawn_blocking({
        let b = b.clone();
        move || b.try_loads(&mut { jobs })
    })
    .await
    .unwrap();
    let out: Vec<Result<Load, String>> = told.into_iter().map(|mut t| t.try_recv().expect("told")).collect();
    assert!(
        matches!(
            out[..],
            [Ok(Load::Held(None)), Ok(Load::Loaded), Ok(Load::Loaded), Ok(Load::Held(None)), Ok(Load::NotStored)]
        ),
        "{out:?}"
    );
    assert!(b.get(&first).is_some() && b.get(&second).is_some() && b.get(&third).is_none());
    assert_eq!(b.leases().len(), 2, "the given-up session's lease was not taken");
    assert_eq!(b.placing.attempts() - before, 3, "one read each for first, second and the unknown one");
    // a drained to come back: once back, it asks for the two b took (`nodes/homes.rs`).
    assert_eq!(scratch.1.claim_homes("a", 10).unwrap(), 2);
    // Drained again before b hands them over: a withdraws its asks (handed to a node leaving,
    // they would lose their home), and they are still a's to ask for.
    drain(&a).await;
    // An ask of a's that was under way as it drained, and landed after its withdrawal: withdrawn
    // again, and they are still a's to ask for.
    assert_eq!(a.ask_once().unwrap(), 0, "an ask landing on a drained node asks for none");
    assert_eq!(scratch.1.claim_homes("a", 10).unwrap(), 2, "a's asks withdrawn as it drained");
    a.close_all();
    b.close_all();
}

/// Seen in CI: members reconnecting to a node while it drained found their session's lease
/// just released, and the draining node took it back, to stop with it a moment later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_its_sessions_over_and_takes_none_back() {
    let (_scratch, a, b, id) = band_on_a("nodes", "b", Duration::from_secs(60));
    assert!(a.get(&id).is_some() && a.leases().contains_key(id.as_str()), "a runs it under its lease");

    let quick = Duration::from_secs(1);
    drain(&a).await;
    assert!(a.get(&id).is_none(), "a let it go");
    let again = tokio::time::timeout(quick, a.place(&id)).await.expect("a answers at once");
    assert_eq!(again, Placement::Elsewhere, "a member retrying on the draining node is sent on");
    assert!(a.get(&id).is_none() && a.leases().is_empty(), "a took nothing back");
    let moved = tokio::time::timeout(quick, b.place(&id)).await.expect("no lease to wait for");
    assert_eq!(moved, Placement::Here, "b takes it at once");
    a.close_all();
    b.close_all();
}

/// A node that takes a session over and sees none of its members leaves what it carries on
/// the clock the members are on: saved on its own clock at once, the next node would tell
/// them their new clock continues one none of them had seen, and they would re-sync from
/// nothing (a click lost in CI, when a session passed through a node on its way to the next).
/// It is saved on this node's clock once a member joins here (`Carried::key`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_sees_no_member_leaves_the_carried_state_on_their_clock() {
    let scratch = Scratch::new("carry");
    let store = &scratch.1;
    let a = node("a", store);
    let id = a.create_session("Big band").unwrap().id.to_string();
    // What a carries (as its session task saves it when the roster changes), on a's clock.
    let secrets = bandsync_core::session::SecretSource(Box::new(|| bandsync_core::protocol::Secret("s".repeat(32))));
    let cfg = bandsync_core::SessionConfig::default();
    let on_a = bandsync_core::Session::new(&id, "Big band", a.clock().epoch(), cfg, a.clock().now(), secrets);
    let json = serde_json::to_string(&on_a.carry(a.clock().now(), 0)).unwrap();
    store.append(&id, crate::store::Appended { carried: Some(json), ..Default::default() }).unwrap();
    drain(&a).await;
    let b = node("b", store);
    assert_eq!(b.place(&id).await, Placement::Here);
    let (data, roster) = store.carried(&id).unwrap().unwrap();
    let saved = bandsync_core::session::carry::Carried::from_parts(&data, roster.as_deref()).unwrap();
    assert_eq!(saved.epoch, a.clock().epoch(), "still on a's clock, which the members are on");
    a.close_all();
    b.close_all();
}

/// The whole cluster restarted: a session whose band never came back is loaded by no node,
/// so no node's idle expiry sees it. It ends once nobody has held it for the idle time; one
/// held more recently stays, as does one a node runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_no_node_loads_ends_after_the_idle_time() {
    let scratch = Scratch::new("unheld");
    let store = &scratch.1;
    let a = node("a", store);
    let gone = a.create_session("Gone band").unwrap().id.to_string();
    let back = a.create_session("Band back").unwrap().id.to_string();
    // The cluster stops with a's leases running (60 s); a restarted node b loads nothing.
    a.close_all();
    let b = node("b", store);
    let idle = Duration::from_secs(600);
    let t0 = b.clock.wall_ms();
    assert!(b.expire_unheld(t0, idle).is_empty(), "held moments ago");
    // The band of `back` returns 5 minutes after the leases ran out: b loads it then.
    let returns = t0 + 65_000 + 300_000;
    store.take_lease(&back, "b", returns, ms(Duration::from_secs(60))).unwrap().expect("free by then");
    // Ten minutes and a second after the leases ran out.
    let later = t0 + 60_000 + 601_000;
    assert_eq!(b.expire_unheld(later, idle), std::slice::from_ref(&gone));
    assert!(store.session(&gone).unwrap().is_none(), "its rows are gone");
    assert!(store.session(&back).unwrap().is_some(), "held 5 minutes ago");
    b.close_all();
}

/// Ana's join with the session's `secret`, as her connection hands it to the session's task:
/// the input, her outbox, and the answer to whether she joined.
fn ana_joins(
    secret: String,
) -> (
    crate::session_task::SessionInput,
    tokio::sync::mpsc::Receiver<crate::outbox::Outgoing>,
    tokio::sync::oneshot::Receiver<bool>,
) {
    use bandsync_core::protocol::Secret;
    let (outbox, member) = tokio::sync::mpsc::channel(64);
    let (answer, joined) = tokio::sync::oneshot::channel();
    let req = bandsync_core::session::JoinRequest {
        v: bandsync_core::PROTOCOL_VERSION,
        name: "Ana".into(),
        instrument: None,
        resume: None,
        leader: false,
        secret: Some(Secret(secret)),
        pin: None,
        source: None,
        once: false,
    };
    let join = crate::session_task::SessionInput::Join { conn: 1, req, token: Secret("t".repeat(32)), outbox, answer };
    (join, member, joined)
}

/// Polls `done` every 10 ms until it holds, for 3 s at most; how long that took.
async fn until(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(3), "not {what} after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// A node cut off by a database that takes its statements and never answers (hung, or across a
/// partition that drops nothing the kernel can see): its renewal waits, so the node cannot know
/// it still holds its leases. It lets its sessions go once they run out, as when the renewal
/// fails, not when (if ever) the database answers, and its health check fails; it renews again
/// and is healthy once the database answers. Here the database's write lock is held by another
/// connection, which keeps the renewal waiting for SQLite's busy timeout (5 s) against leases of
/// 400 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_database_does_not_answer_lets_its_sessions_go_as_their_leases_run_out() {
    let ttl = Duration::from_millis(400);
    let (scratch, a, _b, id) = band_on_a("hung-database", "b", ttl);
    let renewing = tokio::spawn(a.clone().keep_leases());
    let db = rusqlite::Connection::open(scratch.0.join("bandsync.sqlite3")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held = until("the session let go", || a.get(&id).is_none()).await;
    // Its health check fails from a lease time after the database last answered, so the proxy
    // sends members elsewhere.
    let noticed = held + until("cut off", || a.cut_off()).await;
    db.execute_batch("COMMIT").unwrap();
    assert!(held <= ttl + Duration::from_millis(300), "let go {held:?} after the database stopped answering");
    assert!(noticed <= ttl + Duration::from_millis(300), "cut off {noticed:?} after");
    // The database answers again: the node is no longer cut off, and a session it creates now
    // has its lease renewed.
    until("healthy again", || !a.cut_off()).await;
    let again = a.create_session("Back").unwrap().id.to_string();
    let expiry = || a.leases().get(again.as_str()).map(|l| l.expires_ms);
    let first = expiry().expect("a lease taken");
    until("its lease renewed", || expiry() != Some(first)).await;
    a.close_all();
    renewing.abort();
}

/// The same node, its members connected and the join's writes waiting for the database when the
/// lease runs out: another node may own the session now, and those writes would be refused there
/// (fenced), so the members are told to reconnect at once, not once (if ever) the database
/// answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_session_whose_lease_ran_out_are_sent_on_without_waiting_for_the_disk() {
    let ttl = Duration::from_millis(400);
    let (scratch, a, _b, id) = band_on_a("hung-members", "b", ttl);
    let renewing = tokio::spawn(a.clone().keep_leases());
    let secret = scratch.1.session(&id).unwrap().expect("stored").secret;
    let db = rusqlite::Connection::open(scratch.0.join("bandsync.sqlite3")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (join, mut member, joined) = ana_joins(secret);
    a.get(&id).expect("held").tx.send(join).await.unwrap();
    assert!(joined.await.unwrap(), "Ana joined; her welcome waits for the disk");
    let cut = Instant::now();
    let told = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match member.recv().await {
                Some(crate::outbox::Outgoing::Close(why)) => return why,
                Some(_) => {}
                None => return "",
            }
        }
    })
    .await;
    db.execute_batch("COMMIT").unwrap();
    let why = told.unwrap_or_else(|_| panic!("Ana still waits {:?} after the disk stopped answering", cut.elapsed()));
    assert!(why.contains("reconnect"), "{why:?}");
    assert!(cut.elapsed() <= ttl + Duration::from_millis(300), "told {:?} after", cut.elapsed());
    a.close_all();
    renewing.abort();
}

/// A renewal answered a tick or more late speaks of the lease it was asked about. The node let
/// that lease go and took the session again since: the answer leaves the later lease, and the
/// session under it, alone. And the session is taken again only once the task let go has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_an_earlier_lease_leaves_the_later_one_alone() {
    let (_scratch, a, b, id) = band_on_a("earlier-lease", "b", Duration::from_secs(60));
    let first = a.leases()[id.as_str()].token;
    assert!(a.let_go(&id, first, true), "the first lease, lost");
    assert!(a.get(&id).is_none());
    assert_eq!(a.place(&id).await, Placement::Here, "a member brings it back");
    assert!(!a.still_ending(&id), "loaded once the first task had ended");
    let second = a.leases()[id.as_str()].token;
    assert!(second > first);
    assert!(!a.let_go(&id, first, true), "a late answer about the first lease");
    assert!(a.get(&id).is_some(), "the session stays");
    assert_eq!(a.leases().get(id.as_str()).map(|l| l.token), Some(second));
    a.close_all();
    b.close_all();
}

/// A renewal's answer about a lease that a load under way took, before its session is started:
/// left until the next answer, which finds the session started. Acted on at once, the session
/// started with no lease listed to renew, and every write of it fenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_a_lease_a_load_took_waits_for_the_session() {
    let (_scratch, a, b, id) = band_on_a("loading-lease", "b", Duration::from_secs(60));
    let token = a.leases()[id.as_str()].token;
    // As in a load: the lease listed, the session not yet, the loading lock held.
    let handle = a.forget_local(&id).expect("running");
    let loading = a.loading.lock().unwrap();
    assert!(!a.let_go(&id, token, true), "left for the next answer");
    assert!(a.leases().contains_key(id.as_str()), "the lease stays listed");
    drop(loading);
    handle.stop.cancel();
    assert!(a.let_go(&id, token, true), "no load under way: let go");
    a.close_all();
    b.close_all();
}

/// A session this node let go while its task was still writing (here the disk is held by another
/// connection): a member arriving meanwhile loads nothing, since a second task would run beside
/// the first, and the stored state it read could miss what the first still writes. Once the
/// first task has ended, the next member loads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_let_go_while_its_task_still_writes_is_loaded_once_that_task_has_ended() {
    let (scratch, a, b, id) = band_on_a("still-writing", "b", Duration::from_secs(60));
    let secret = scratch.1.session(&id).unwrap().expect("stored").secret;
    let db = rusqlite::Connection::open(scratch.0.join("bandsync.sqlite3")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Ana's join changes what the session carries: its task starts writing that, and waits.
    let (join, _member, joined) = ana_joins(secret);
    a.get(&id).expect("held").tx.send(join).await.unwrap();
    assert!(joined.await.unwrap());
    let token = a.leases()[id.as_str()].token;
    assert!(a.let_go(&id, token, false), "let go, its write still waiting on the disk");
    assert!(a.still_ending(&id), "its task settles its write before it ends");
    let tried = tokio::task::spawn_blocking({
        let (a, id) = (a.clone(), id.clone());
        move || try_load(&a, &id, false, None)
    })
    .await
    .unwrap();
    assert!(matches!(tried, Ok(Load::Held(None))), "a member meanwhile loads nothing");
    assert!(a.get(&id).is_none() && a.leases().is_empty(), "nothing taken");
    db.execute_batch("COMMIT").unwrap();
    until("the task let go ended", || !a.still_ending(&id)).await;
    assert_eq!(a.place(&id).await, Placement::Here, "the next member loads it");
    a.close_all();
    b.close_all();
}

mod placing;
