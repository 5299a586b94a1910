//! `bandsync serve` and `bandsync admin token`: organizers make, list and delete sessions through
//! the API within their quotas, a leader's link leads, revoked tokens stop at once, sessions and
//! their owners survive a restart, and idle sessions end: with SQLite (`--data-dir`) and with a
//! real Postgres the test starts (`--database postgres://…`).

use bandsync_e2e::process::{Proc, http, run};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// `bandsync ARGS STORE…`.
fn with<'a>(args: &[&'a str], store: &'a [String]) -> Vec<&'a str> {
    args.iter().copied().chain(store.iter().map(String::as_str)).collect()
}

fn token(store: &[String], name: &str, quota: &str) -> String {
    let (code, out) = run(&with(&["admin", "token", "create", name, "--quota", quota, "--json"], store), "");
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

fn serve(store: &[String]) -> (Proc, String) {
    let mut s = Proc::bandsync(&with(&["serve", "--bind", "127.0.0.1:0", "--json", "--idle-expiry", "3"], store));
    let addr = s.event("serving")["addr"].as_str().unwrap().to_owned();
    (s, addr)
}

fn ids(v: &Value) -> Vec<String> {
    v["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn organizers_make_list_and_delete_sessions_within_their_quotas() {
    let dir = std::env::temp_dir().join(format!("bandsync-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    organizers_scenario(&["--data-dir".into(), dir.to_str().unwrap().to_owned()]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn organizers_make_list_and_delete_sessions_on_postgres() {
    let _machine = bandsync_e2e::machine::shared();
    let pg = bandsync_e2e::postgres::PgServer::start();
    organizers_scenario(&["--database".into(), pg.database("serve")]);
}

/// `--clock-ping-ms`: the node's welcome asks its members for that cadence (the member keeps it:
/// `crates/core/src/member/tests/cadence.rs`); one outside what members keep is refused at start.
#[test]
fn a_node_asks_its_members_for_the_ping_cadence_it_was_given() {
    let dir = std::env::temp_dir().join(format!("bandsync-serve-ping-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = ["--data-dir".to_owned(), dir.to_str().unwrap().to_owned()];
    let school = token(&d, "school", "1");
    // A usage error (clap's exit code 2), with "members keep 50 to 1000 ms" on stderr.
    let (code, _) = run(&with(&["serve", "--bind", "127.0.0.1:0", "--clock-ping-ms", "20"], &d), "");
    assert_eq!(code, 2, "20 ms is refused");
    let mut srv = Proc::bandsync(&with(&["serve", "--bind", "127.0.0.1:0", "--json", "--clock-ping-ms", "200"], &d));
    let addr = srv.event("serving")["addr"].as_str().unwrap().to_owned();
    let (code, made) = http(&addr, "POST", "/api/sessions", Some(&school), Some(&json!({"name": "Jazz band"})));
    assert_eq!(code, 201, "{made}");
    let (id, link) = (made["id"].as_str().unwrap(), made["join_link"].as_str().unwrap());
    let secret = link.split_once("#k=").map(|(_, k)| k.to_owned());
    let welcome = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut m = bandsync_e2e::raw::Raw::connect(addr.parse().unwrap()).await;
        m.secret = secret;
        m.join(id, "Ana", false, None).await
    });
    assert_eq!(welcome["ping_ms"], 200, "{welcome}");
    srv.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}

fn organizers_scenario(d: &[String]) {
    let school = token(d, "school", "1");
    let church = token(d, "church", "5");
    assert_ne!(run(&with(&["admin", "token", "create", "school"], d), "").0, 0, "one live token per organizer");
    let (mut srv, addr) = serve(d);

    // No session at start; the API needs a valid token.
    assert_eq!(http(&addr, "GET", "/api/sessions", None, None).0, 401);
    let (code, e) = http(&addr, "POST", "/api/sessions", Some("bso_guess"), Some(&json!({"name": "X"})));
    assert_eq!((code, e["error"]["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(ids(&http(&addr, "GET", "/api/sessions", Some(&school), None).1), Vec::<String>::new());

    let (code, made) = http(&addr, "POST", "/api/sessions", Some(&school), Some(&json!({"name": "Jazz band"})));
    assert_eq!(code, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let join = made["join_link"].as_str().unwrap().to_owned();
    let lead = made["leader_link"].as_str().unwrap().to_owned();
    assert!(join.starts_with(&format!("http://{addr}/s/{id}#k=")) && lead != join, "{made}");
    let (code, e) = http(&addr, "POST", "/api/sessions", Some(&school), Some(&json!({"name": "Choir"})));
    assert_eq!((code, e["error"]["code"].as_str()), (403, Some("quota")), "{e}");
    let (code, e) = http(&addr, "POST", "/api/sessions", Some(&church), Some(&json!({"name": ""})));
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("invalid_name")));
    assert_eq!(
        ids(&http(&addr, "GET", "/api/sessions", Some(&church), None).1),
        Vec::<String>::new(),
        "only one's own"
    );
    assert_eq!(ids(&http(&addr, "GET", "/api/sessions", Some(&school), None).1), vec![id.clone()]);

    // The members' link follows; the leader's link leads, though the other joined first.
    let mut kid = Proc::bandsync(&["join", "--no-audio", &join, "--name", "Kid", "--leader", "--json"]);
    kid.event("joined");
    let mut teacher = Proc::bandsync(&["join", "--no-audio", &lead, "--name", "Teacher", "--json"]);
    let you = teacher.event("joined")["you"].clone();
    teacher.wait_for("leadership", |v| v["event"] == "participants" && v["leader"] == you);
    // The view-only link admits a viewer.
    let view = made["view_link"].as_str().unwrap().to_owned();
    let mut parent = Proc::bandsync(&["join", "--no-audio", &view, "--name", "Parent", "--json"]);
    let p = parent.event("joined")["you"].clone();
    teacher.wait_for("a viewer", |v| {
        v["event"] == "participants"
            && v["participants"].as_array().unwrap().iter().any(|x| x["id"] == p && x["access"] == "viewer")
    });

    // Another organizer cannot delete it; its owner can, and its members are told.
    assert_eq!(http(&addr, "DELETE", &format!("/api/sessions/{id}"), Some(&church), None).0, 404);
    assert_eq!(http(&addr, "DELETE", &format!("/api/sessions/{id}"), Some(&school), None).0, 204);
    assert_eq!(kid.exit_code(), 3, "the session is gone: the member is refused on reconnecting");
    // Told why the connection closed (once a closed outbox alone, read as "too slow to read").
    let gone = teacher.wait_for("the close", |v| v["event"] == "disconnected");
    assert!(gone["reason"].as_str().is_some_and(|r| r.contains("the session ended on this server")), "{gone}");
    assert_eq!(ids(&http(&addr, "GET", "/api/sessions", Some(&school), None).1), Vec::<String>::new());

    // A revoked token stops at once, without a restart.
    assert_eq!(run(&with(&["admin", "token", "revoke", "school"], d), "").0, 0);
    assert_eq!(http(&addr, "POST", "/api/sessions", Some(&school), Some(&json!({"name": "Again"}))).0, 401);

    // A restart brings the sessions back with their owners; then nobody comes and it expires.
    let (_, made) = http(&addr, "POST", "/api/sessions", Some(&church), Some(&json!({"name": "Evensong"})));
    let id2 = made["id"].as_str().unwrap().to_owned();
    srv.terminate();
    assert_eq!(srv.exit_code(), 0);
    let (_srv2, addr) = serve(d);
    assert_eq!(ids(&http(&addr, "GET", "/api/sessions", Some(&church), None).1), vec![id2]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ids(&http(&addr, "GET", "/api/sessions", Some(&church), None).1).is_empty() {
        assert!(Instant::now() < deadline, "the idle session did not expire");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, list) = run(&with(&["admin", "token", "list", "--json"], d), "");
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v["organizers"][1]["revoked"], true, "{v}");
    assert_eq!(v["organizers"][0]["sessions"], 0, "an expired session is gone from the store too: {v}");
}
