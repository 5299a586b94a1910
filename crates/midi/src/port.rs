//! The system's MIDI ports, through midir: CoreMIDI on macOS and iOS, WinMM on Windows, the ALSA
//! sequencer on Linux. These take no time stamp (midir sends at once), so each event leaves at its
//! moment ([`crate::paced`]). A port is named by the user (`port:NAME`, or a bare name: the port
//! whose name is NAME, or the one port whose name holds it), or is a virtual port of ours that
//! the DAW and other apps see (`virtual`, `virtual:NAME`; not on Windows, which has none).

use crate::feed::{HostNow, Offset, Pending};
use crate::paced::{PaceClock, start_feeder};
use crate::worker::Worker;
use crate::{MidiError, MidiOptions, OnMessage};
use bandsync_core::midi::MidiMessage;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Which port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Which {
    /// The system's port with this name (or the one whose name holds it).
    Named(String),
    /// A virtual port of ours with this name.
    Virtual(String),
}

/// A port's name as it stays from one day to the next: lower case, without the ALSA sequencer's
/// address at its end (`FCB1010:FCB1010 MIDI 1 24:0`: the numbers follow the order devices were
/// plugged in), so that a name kept in the settings still finds its port after a reboot.
fn stable(name: &str) -> String {
    let n = name.trim();
    let cut = n.rsplit_once(' ').filter(|(_, addr)| {
        addr.split_once(':').is_some_and(|(c, p)| {
            !c.is_empty()
                && !p.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && p.bytes().all(|b| b.is_ascii_digit())
        })
    });
    cut.map_or(n, |(head, _)| head).to_lowercase()
}

/// The port among `names` that `want` names: the one whose name is `want` (case aside), else the
/// one whose name holds it. None, or several, is an error that lists the ports.
pub(crate) fn choose(names: &[String], want: &str, dir: &str) -> Result<usize, String> {
    let w = stable(want);
    if let Some(i) = names.iter().position(|n| stable(n) == w) {
        return Ok(i);
    }
    let holding: Vec<usize> = (0..names.len()).filter(|&i| stable(&names[i]).contains(&w)).collect();
    let list =
        |ix: &mut dyn Iterator<Item = usize>| ix.map(|i| format!("{:?}", names[i])).collect::<Vec<_>>().join(", ");
    match holding.as_slice() {
        [i] => Ok(*i),
        [] if names.is_empty() => {
            Err(format!("no MIDI {dir} port is named {want:?}: the system has no MIDI {dir} ports"))
        }
        [] => Err(format!("no MIDI {dir} port is named {want:?}; the ports are {}", list(&mut (0..names.len())))),
        _ => Err(format!("{want:?} names several MIDI {dir} ports: {}", list(&mut holding.iter().copied()))),
    }
}

fn backend(what: &str) -> impl Fn(&dyn std::fmt::Display) -> MidiError + '_ {
    move |e| MidiError::Backend(format!("{what}: {e}"))
}

/// The system's MIDI would not open.
fn unopened(e: &dyn std::fmt::Display) -> MidiError {
    let hint = if cfg!(target_os = "linux") {
        " (the ALSA sequencer, /dev/snd/seq, is missing: load the snd-seq module, or use jack)"
    } else {
        ""
    };
    MidiError::Backend(format!("the system's MIDI: {e}{hint}"))
}

/// The system's ports by name: (outputs, inputs).
pub(crate) fn list(client_name: &str) -> Result<(Vec<String>, Vec<String>), MidiError> {
    let out = midir::MidiOutput::new(client_name).map_err(|e| unopened(&e))?;
    let inp = midir::MidiInput::new(client_name).map_err(|e| unopened(&e))?;
    let outputs = out.ports().iter().filter_map(|p| out.port_name(p).ok()).collect();
    let inputs = inp.ports().iter().filter_map(|p| inp.port_name(p).ok()).collect();
    Ok((outputs, inputs))
}

/// MIDI out on a system port, and the two threads that feed and send it.
pub(crate) struct PortOut {
    port: String,
    // Dropped in this order: the feeder stops first, saying whether the gear was left playing,
    // then the sender, which tells it Stop if so.
    _feeder: Worker,
    _sender: Worker,
}

