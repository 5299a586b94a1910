//! The `bandsync` binary as scripts use it: real processes, real sockets on loopback, JSON lines,
//! exit codes.

use bandsync_e2e::process::{Proc, scan_qr, state_has};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_bandsync");

fn host() -> (Proc, Value) {
    let mut h = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json"]);
    let first = h.wait_for("hosting", |_| true);
    assert_eq!(first["event"], "hosting", "the first line is the hosting event");
    (h, first)
}

#[test]
fn host_prints_its_link_and_members_join_follow_and_control_it() {
    let (mut h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains(&format!("/s/{}#k=", hosting["session"].as_str().unwrap())), "{url}");
    assert_eq!(hosting["name"], "Gig");

    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    let joined = lead.event("joined");
    assert_eq!(joined["you"], 1);
    let mut fol = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ben", "--json"]);
    fol.event("joined");
    let p = fol.wait_for("two participants", |v| v["event"] == "participants" && v["members"] == 2);
    assert_eq!(p["leader"], 1);
    assert_eq!(p["participants"][0]["role"], "leader");
    assert_eq!(p["participants"][1]["name"], "Ben");

    // A follower's control command is refused with a JSON error.
    fol.say("tempo 90");
    let e = fol.event("error");
    assert_eq!(e["code"], "not_leader");

    lead.say("tempo 132");
    let st = fol.wait_for("tempo 132", |v| state_has(v, "tempo", &Value::from(132.0)));
    assert_eq!(st["meter"], "4/4");
    lead.say("meter 7/8");
    fol.wait_for("7/8", |v| state_has(v, "meter", &Value::from("7/8")));
    // Once playing, a change is scheduled for the next bar line rather than applied at once.
    lead.say("play");
    fol.wait_for("playing", |v| state_has(v, "playing", &Value::from(true)));
    lead.say("tempo 90");
    let st = fol.wait_for("tempo 90 pending", |v| {
        v["event"] == "state" && v["pending"].as_array().is_some_and(|p| p.iter().any(|s| s["tempo"] == 90.0))
    });
    assert_eq!(st["tempo"], 132.0, "the old tempo holds until the bar line");
    lead.say("bogus");
    assert_eq!(lead.event("error")["code"], "usage");

    fol.say("quit");
    fol.event("left");
    assert_eq!(fol.exit_code(), 0);
    lead.wait_for("one participant", |v| v["event"] == "participants" && v["members"] == 1);
    lead.say("quit");
    assert_eq!(lead.exit_code(), 0);

    h.terminate();
    h.event("stopped");
    assert_eq!(h.exit_code(), 0);
}

#[test]
fn join_of_an_unknown_session_exits_3() {
    let (_h, hosting) = host();
    let url = format!("http://{}/s/nosuchsession", hosting["addr"].as_str().unwrap());
    let mut j = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--json"]);
    let e = j.event("error");
    assert_eq!(e["code"], "unknown_session");
    assert_eq!(j.exit_code(), 3);
}

#[test]
fn a_wrong_or_missing_secret_exits_3_and_the_secret_never_reaches_the_logs() {
    let mut h = Proc::bandsync_env(
        &["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json"],
        &[("BANDSYNC_LOG", "trace")],
        true,
    );
    let hosting = h.wait_for("hosting", |_| true);
    let url = hosting["url"].as_str().unwrap().to_owned();
    let (base, secret) = url.split_once("#k=").expect("the link carries the secret");
    assert!(secret.len() >= 32);
    for bad in [base.to_owned(), format!("{base}#k=0000")] {
        let mut j = Proc::bandsync(&["join", "--no-audio", &bad, "--name", "Eve", "--json"]);
        let e = j.event("error");
        assert!(e["code"] == "auth_required" || e["code"] == "bad_secret", "{e}");
        assert_eq!(j.exit_code(), 3);
    }
    // A leader joins with the link, rotates it, and the old link stops working.
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    let first = lead.event("credentials");
    assert_eq!(first["url"].as_str().unwrap().split_once("#k=").unwrap().1, secret);
    lead.say("rotate");
    let rotated = lead.event("credentials")["url"].as_str().unwrap().to_owned();
    let mut old = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ben", "--json"]);
    assert_eq!(old.event("error")["code"], "bad_secret");
    assert_eq!(old.exit_code(), 3);
    let mut new = Proc::bandsync(&["join", "--no-audio", &rotated, "--name", "Ben", "--json"]);
    new.event("joined");
    lead.say("pin 86420975");
    lead.event("credentials");
    let mut typed = Proc::bandsync(&["join", "--no-audio", base, "--name", "Caro", "--pin", "86420975", "--json"]);
    typed.event("joined");
    // The host logged at trace level throughout; neither secret appears in its logs. (The PIN has
    // eight digits so that no timestamp, whose runs of digits are at most six long, can match it.)
    h.terminate();
    h.event("stopped");
    let logs = h.stderr();
    assert!(logs.contains("session started"), "the logs were captured");
    let new_secret = rotated.split_once("#k=").unwrap().1;
    assert!(
        !logs.contains(secret) && !logs.contains(new_secret) && !logs.contains("86420975"),
        "a secret reached the logs"
    );
}

