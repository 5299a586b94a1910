//! A session carried to another server: the member's clock estimate moves onto the new
//! server's clock, and stays in sync through the move.

use super::world::{SECRET, World};
use crate::host_axis::HostAxis;
use crate::member::{Member, MemberConfig, MemberEvent, Transmit};
use crate::protocol::{ClientMsg, Rebase, Secret, ServerMsg};
use crate::session::{ConnId, JoinRequest, Output, SecretSource, Session, SessionConfig};
use crate::time::Micros;

/// The member's pings answered by a host whose clock reads `local + offset`, on `epoch`, until
/// `until`: what the member sent, polled, and its pongs handed back at once.
fn answer_pings(m: &mut Member, now: &mut Micros, until: Micros, offset: Micros, epoch: u64) {
    while *now < until {
        m.handle_timeout(*now);
        while let Some(t) = m.poll_transmit() {
            if let Transmit::Text(text) = t {
                if let Ok(ClientMsg::Ping { n, t0 }) = serde_json::from_str::<ClientMsg>(&text) {
                    let host = *now + offset;
                    let pong = ServerMsg::Pong { n, t0, t1: host, t2: host, epoch };
                    m.handle_text(*now, &serde_json::to_string(&pong).unwrap());
                }
            }
        }
        *now += Micros::from_millis(50);
    }
}

/// The welcome `session` gives a join on `conn` with `resume`.
pub(super) fn welcome_of(session: &mut Session, now: Micros, conn: ConnId, resume: Option<Secret>) -> String {
    let secret = Some(session.secret().clone());
    let req = JoinRequest {
        v: crate::protocol::PROTOCOL_VERSION,
        name: "Ana".into(),
        instrument: None,
        resume,
        leader: false,
        secret,
        pin: None,
        source: None,
        once: false,
    };
    session.handle_join(now, conn, req, Secret("0123456789abcdef0123456789abcdef".into()));
    std::iter::from_fn(|| session.poll_output())
        .find_map(|o| match o {
            Output::Send(c, m @ ServerMsg::Welcome { .. }) if c == conn => Some(serde_json::to_string(&m).unwrap()),
            _ => None,
        })
        .expect("a welcome")
}

#[test]
fn a_pong_from_the_next_server_that_overtakes_its_welcome_leaves_the_estimate_in_sync() {
    let secrets = || SecretSource(Box::new(|| Secret(SECRET.to_owned())));
    let (old_offset, shift) = (Micros::from_secs(1_000), Micros::from_secs(-400));
    let mut now = Micros::from_secs(10);
    let mut a = Session::new("s1", "Gig", 1, SessionConfig::default(), now + old_offset, secrets());
    let mut m = Member::new(MemberConfig::new(World::target(SECRET), "Ana"), now);
    m.handle_connected(now);
    let welcome = welcome_of(&mut a, now + old_offset, 1, None);
    m.handle_text(now, &welcome);
    answer_pings(&mut m, &mut now, Micros::from_secs(20), old_offset, 1);
    assert!(m.clock().has_synced());
    let token = m.token().cloned();

    // The host dies; another server takes the session over on a clock `shift` from the old one's.
    let carried = a.carry(now + old_offset, 0);
    m.handle_closed(now, "the connection dropped");
    let mut b = Session::new("s1", "Gig", 2, SessionConfig::default(), now + old_offset + shift, secrets());
    b.take_over(carried, now + old_offset + shift, 0);
    while !matches!(m.poll_transmit(), Some(Transmit::Connect)) {
        now += Micros::from_millis(50);
        m.handle_timeout(now);
    }
    m.handle_connected(now);
    // The new server answers the first ping before the session has welcomed the member.
    let until = now + Micros::from_millis(50);
    answer_pings(&mut m, &mut now, until, old_offset + shift, 2);
    m.handle_text(now, &welcome_of(&mut b, now + old_offset + shift, 2, token));
    let status = m.clock().status(now);
    assert!(m.clock().has_synced() && status.synced, "the estimate stays in sync through the move: {status:?}");
    // Each schedule says which clock it is on, the new server's saying how it continues the
    // old: what the audio engine remembers in host times moves with it.
    let axes: Vec<HostAxis> = std::iter::from_fn(|| m.poll_event())
        .filter_map(|e| match e {
            MemberEvent::Transport { axis, .. } => Some(axis),
            _ => None,
        })
        .collect();
    assert_eq!(axes, [HostAxis::new(1), HostAxis { epoch: 2, continues: Some(Rebase { from: 1, shift }) }]);
    assert_eq!(m.clock().epoch(), Some(2));
    let host = m.clock().to_host(now).unwrap();
    assert!((host - (now + old_offset + shift)).0.abs() < 1_000, "on the new clock at once: {host:?}");
    // And it goes on from there without a step.
    let until = now + Micros::from_secs(5);
    answer_pings(&mut m, &mut now, until, old_offset + shift, 2);
    assert_eq!(m.clock().steps(), 0);
}
