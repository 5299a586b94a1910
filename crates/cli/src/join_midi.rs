//! `bandsync join`'s MIDI: the band's gear on the shared timeline (`--midi-out`), and pedals and
//! pads that act for the leader (`--midi-in`, `--midi-map`). The work is the app's
//! ([`bandsync_app::midi::SessionMidi`], the same as the desktop app's MIDI settings); here it is
//! opened from the options and each [`MidiNote`] is printed as an event.

use crate::output::emit;
use bandsync_app::midi::{MidiNote, MidiSettings, SessionMidi};
use bandsync_client::{Client, Event};
use bandsync_core::ClientMsg;
use serde_json::json;

/// The MIDI sides `join` was asked for.
pub struct JoinMidi(SessionMidi);

/// Prints what MIDI did.
fn say(j: bool, note: MidiNote) {
    match note {
        MidiNote::Port { port, input } => {
            let direction = if input { "in" } else { "out" };
            emit(j, &json!({"event": "midi", "port": port, "direction": direction}), || {
                format!("MIDI {direction} on {port}")
            });
        }
        MidiNote::Advertised { name, port } => {
            emit(j, &json!({"event": "midi_advertised", "name": name, "port": port}), || {
                format!("Network MIDI session \"{name}\" advertised (port {port})")
            });
        }
        MidiNote::Setlist(n) => emit(j, &json!({"event": "setlist", "songs": n}), || format!("Setlist: {n} songs")),
        MidiNote::Action(action) => {
            emit(j, &json!({"event": "midi_in", "action": action}), || format!("MIDI in: {action}"));
        }
        MidiNote::Refused(message) => {
            emit(j, &json!({"event": "error", "code": "midi_in", "message": message}), || message.clone());
        }
        MidiNote::Problem(message) => {
            emit(j, &json!({"event": "error", "code": "midi_out", "message": message}), || message.clone());
        }
    }
}

impl JoinMidi {
    /// Opens what the options ask for, and says so (a `midi` event per port, `midi_advertised` for
    /// a network MIDI session advertised on `mdns_iface`, all when empty).
    ///
    /// # Errors
    /// A bad target or map, or a backend that cannot be opened.
    pub fn start(
        settings: &MidiSettings,
        name: &str,
        client: &Client,
        mdns_iface: &[String],
        j: bool,
    ) -> anyhow::Result<Self> {
        if settings.out.is_none() && settings.input.is_none() {
            return Ok(JoinMidi(SessionMidi::default()));
        }
        let advertise = (!bandsync_app::app::mdns_disabled_by_env()).then_some(mdns_iface);
        let (midi, notes) =
            SessionMidi::start(settings, name, client, advertise).map_err(|e| anyhow::anyhow!("{e}"))?;
        notes.into_iter().for_each(|n| say(j, n));
        Ok(JoinMidi(midi))
    }

    /// Follows the session (a `setlist` event says how many songs the pedals' replica holds
    /// whenever that changes).
    pub fn on_event(&mut self, client: &Client, ev: &Event, j: bool) {
        if let Some(n) = self.0.on_event(client, ev) {
            say(j, n);
        }
    }

    /// The next message from a pedal (never, without `--midi-in`).
    pub async fn next_pedal(&mut self) -> (u64, Vec<u8>) {
        self.0.next_pedal().await
    }

    /// Acts on a pedal's message. What it sends goes through `outgoing` first (the Link bridge
    /// puts a play on Link's bar).
    pub fn on_pedal(
        &mut self,
        client: &Client,
        at: u64,
        bytes: &[u8],
        j: bool,
        outgoing: impl Fn(ClientMsg) -> ClientMsg,
    ) {
        if let Some(n) = self.0.on_pedal(client, at, bytes, outgoing) {
            say(j, n);
        }
    }
}
