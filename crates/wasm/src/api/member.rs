//! The member and the mirror through the page's JSON calls: `member.*` drives the sans-IO member
//! ([`bandsync_core::member`]), whose mirror is the page's view of the session, and `mirror.*`
//! the app's view (Tauri forwards the server's messages raw).

use super::{H, HNow, Res, done, ok, parse, t};
use crate::registry::Registry;
use bandsync_core::Micros;
use bandsync_core::Transport;
use bandsync_core::member::{JoinTarget, Member, MemberConfig, MemberEvent, Transmit};
use bandsync_core::mirror::{Changed, Mirror};
use bandsync_core::protocol::{OutputReport, Participant, RoomStats, Secret, ServerMsg};
use serde::{Deserialize, Serialize};

/// What the page asks for when it makes a member, a list: `[target, name, instrument, leader,
/// pin, seed, give_up_after_ms, resume, now]`. `give_up_after_ms` `null` (the page's default):
/// never give up reconnecting; `resume`: a token kept from before a reload.
#[derive(Deserialize)]
struct MemberSpec(JoinTarget, String, Option<String>, bool, Option<String>, u64, Option<i64>, Option<String>, f64);

#[derive(Deserialize)]
struct Text {
    now: f64,
    text: String,
}

/// A message the page wrote, to send as it is.
#[derive(Deserialize)]
struct SendArg {
    text: String,
}

#[derive(Deserialize)]
struct Failed {
    now: f64,
    reason: String,
    #[serde(default)]
    fatal: bool,
}

#[derive(Deserialize)]
struct OutputArg {
    output: Option<OutputReport>,
}

#[derive(Deserialize)]
struct At {
    at: f64,
}

/// What the connection must do, for the page's driver.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MemberTransmit"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Do<'a> {
    /// Open a WebSocket to `url` (racing `alternates`); report with `member.connected` or
    /// `member.connect_failed`.
    Connect { url: &'a str, alternates: &'a [String] },
    /// Send a text frame.
    Text { text: String },
    /// Send a binary frame.
    Binary { bytes: Vec<u8> },
    /// Close the connection (or abandon the one being opened).
    Close,
}

/// Everything the member has to say after an input.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MemberPoll"))]
pub struct Polled<'a> {
    /// What to do with the connection, in order.
    pub transmits: Vec<Do<'a>>,
    /// What happened, in order.
    pub events: Vec<MemberEvent>,
    /// Local µs at which to call `member.timeout` next.
    pub timeout: Option<i64>,
    /// Whether the member has ended (left, refused, lost, replaced).
    pub ended: bool,
    /// The resume token to keep across a reload.
    pub token: Option<&'a str>,
}

pub(super) fn member(r: &mut Registry, op: &str, a: &str) -> Res {
    if op == "member.new" {
        let MemberSpec(target, name, instrument, leader, pin, seed, give_up_after_ms, resume, now) = parse(a)?;
        let mut cfg = MemberConfig::new(target, name);
        cfg.instrument = instrument.filter(|i| !i.trim().is_empty());
        cfg.leader = leader;
        cfg.pin = pin.filter(|p| !p.trim().is_empty()).map(Secret);
        cfg.seed = seed;
        cfg.backoff.give_up_after = give_up_after_ms.map(|ms| Micros(ms.saturating_mul(1000)));
        cfg.resume = resume.filter(|r| !r.is_empty()).map(Secret);
        // The page reads each message itself, and the member's mirror through `member.text`'s
        // answer: no events that repeat them.
        cfg.reads_messages = true;
        return ok(&r.members.insert(Member::new(cfg, t(now))));
    }
    let h: H = parse(a)?;
    if op == "member.free" {
        r.members.remove(h.h);
        return done();
    }
    let m = r.members.get_mut(h.h).ok_or_else(|| format!("no member {}", h.h))?;
    match op {
        "member.connected" => m.handle_connected(t(parse::<HNow>(a)?.now)),
        "member.connect_failed" => {
            let f: Failed = parse(a)?;
            m.handle_connect_failed(t(f.now), &f.reason, f.fatal);
        }
        // For a message about the session (`Member::handle_text`), what it changed in the
        // member's mirror, which is the page's view of the session too; else `null`.
        "member.text" => {
            let x: Text = parse(a)?;
            if !m.handle_text(t(x.now), &x.text) {
                return ok(&());
            }
            return ok(&Mirrored::of(m.changed(), m.mirror()));
        }
        "member.heard" => m.handle_heard(t(parse::<HNow>(a)?.now)),
        "member.closed" => {
            let f: Failed = parse(a)?;
            m.handle_closed(t(f.now), &f.reason);
        }
        "member.timeout" => m.handle_timeout(t(parse::<HNow>(a)?.now)),
        "member.reconnect_now" => m.reconnect_now(t(parse::<HNow>(a)?.now)),
        // The page's messages are typed by the generated bindings and checked by the server;
        // they go out as written.
        "member.send" => m.send_text(parse::<SendArg>(a)?.text),
        "member.leave" => m.leave(),
        "member.set_output" => m.set_output(parse::<OutputArg>(a)?.output),
        "member.poll" => return poll(m),
        "member.to_host" => return ok(&m.clock().to_host_f64(t(parse::<At>(a)?.at))),
        "member.to_local" => return ok(&m.clock().to_local(t(parse::<At>(a)?.at)).map(|l| l.0)),
        "member.status" => return ok(&m.clock().status(t(parse::<HNow>(a)?.now))),
        _ => return Err(format!("unknown op {op}")),
    }
    done()
}