#[test]
fn the_qr_code_scans_to_the_join_link_and_joins() {
    let png = std::env::temp_dir().join(format!("bandsync-qr-{}.png", std::process::id()));
    let p = png.to_str().unwrap().to_owned();
    let mut h = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--qr-png", &p]);
    let hosting = h.wait_for("hosting", |_| true);
    let scanned = scan_qr(&png);
    let _ = std::fs::remove_file(&png);
    assert_eq!(scanned, hosting["url"].as_str().unwrap(), "the code holds exactly the join link");
    let mut j = Proc::bandsync(&["join", "--no-audio", &scanned, "--name", "Phone", "--json"]);
    assert_eq!(j.event("joined")["session"], hosting["session"]);
}

/// One raw HTTP request to the host; the answer's head and body.
fn http_raw(addr: &str, req: &str) -> (String, Vec<u8>) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    (String::from_utf8_lossy(&all[..split]).to_lowercase(), all[split + 4..].to_vec())
}

#[test]
fn the_page_gets_its_qr_code_from_the_host_and_its_files_gzipped() {
    let (_h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let body = serde_json::json!({"link": url}).to_string();
    let post = |body: &str| {
        format!(
            "POST /api/qr HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let (head, svg) = http_raw(&addr, &post(&body));
    assert!(head.starts_with("http/1.1 200") && head.contains("image/svg+xml"), "{head}");
    assert!(String::from_utf8_lossy(&svg).contains("<svg"));
    let (head, _) = http_raw(&addr, &post("{\"link\": 5}"));
    assert!(head.starts_with("http/1.1 400"), "bad input is a clear error: {head}");
    // The UI's page, gzipped where the browser takes it, as it is otherwise.
    let get = |enc: &str| format!("GET /index.html HTTP/1.1\r\nHost: {addr}\r\n{enc}Connection: close\r\n\r\n");
    let (plain_head, plain) = http_raw(&addr, &get(""));
    assert!(plain_head.starts_with("http/1.1 200") && !plain_head.contains("content-encoding"), "{plain_head}");
    let (head, z) = http_raw(&addr, &get("Accept-Encoding: gzip, deflate\r\n"));
    assert!(head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"), "{head}");
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut back).unwrap();
    assert_eq!(back, plain);
}

#[test]
fn remote_join_over_tls_with_a_self_signed_certificate() {
    let dir = std::env::temp_dir().join(format!("bandsync-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let (c, k) = (cert_path.to_str().unwrap(), key_path.to_str().unwrap());
    let tls_host = |key: &str| {
        let args =
            ["host", "--headless", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--tls-cert", c, "--tls-key", key];
        Proc::bandsync(&args)
    };
    let mut h = tls_host(k);
    let hosting = h.wait_for("hosting", |_| true);
    let url = hosting["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let wss = url.replacen("https://", "wss://", 1);
    // Without trusting the certificate: a clear TLS error, and no endless retrying.
    let mut untrusted = Proc::bandsync(&["join", "--no-audio", &wss, "--name", "Eve", "--json"]);
    let lost = untrusted.event("lost");
    assert!(lost["reason"].as_str().unwrap().contains("TLS"), "{lost}");
    assert_eq!(untrusted.exit_code(), 4);
    // Trusting it: joined over wss.
    let mut j = Proc::bandsync(&["join", "--no-audio", &wss, "--name", "Remote", "--ca", c, "--json"]);
    assert_eq!(j.event("joined")["session"], hosting["session"]);
    // A key that does not match the certificate is refused with a clear error.
    let other = rcgen::KeyPair::generate().unwrap();
    let bad_key = dir.join("other.pem");
    std::fs::write(&bad_key, other.serialize_pem()).unwrap();
    let mut bad = tls_host(bad_key.to_str().unwrap());
    let fatal = bad.event("fatal");
    assert!(fatal["message"].as_str().unwrap().contains("certificate and key"), "{fatal}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn losing_the_host_for_good_exits_4() {
    let (mut h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let mut j = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--json", "--retry-for", "1"]);
    j.event("joined");
    h.child.kill().unwrap();
    j.event("disconnected");
    j.event("lost");
    assert_eq!(j.exit_code(), 4);
}

#[test]
fn for_seconds_leaves_and_exits_0_and_usage_errors_exit_2() {
    let (_h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let mut j = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--json", "--for", "0.5"]);
    j.event("joined");
    j.event("left");
    assert_eq!(j.exit_code(), 0);
    let mut bad = Proc::bandsync(&["join", "--no-audio", &url]);
    assert_eq!(bad.exit_code(), 2, "a missing --name is a usage error");
}

#[test]
fn charts_and_the_setlist_round_trip_through_the_cli() {
    let (_h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let run = |args: &[&str], stdin: &str| {
        let mut c = Command::new(BIN).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
    };
    let setlist = r#"[{"id":"s1","title":"Intro","key":"Am","tempo":92,"meter":"4/4","notes":""}]"#;
    assert_eq!(run(&["setlist", "set", &url], setlist).0, 0);
    let chart = "{title: Intro}\n[Am]Rain on the [F]road 🎸\n";
    assert_eq!(run(&["chart", "set", &url, "Intro"], chart).0, 0);
    assert_eq!(run(&["chart", "get", &url, "Intro"], ""), (0, chart.to_owned()));
    // A chart for a new song adds it to the setlist.
    assert_eq!(run(&["chart", "set", &url, "Encore"], "[G]Last one").0, 0);
    let (code, list) = run(&["setlist", "get", &url], "");
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&list).unwrap();
    let titles: Vec<&str> = v.as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Intro", "Encore"]);
    // The tempo given in BPM (below 1000, as older setlists hold it) is printed in milli-BPM.
    assert_eq!((v[0]["tempo"].clone(), v[1]["tempo"].clone()), (json!(92_000), Value::Null));
    assert_eq!(run(&["chart", "get", &url, "Nope"], "").0, 1);
    assert_eq!(run(&["setlist", "set", &url], "not json").0, 1, "bad input is an error, not a crash");
    for tempo in [r#""120""#, "5000", "0.5", "-3"] {
        let bad = format!(r#"[{{"id":"s1","title":"Intro","tempo":{tempo}}}]"#);
        assert_eq!(run(&["setlist", "set", &url], &bad).0, 1, "a tempo of {tempo} is refused");
    }
}

#[test]
fn chat_is_posted_and_exported_as_json_csv_and_txt_and_the_activity_is_listed() {
    let (_h, hosting) = host();
    let url = hosting["url"].as_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
    };
    // A person in the session, and scripts that come, do one thing and go.
    let mut cy = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Cy", "--json"]);
    cy.event("joined");
    assert_eq!(run(&["chat", "send", &url, "Soundcheck at 7", "--name", "Ana"]).0, 0);
    assert_eq!(run(&["chat", "send", &url, "Bring \"the\" capo, please", "--name", "Ben"]).0, 0);
    let (code, json) = run(&["chat", "export", &url, "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    let msgs: Vec<(&str, &str)> =
        v.as_array().unwrap().iter().map(|m| (m["name"].as_str().unwrap(), m["text"].as_str().unwrap())).collect();
    assert_eq!(msgs, [("Ana", "Soundcheck at 7"), ("Ben", "Bring \"the\" capo, please")]);
    let (_, csv) = run(&["chat", "export", &url, "--format", "csv"]);
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(rows[0], "id,at,from,name,text,edited,reply_to,reactions");
    assert!(rows[2].contains(",Ben,\"Bring \"\"the\"\" capo, please\",false,,"), "{csv}");
    let (_, txt) = run(&["chat", "export", &url, "--format", "txt", "--search", "capo"]);
    assert_eq!(txt.lines().count(), 1, "{txt}");
    assert!(txt.ends_with("] Ben: Bring \"the\" capo, please\n"), "{txt}");
    assert_eq!(run(&["chat", "export", &url, "--format", "xml"]).0, 2, "a usage error");
    let (code, act) = run(&["activity", &url, "--json"]);
    assert_eq!(code, 0);
    let kinds: Vec<String> =
        act.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].as_str().unwrap().to_owned()).collect();
    // The person's join is activity; the scripts' coming and going is not (what they did is, in
    // the chat here).
    assert_eq!(kinds.iter().filter(|k| *k == "join").count(), 1, "{act}");
    assert!(act.contains("Cy joined") && !kinds.contains(&"leave".to_owned()), "{act}");
}

#[test]
fn acknowledged_edits_survive_kill_9_and_the_session_comes_back() {
    let dir = std::env::temp_dir().join(format!("bandsync-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap().to_owned();
    let mut h = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--data-dir", &d]);
    let hosting = h.wait_for("hosting", |_| true);
    let url = hosting["url"].as_str().unwrap().to_owned();
    // The leader sets a PIN: it is stored before the leader hears of it.
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Ana", "--leader", "--json"]);
    lead.event("joined");
    lead.say("pin 246813");
    lead.wait_for("the PIN", |v| v["event"] == "credentials" && v["pin"] == "246813");
    drop(lead);
    // A storm of edits, each acknowledged (the CLI exits 0 only once the server has it); the
    // host is killed with SIGKILL in the middle of it.
    let storm_url = url.clone();
    let (acks, acked_rx) = std::sync::mpsc::channel();
    let storm = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for i in 0..200 {
            let mut c = Command::new(BIN)
                .args(["chart", "set", &storm_url, &format!("Song {i}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            c.stdin.take().unwrap().write_all(format!("[C]verse {i}").as_bytes()).unwrap();
            if c.wait().unwrap().success() {
                acked.push(i);
                let _ = acks.send(i);
            } else {
                break;
            }
        }
        acked
    });
    // Killed once a few edits are acknowledged, in the middle of the storm.
    for _ in 0..3 {
        acked_rx.recv_timeout(Duration::from_secs(20)).expect("an acknowledged edit");
    }
    h.child.kill().unwrap(); // SIGKILL
    let acked = storm.join().unwrap();
    assert!(acked.len() >= 3, "some edits were acknowledged before the kill: {}", acked.len());
    // The host comes back with the same session and secret, on a new port.
    let mut h2 = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--no-mdns", "--json", "--data-dir", &d]);
    let again = h2.wait_for("hosting", |_| true);
    assert_eq!(again["session"], hosting["session"]);
    let url2 = again["url"].as_str().unwrap().to_owned();
    assert_eq!(url2.split_once("#k=").unwrap().1, url.split_once("#k=").unwrap().1, "the same secret");
    assert_eq!(
        again["view_url"].as_str().unwrap().split_once("#k=").unwrap().1,
        hosting["view_url"].as_str().unwrap().split_once("#k=").unwrap().1,
        "the same view-only link"
    );
    // The PIN came back too: a typed join with it gets in.
    let typed = url2.split_once('#').unwrap().0.to_owned();
    let mut ben = Proc::bandsync(&["join", "--no-audio", &typed, "--pin", "246813", "--name", "Ben", "--json"]);
    ben.event("joined");
    let out = Command::new(BIN).args(["setlist", "get", &url2]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let titles: Vec<String> =
        list.as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap().to_owned()).collect();
    for i in &acked {
        assert!(
            titles.contains(&format!("Song {i}")),
            "acknowledged song {i} was lost ({} of {} kept)",
            titles.len(),
            acked.len()
        );
    }
    let last = acked.last().unwrap();
    let out = Command::new(BIN).args(["chart", "get", &url2, &format!("Song {last}")]).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("[C]verse {last}"));
    eprintln!("{} edits acknowledged before SIGKILL; all {} present after restart", acked.len(), acked.len());
    let _ = std::fs::remove_dir_all(&dir);
}
