//! MIDI in through JACK: every message with the JACK time of its frame, handed to a callback on
//! an ordinary thread (never in the real-time one).

use crate::MidiError;
use crate::jack_out::cycle_span;

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::OnMessage;
use crate::worker::Worker;

/// A JACK client with one MIDI in port, and the thread that hands its messages on.
pub(crate) struct JackIn {
    port: String,
    _thread: Worker,
}

impl JackIn {
    /// A port to patch, or connected from `connect` (`CLIENT:PORT`) at start.
    pub(crate) fn start(
        connect: Option<&str>,
        client_name: &str,
        mut on_message: OnMessage,
    ) -> Result<Self, MidiError> {
        let err = |e: jack::Error| MidiError::Backend(format!("{e} (is a JACK server running?)"));
        let (client, _) = jack::Client::new(client_name, jack::ClientOptions::NO_START_SERVER).map_err(err)?;
        let inp = client.register_port("midi_in", jack::MidiIn::default()).map_err(err)?;
        let port = inp.name().map_err(err)?;
        let (mut tx, mut rx) = rtrb::RingBuffer::<(u64, [u8; 3], u8)>::new(1024);
        let process = move |c: &jack::Client, ps: &jack::ProcessScope| -> jack::Control {
            let (start, next) = cycle_span(c, ps);
            let span = next.saturating_sub(start) as f64;
            for e in inp.iter(ps) {
                let at = start + (f64::from(e.time) * span / f64::from(ps.n_frames().max(1))) as u64;
                let n = e.bytes.len().min(3);
                let mut b = [0; 3];
                b[..n].copy_from_slice(&e.bytes[..n]);
                let _ = tx.push((at, b, n as u8));
            }
            jack::Control::Continue
        };
        let active = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).map_err(err)?;
        if let Some(from) = connect {
            active
                .as_client()
                .connect_ports_by_name(from, &port)
                .map_err(|e| MidiError::Backend(format!("connect {from} to {port}: {e}")))?;
        }
        let thread = Worker::spawn("midi-in", move |stop| {
            let _active = active;
            while !stop.load(Ordering::Relaxed) {
                while let Ok((at, b, n)) = rx.pop() {
                    on_message(at, &b[..usize::from(n)]);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })?;
        Ok(JackIn { port, _thread: thread })
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }
}