fn poll(m: &mut Member) -> Res {
    let transmits: Vec<Transmit> = std::iter::from_fn(|| m.poll_transmit()).collect();
    let events: Vec<MemberEvent> = std::iter::from_fn(|| m.poll_event()).collect();
    let (timeout, ended) = (m.poll_timeout().map(|x| x.0), m.is_ended());
    let token = m.token().map(Secret::expose);
    let target = &m.config().target;
    let transmits = transmits
        .into_iter()
        .map(|x| match x {
            Transmit::Connect => Do::Connect { url: &target.ws_url, alternates: &target.alternates },
            Transmit::Text(text) => Do::Text { text },
            Transmit::Binary(bytes) => Do::Binary { bytes },
            Transmit::Close => Do::Close,
        })
        .collect();
    ok(&Polled { transmits, events, timeout, ended, token })
}

#[derive(Deserialize)]
struct MirrorArg {
    h: u32,
    msg: String,
}

/// What a server message changed in a mirror, and what of the mirror the page needs for it:
/// the whole of it only when the message replaced it, else only the parts that changed (a chat
/// message in a session of 500 sends none of the 500 back to the page, and a participant's
/// update sends that participant).
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mirrored<'a> {
    /// What changed.
    pub changed: Changed,
    /// The whole mirror: after a welcome or a snapshot, or a list change no splice describes.
    pub mirror: Option<&'a Mirror>,
    /// The participant that `changed.splice` puts in.
    pub participant: Option<&'a Participant>,
    /// The counts, when the participant list changed.
    pub stats: Option<RoomStats>,
    /// The schedule, when it changed.
    pub transport: Option<&'a Transport>,
    /// The current song, when it changed (`changed.song`): absent for none.
    pub song: Option<&'a str>,
}

impl<'a> Mirrored<'a> {
    /// What the page needs of mirror `m` (if a welcome came) after a message changed `changed`.
    fn of(changed: Changed, m: Option<&'a Mirror>) -> Self {
        let whole = changed.snapshot || (changed.participants && changed.splice.is_none());
        let part = m.filter(|_| !whole);
        Mirrored {
            changed,
            mirror: m.filter(|_| whole),
            participant: part
                .zip(changed.splice.filter(|s| s.insert))
                .and_then(|(m, s)| m.participants.get(s.at as usize)),
            stats: part.filter(|_| changed.participants).map(|m| m.stats),
            transport: part.filter(|_| changed.transport).map(|m| &m.transport),
            song: part.filter(|_| changed.song).and_then(|m| m.song.as_deref()),
        }
    }
}

/// The app's view of the session, fed with every raw server message the app forwards. (The
/// page's is its member's: `member.text` answers with what each message changed in it.)
pub(super) fn mirror(r: &mut Registry, op: &str, a: &str) -> Res {
    match op {
        "mirror.new" => ok(&r.mirrors.insert(None)),
        "mirror.apply" => {
            let x: MirrorArg = parse(a)?;
            let slot = r.mirrors.get_mut(x.h).ok_or("no such mirror")?;
            let msg: ServerMsg = serde_json::from_str(&x.msg).map_err(|e| format!("not a server message: {e}"))?;
            let changed = match (&mut *slot, &msg) {
                (_, ServerMsg::Welcome { you, epoch, snapshot, .. }) => {
                    *slot = Some(Mirror::from_welcome(*you, *epoch, snapshot.clone()));
                    Changed::WHOLE
                }
                (Some(m), msg) => m.apply(msg),
                (None, _) => Changed::default(),
            };
            ok(&Mirrored::of(changed, slot.as_ref()))
        }
        "mirror.free" => {
            r.mirrors.remove(parse::<H>(a)?.h);
            done()
        }
        _ => Err(format!("unknown op {op}")),
    }
}
