//! A member's own settings: kept for the member, passed between their devices, and nobody
//! else's business.

use super::*;
use crate::chart::Notation;
use crate::protocol::{ChartShow, Personal, SongLook};

fn lyrics_only() -> Personal {
    Personal {
        transpose: -2,
        capo: 3,
        songs: vec![SongLook("s1".into(), 2, 0)],
        notation: Notation::Nashville,
        chart_show: ChartShow::Lyrics,
        two_columns: true,
        auto_scroll: true,
        bars_per_line: 4,
        subdivision: 2,
        flash: false,
        count_in: 2,
    }
}

fn personal_in(h: &Harness, c: ConnId) -> Vec<Personal> {
    h.inbox[&c]
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Personal { settings } => Some(settings.clone()),
            _ => None,
        })
        .collect()
}

fn welcomed_with(h: &Harness, c: ConnId) -> Option<Personal> {
    h.inbox[&c].iter().rev().find_map(|m| match m {
        ServerMsg::Welcome { personal, .. } => Some(personal.as_deref().cloned()),
        _ => None,
    })?
}

#[test]
fn a_members_settings_go_to_their_other_devices_and_to_nobody_else() {
    let mut h = Harness::new();
    h.join(1, "Ana", true, None);
    let phone = h.join(2, "Ben", false, None);
    h.join(3, "BEN", false, None); // Ben's tablet
    h.join(4, "Cy", false, None);
    assert_eq!(welcomed_with(&h, 2), None, "nothing kept yet: the device gives its own");
    let activity = h.activity.len();
    h.send(2, ClientMsg::Personal { settings: lyrics_only() });
    assert_eq!(personal_in(&h, 3), [lyrics_only()], "the member's other device");
    assert_eq!(personal_in(&h, 2), [lyrics_only()], "and the sender, so that devices agree");
    assert!(personal_in(&h, 1).is_empty() && personal_in(&h, 4).is_empty(), "nobody else's");
    assert_eq!(h.activity.len(), activity, "not activity");
    // The same again changes nothing and goes nowhere.
    h.send(3, ClientMsg::Personal { settings: lyrics_only() });
    assert_eq!(personal_in(&h, 2).len(), 1);
    // A device that joins later, or comes back, is welcomed with them.
    h.join(5, "ben", false, None);
    assert_eq!(welcomed_with(&h, 5), Some(lyrics_only()));
    h.drop_conn(2);
    h.join(6, "Ben", false, phone);
    assert_eq!(welcomed_with(&h, 6), Some(lyrics_only()), "resumed");
    h.join(7, "Dee", false, None);
    assert_eq!(welcomed_with(&h, 7), None, "another member's are not theirs");
    // Out of range: refused, and nothing kept or passed on.
    let bad = [
        Personal { transpose: 12, ..lyrics_only() },
        Personal { capo: 12, ..lyrics_only() },
        Personal { bars_per_line: 3, ..lyrics_only() },
        Personal { subdivision: 0, ..lyrics_only() },
        Personal { count_in: 9, ..lyrics_only() },
        Personal { songs: vec![SongLook("s1".into(), 0, 12)], ..lyrics_only() },
        Personal { songs: vec![SongLook(String::new(), 0, 0)], ..lyrics_only() },
        Personal { songs: vec![SongLook("s1".into(), 1, 0), SongLook("s1".into(), 2, 0)], ..lyrics_only() },
        Personal { songs: (0..501).map(|i| SongLook(format!("s{i}"), 0, 1)).collect(), ..lyrics_only() },
    ];
    for settings in bad {
        h.inbox.get_mut(&3).unwrap().clear();
        h.send(3, ClientMsg::Personal { settings: settings.clone() });
        assert_eq!(h.last_error(3), Some(ErrorCode::Malformed), "{settings:?}");
    }
    assert_eq!(personal_in(&h, 6), Vec::<Personal>::new());
    h.join(8, "Ben", false, None);
    assert_eq!(welcomed_with(&h, 8), Some(lyrics_only()));
}

#[test]
fn settings_kept_stay_bounded_by_the_names_in_the_session() {
    let mut h = Harness::new();
    let max = SessionConfig::default().max_members;
    h.join(1, "Ana", true, None);
    for i in 0..max as u64 + 5 {
        let c = 100 + i;
        h.join(c, &format!("Guest {i}"), false, None);
        h.send(c, ClientMsg::Personal { settings: lyrics_only() });
        // Guests leave: their names are gone from the session.
        h.send(c, ClientMsg::Leave {});
    }
    assert!(h.s.personal.len() <= max, "{} kept", h.s.personal.len());
    h.join(2, "Ben", false, None);
    h.send(2, ClientMsg::Personal { settings: lyrics_only() });
    h.join(3, "Ben", false, None);
    assert_eq!(welcomed_with(&h, 3), Some(lyrics_only()), "a member here keeps theirs");
}

#[test]
fn two_devices_that_change_them_at_once_both_end_with_the_ones_kept() {
    let mut h = Harness::new();
    h.join(1, "Ben", false, None);
    h.join(2, "Ben", false, None);
    let capo_two = Personal { capo: 2, ..lyrics_only() };
    // Both sent before either heard of the other's (after a host restart, each device gives its
    // own): the host keeps the later, and both devices hear it last.
    h.send(1, ClientMsg::Personal { settings: lyrics_only() });
    h.send(2, ClientMsg::Personal { settings: capo_two.clone() });
    for c in [1, 2] {
        assert_eq!(personal_in(&h, c).last(), Some(&capo_two), "device {c}");
    }
    h.join(3, "Ben", false, None);
    assert_eq!(welcomed_with(&h, 3), Some(capo_two));
}
