//! [`Tagged`] against serde's own internally tagged derive: the same bytes out, the same values
//! in, and a clear refusal where the tag is not first.

use serde::{Deserialize, Serialize};

/// One enum of every shape `tagged` writes, declared under the given attributes.
macro_rules! shapes {
    ($(#[$attr:meta])* $name:ident) => {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        $(#[$attr])*
        enum $name {
            Stop,
            Pong {
                n: u32,
                #[serde(default, skip_serializing_if = "Option::is_none")]
                about: Option<String>,
                at: Option<i64>,
            },
            Stats(Stats),
            Bag(std::collections::BTreeMap<String, u8>),
        }
    };
}

// The reference, serde's derive (buffered), and the same enum read tag first.
shapes!(
    #[serde(tag = "type", rename_all = "snake_case")]
    Buffered
);
shapes!(
    #[serde(remote = "Self", rename_all = "snake_case")]
    TagFirst
);
crate::tagged!(TagFirst, "type");

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Stats {
    members: u32,
    leader: Option<String>,
}

fn both() -> Vec<(Buffered, TagFirst)> {
    let bag = || [("a".to_owned(), 1), ("b".to_owned(), 2)].into_iter().collect();
    vec![
        (Buffered::Stop, TagFirst::Stop),
        (Buffered::Pong { n: 7, about: None, at: Some(-3) }, TagFirst::Pong { n: 7, about: None, at: Some(-3) }),
        (
            Buffered::Pong { n: 0, about: Some("x\"y".into()), at: None },
            TagFirst::Pong { n: 0, about: Some("x\"y".into()), at: None },
        ),
        (
            Buffered::Stats(Stats { members: 5, leader: Some("p1".into()) }),
            TagFirst::Stats(Stats { members: 5, leader: Some("p1".into()) }),
        ),
        (Buffered::Bag(bag()), TagFirst::Bag(bag())),
    ]
}

#[test]
fn writes_what_serde_writes_and_reads_it_back() {
    for (buffered, first) in both() {
        let json = serde_json::to_string(&buffered).unwrap();
        assert_eq!(serde_json::to_string(&first).unwrap(), json);
        assert_eq!(serde_json::from_str::<TagFirst>(&json).unwrap(), first, "{json}");
        assert_eq!(serde_json::to_value(&first).unwrap(), serde_json::to_value(&buffered).unwrap());
    }
}

#[test]
fn reads_missing_options_and_ignores_unknown_members_as_serde_does() {
    let json = r#"{"type":"pong","n":1,"later":[1,{"x":2}]}"#;
    assert_eq!(serde_json::from_str::<Buffered>(json).unwrap(), Buffered::Pong { n: 1, about: None, at: None });
    assert_eq!(serde_json::from_str::<TagFirst>(json).unwrap(), TagFirst::Pong { n: 1, about: None, at: None });
    let json = r#"{"type":"stop","n":1}"#;
    assert_eq!(serde_json::from_str::<TagFirst>(json).unwrap(), TagFirst::Stop);
}

#[test]
fn refuses_a_tag_that_is_not_first_and_says_why() {
    let json = r#"{"n":1,"type":"pong"}"#;
    assert!(serde_json::from_str::<Buffered>(json).is_ok(), "serde's buffering takes it anywhere");
    let e = serde_json::from_str::<TagFirst>(json).unwrap_err().to_string();
    assert!(e.contains("`type` must be the object's first member"), "{e}");
    let e = serde_json::from_str::<TagFirst>("{}").unwrap_err().to_string();
    assert!(e.contains("`type` must be the object's first member"), "{e}");
    // Which is why a `serde_json::Value`, whose members are sorted by name, does not read back.
    let value = serde_json::to_value(TagFirst::Pong { n: 1, about: None, at: None }).unwrap();
    assert!(serde_json::from_value::<TagFirst>(value).is_err());
}

#[test]
fn refuses_what_is_not_a_known_variant_in_an_object() {
    let e = serde_json::from_str::<TagFirst>(r#"{"type":"go","n":1}"#).unwrap_err().to_string();
    assert!(e.contains("unknown variant `go`"), "{e}");
    let e = serde_json::from_str::<TagFirst>(r#"{"type":"pong"}"#).unwrap_err().to_string();
    assert!(e.contains("missing field `n`"), "{e}");
    assert!(serde_json::from_str::<TagFirst>(r#"["pong",1]"#).is_err());
    assert!(serde_json::from_str::<TagFirst>(r#""stop""#).is_err());
    assert!(serde_json::from_str::<TagFirst>(r#"{"type":"stop""#).is_err(), "an object left open");
}