impl PortOut {
    pub(crate) fn start(
        opts: &MidiOptions,
        which: &Which,
        host_now: HostNow,
        pending: Arc<Pending>,
        offset: Arc<Offset>,
    ) -> Result<Self, MidiError> {
        let out = midir::MidiOutput::new(&opts.client_name).map_err(|e| unopened(&e))?;
        let (mut conn, port) = match which {
            Which::Named(want) => {
                let ports = out.ports();
                let names: Vec<String> = ports.iter().map(|p| out.port_name(p).unwrap_or_default()).collect();
                let i = choose(&names, want, "out").map_err(MidiError::Backend)?;
                let conn = out.connect(&ports[i], "bandsync").map_err(|e| backend(&names[i])(&e))?;
                (conn, names[i].clone())
            }
            Which::Virtual(name) => (virtual_out(out, name)?, format!("virtual:{name}")),
        };
        let clock = PaceClock::new();
        let (feeder, mut due) = start_feeder("midi-port-feed", host_now, pending, clock, offset)?;
        let sender = Worker::spawn("midi-port", move |stop| {
            crate::worker::realtime();
            let mut refused = 0u64;
            let mut send = |batch: &[MidiMessage]| {
                for m in batch {
                    let (bytes, len) = m.bytes();
                    if conn.send(&bytes[..len]).is_err() {
                        refused += 1;
                    }
                }
            };
            while !stop.load(Ordering::Relaxed) {
                due.send_due(clock.now(), |_, batch| send(batch));
                due.pause(clock);
            }
            if due.left_playing() {
                send(&[MidiMessage::Stop]);
            }
            if refused > 0 {
                tracing::warn!(refused, "MIDI events the port refused");
            }
            conn.close();
        })?;
        tracing::info!(%port, "MIDI out on the system's port");
        Ok(PortOut { port, _feeder: feeder, _sender: sender })
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }
}

#[cfg(unix)]
fn virtual_out(out: midir::MidiOutput, name: &str) -> Result<midir::MidiOutputConnection, MidiError> {
    use midir::os::unix::VirtualOutput;
    out.create_virtual(name).map_err(|e| backend("a virtual MIDI port")(&e))
}

#[cfg(not(unix))]
fn virtual_out(_: midir::MidiOutput, _: &str) -> Result<midir::MidiOutputConnection, MidiError> {
    Err(MidiError::Backend("this system has no virtual MIDI ports: name a port (a loopMIDI port, say)".into()))
}

/// MIDI in from a system port: each message is handed on from midir's own thread, with midir's
/// time stamp (µs).
pub(crate) struct PortIn {
    port: String,
    _conn: midir::MidiInputConnection<()>,
}

impl PortIn {
    pub(crate) fn start(which: &Which, client_name: &str, mut on_message: OnMessage) -> Result<Self, MidiError> {
        let mut inp = midir::MidiInput::new(client_name).map_err(|e| unopened(&e))?;
        // Clock, active sensing and system exclusive are not a pedal's.
        inp.ignore(midir::Ignore::All);
        let on = move |at: u64, bytes: &[u8], (): &mut ()| on_message(at, bytes);
        match which {
            Which::Named(want) => {
                let ports = inp.ports();
                let names: Vec<String> = ports.iter().map(|p| inp.port_name(p).unwrap_or_default()).collect();
                let i = choose(&names, want, "in").map_err(MidiError::Backend)?;
                let conn = inp.connect(&ports[i], "bandsync", on, ()).map_err(|e| backend(&names[i])(&e))?;
                Ok(PortIn { port: names[i].clone(), _conn: conn })
            }
            Which::Virtual(name) => Ok(PortIn { port: format!("virtual:{name}"), _conn: virtual_in(inp, name, on)? }),
        }
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }
}

#[cfg(unix)]
fn virtual_in(
    inp: midir::MidiInput,
    name: &str,
    on: impl FnMut(u64, &[u8], &mut ()) + Send + 'static,
) -> Result<midir::MidiInputConnection<()>, MidiError> {
    use midir::os::unix::VirtualInput;
    inp.create_virtual(name, on, ()).map_err(|e| backend("a virtual MIDI port")(&e))
}

#[cfg(not(unix))]
fn virtual_in(
    _: midir::MidiInput,
    _: &str,
    _: impl FnMut(u64, &[u8], &mut ()) + Send + 'static,
) -> Result<midir::MidiInputConnection<()>, MidiError> {
    Err(MidiError::Backend("this system has no virtual MIDI ports: name a port (a loopMIDI port, say)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_the_one_named_or_the_only_one_holding_the_name() {
        let names: Vec<String> =
            ["IAC Driver Bus 1", "IAC Driver Bus 2", "FCB1010", "Midi Through:Port-0"].map(String::from).to_vec();
        assert_eq!(choose(&names, "fcb1010", "in"), Ok(2));
        assert_eq!(choose(&names, "Bus 2", "out"), Ok(1));
        assert_eq!(choose(&names, "midi through:port-0", "out"), Ok(3));
        let several = choose(&names, "IAC", "out").unwrap_err();
        assert!(several.contains("several") && several.contains("\"IAC Driver Bus 1\""), "{several}");
        let none = choose(&names, "Nord", "out").unwrap_err();
        assert!(none.contains("the ports are") && none.contains("\"FCB1010\""), "{none}");
        assert!(choose(&[], "Nord", "in").unwrap_err().contains("no MIDI in ports"));
        // ALSA's address at the end moves with the order devices were plugged in.
        let alsa: Vec<String> =
            ["Midi Through:Midi Through Port-0 14:0", "FCB1010:FCB1010 MIDI 1 28:0"].map(String::from).to_vec();
        assert_eq!(choose(&alsa, "FCB1010:FCB1010 MIDI 1 24:0", "in"), Ok(1), "a name kept from another day");
        assert_eq!(choose(&alsa, "fcb1010", "in"), Ok(1));
    }
}
