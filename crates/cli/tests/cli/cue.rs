//! A leader's cue reaches a follower's `--json` stream before it lands, naming the bar line it
//! lands on: the follower's own click plays that bar's downbeat at exactly the cue's time. A
//! follower cues once the leader lets everyone who edits cue, and once the leader names that
//! follower alone, while another follower is refused.

use bandsync_e2e::process::Proc;
use bandsync_e2e::pulse::Pulse;

#[test]
fn a_cue_lands_on_a_bar_line_that_the_followers_click_plays() {
    let mut h = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json"]);
    let url = h.event("hosting")["url"].as_str().unwrap().to_owned();
    let mut lead = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Lead", "--leader", "--json"]);
    lead.event("joined");
    let pulse = Pulse::start(1);
    let mut cmd = std::process::Command::new(bandsync_e2e::process::bandsync());
    pulse.apply(&mut cmd, None);
    cmd.args(["join", &url, "--name", "Fol", "--json", "--audio", "--mute", "--beats"]).env("BANDSYNC_NO_MDNS", "1");
    let mut fol = Proc::start(cmd, true);
    fol.event("joined");
    lead.say("meter 3/4");
    lead.say("tempo 160");
    lead.say("play");
    fol.wait_for("a beat", |v| v["event"] == "beat");
    lead.say("cue Last chorus");
    let cue = fol.wait_for("the cue", |v| v["event"] == "cue");
    assert_eq!(cue["text"], "Last chorus");
    let (at, bar) = (cue["at"].as_i64().unwrap(), cue["bar"].as_i64().unwrap());
    // It came before it lands; the downbeat of its bar is clicked exactly then.
    let beats_before = fol.seen.iter().filter(|v| v["event"] == "beat").count();
    let down = fol.wait_for("the cue's downbeat", |v| v["event"] == "beat" && v["bar"] == bar && v["beat"] == 0);
    assert_eq!(down["host_time"].as_i64(), Some(at), "the cue lands on the bar line: {cue} {down}");
    assert!(fol.seen.iter().filter(|v| v["event"] == "beat").count() > beats_before, "announced ahead of its bar");
    // A follower cannot cue, until the leader lets everyone who edits cue.
    fol.say("cue Break");
    let e = fol.wait_for("a refusal", |v| v["event"] == "error");
    assert_eq!(e["code"], "not_leader");
    lead.say("cue-by editors");
    // The follower's line could overtake that one on the way to the host. The leader's next line
    // is handled after it: once that cue is back at the follower, editors may cue.
    lead.say("cue Ready");
    fol.wait_for("the leader's cue after the change", |v| v["event"] == "cue" && v["text"] == "Ready");
    fol.say("cue Break");
    let v = fol
        .wait_for("the cue or a refusal", |v| (v["event"] == "cue" && v["text"] == "Break") || v["event"] == "error");
    assert_eq!(v["event"], "cue", "the follower may now cue: {v}");
    assert!(v["bar"].is_i64(), "on a bar line: {v}");
    let cue = lead.wait_for("the follower's cue, at the leader", |v| v["event"] == "cue" && v["text"] == "Break");
    let you = fol.seen.iter().find(|v| v["event"] == "joined").map(|v| v["you"].clone());
    assert_eq!(Some(cue["by"].clone()), you, "sent by the follower: {cue}");
    // The leader names the follower alone: another follower is refused, the one named cues.
    let mut cy = Proc::bandsync(&["join", "--no-audio", &url, "--name", "Cy", "--json"]);
    cy.event("joined");
    lead.say(&format!("cue-by {}", you.unwrap()));
    lead.say("cue Named");
    cy.wait_for("the leader's cue after naming", |v| v["event"] == "cue" && v["text"] == "Named");
    cy.say("cue Stop");
    let e = cy.wait_for("Cy's refusal", |v| v["event"] == "error" || (v["event"] == "cue" && v["text"] == "Stop"));
    assert_eq!(e["code"], "not_leader", "only the member named: {e}");
    fol.say("cue Outro");
    let v = fol.wait_for("the named follower's cue", |v| {
        (v["event"] == "cue" && v["text"] == "Outro") || (v["event"] == "error" && v["about"] == "cue")
    });
    assert_eq!(v["event"], "cue", "the member named cues: {v}");
}
