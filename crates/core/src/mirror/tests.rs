//! The splice a list change reports rebuilds the list as the mirror has it.

use super::{Changed, Mirror, Splice};
use crate::protocol::{Access, Connection, CueBy, LeaveReason, Participant, Role, RoomStats, ServerMsg, Snapshot};
use crate::time::Micros;
use crate::timeline::Transport;

fn person(id: u32, name: &str) -> Participant {
    Participant {
        id,
        name: name.to_owned(),
        instrument: None,
        role: if id == 1 { Role::Leader } else { Role::Follower },
        access: Access::Editor,
        connection: Connection::Online,
        color: "#000000".to_owned(),
        sync: None,
        joined_at: Micros::ZERO,
    }
}

#[test]
fn each_list_change_comes_with_the_splice_that_makes_it() {
    let snapshot = Snapshot {
        session: "s1".into(),
        name: "Gig".into(),
        song: None,
        participants: vec![person(1, "Ana"), person(2, "Ben"), person(3, "Cy")],
        leader: Some(1),
        transport: Transport::new(Micros::ZERO),
        stats: RoomStats { members: 3, online: 3, leader: Some(1) },
        cue_by: CueBy::Leader,
        cue_member: None,
        now: Micros::ZERO,
    };
    let mut m = Mirror::from_welcome(2, 1, snapshot);
    // A copy of the list kept by splices alone, as the page keeps its own.
    let mut copy = m.participants.clone();
    let away = Participant { connection: Connection::Away, ..person(2, "Ben") };
    let steps = [
        (ServerMsg::ParticipantUpdated { participant: away }, Splice { at: 1, remove: 1, insert: true }),
        (ServerMsg::ParticipantJoined { participant: person(4, "Dee") }, Splice { at: 3, remove: 0, insert: true }),
        (ServerMsg::ParticipantLeft { id: 1, reason: LeaveReason::Left }, Splice { at: 0, remove: 1, insert: false }),
        (
            ServerMsg::ParticipantJoined { participant: person(3, "Cy again") },
            Splice { at: 1, remove: 1, insert: true },
        ),
    ];
    for (msg, want) in steps {
        let c = m.apply(&msg);
        assert_eq!((c.participants, c.splice), (true, Some(want)), "{msg:?}");
        let at = want.at as usize;
        let put = want.insert.then(|| m.participants[at].clone());
        copy.splice(at..at + want.remove as usize, put);
        assert_eq!(copy, m.participants, "{msg:?}");
    }
    assert_eq!(m.stats.members, 3);
    // Someone not in the list leaves: no splice, the list as it was.
    let c = m.apply(&ServerMsg::ParticipantLeft { id: 9, reason: LeaveReason::Timeout });
    assert_eq!(c.splice, None);
    assert_eq!(copy, m.participants);
    // What replaces the whole state says so, with no splice.
    let c = m.apply(&ServerMsg::Snapshot(m.to_snapshot(Micros::ZERO)));
    assert_eq!(c, Changed::WHOLE);
}
