//! The clock-sync cadence a server asks for (`welcome.ping_ms`): kept once warmed up, within
//! what a member keeps, and given up for the member's own at a server that asks for none.

use super::carried::welcome_of;
use super::world::{SECRET, World};
use crate::member::{Member, MemberConfig, Transmit};
use crate::protocol::{ClientMsg, Secret, ServerMsg};
use crate::session::{SecretSource, Session, SessionConfig};
use crate::time::Micros;

/// A session whose welcome asks for `ping_ms`.
fn session(ping_ms: Option<u32>, now: Micros) -> Session {
    let secrets = SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    Session::new("s1", "Gig", 1, SessionConfig { ping_ms, ..SessionConfig::default() }, now, secrets)
}

/// Runs the member on 1 ms steps until `until`, answering its pings at once on the same clock,
/// and returns the gaps between the pings it sent in the last `tail` of that time.
fn gaps(m: &mut Member, now: &mut Micros, until: Micros, tail: Micros) -> Vec<i64> {
    let mut sent = Vec::new();
    while *now < until {
        m.handle_timeout(*now);
        while let Some(t) = m.poll_transmit() {
            if let Transmit::Text(text) = t {
                if let Ok(ClientMsg::Ping { n, t0 }) = serde_json::from_str::<ClientMsg>(&text) {
                    sent.push(*now);
                    let pong = ServerMsg::Pong { n, t0, t1: *now, t2: *now, epoch: 1 };
                    m.handle_text(*now, &serde_json::to_string(&pong).unwrap());
                }
            }
        }
        *now += Micros::from_millis(1);
    }
    let from = until - tail;
    sent.windows(2).filter(|w| w[0] >= from).map(|w| (w[1] - w[0]).0 / 1000).collect()
}

fn joined(ping_ms: Option<u32>, now: Micros) -> Member {
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    m.handle_connected(now);
    m.handle_text(now, &welcome_of(&mut session(ping_ms, now), now, 1, None));
    m
}

#[test]
fn a_member_keeps_the_cadence_its_server_asks_for_once_warmed_up() {
    let mut now = Micros::from_secs(10);
    let mut m = joined(Some(200), now);
    let g = gaps(&mut m, &mut now, Micros::from_secs(20), Micros::from_secs(5));
    assert!(!g.is_empty() && g.iter().all(|&ms| ms == 200), "every 200 ms: {g:?}");

    // The session moves to a server that asks for nothing: the same member, its own cadence again.
    m.handle_closed(now, "the connection dropped");
    while !matches!(m.poll_transmit(), Some(Transmit::Connect)) {
        now += Micros::from_millis(1);
        m.handle_timeout(now);
    }
    m.handle_connected(now);
    m.handle_text(now, &welcome_of(&mut session(None, now), now, 1, None));
    let until = now + Micros::from_secs(10);
    let g = gaps(&mut m, &mut now, until, Micros::from_secs(5));
    assert!(!g.is_empty() && g.iter().all(|&ms| ms == 50), "its own 50 ms: {g:?}");
}

#[test]
fn a_cadence_asked_for_outside_what_a_member_keeps_is_brought_within_it() {
    for (asked, kept) in [(5_000, 1_000), (10, 50)] {
        let mut now = Micros::from_secs(10);
        let mut m = joined(Some(asked), now);
        let g = gaps(&mut m, &mut now, Micros::from_secs(30), Micros::from_secs(10));
        assert!(!g.is_empty() && g.iter().all(|&ms| ms == kept), "asked {asked} ms, kept {kept}: {g:?}");
    }
}
