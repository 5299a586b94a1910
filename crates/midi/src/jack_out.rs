//! JACK: every event is written at its exact frame in the period, from the cycle's own map of
//! frames to JACK time (`jack_get_cycle_times`).

use crate::feed::{Feeder, HORIZON, HostNow, Offset, Pending, Timed, take};
use crate::worker::Worker;
use crate::{MidiError, MidiOptions};

use bandsync_core::midi::MidiMessage;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the feeder wakes.
const TICK: Duration = Duration::from_millis(5);

/// A JACK client with one MIDI out port, and its feeder thread.
pub(crate) struct JackOut {
    port: String,
    _feeder: Worker,
}

impl JackOut {
    pub(crate) fn start(
        opts: &MidiOptions,
        connect: Option<&str>,
        host_now: HostNow,
        pending: Arc<Pending>,
        offset: Arc<Offset>,
    ) -> Result<Self, MidiError> {
        let err = |e: jack::Error| MidiError::Backend(format!("{e} (is a JACK server running?)"));
        let (client, _) = jack::Client::new(&opts.client_name, jack::ClientOptions::NO_START_SERVER).map_err(err)?;
        let mut out = client.register_port("midi_out", jack::MidiOut::default()).map_err(err)?;
        let port = out.name().map_err(err)?;
        let (mut tx, mut rx) = rtrb::RingBuffer::<Timed>::new(4096);
        let process = move |c: &jack::Client, ps: &jack::ProcessScope| -> jack::Control {
            let mut w = out.writer(ps);
            let (start, next) = cycle_span(c, ps);
            let n = ps.n_frames();
            let span = next.saturating_sub(start).max(1) as f64;
            let mut last = 0;
            while let Ok(ev) = rx.peek() {
                let off = ev.at.saturating_sub(start) as f64 * f64::from(n) / span;
                let frame = off.round() as u32;
                if frame >= n {
                    break;
                }
                last = frame.max(last);
                let (bytes, len) = ev.msg.bytes();
                let _ = w.write(&jack::RawMidi { time: last, bytes: &bytes[..len] });
                rx.pop().ok();
            }
            jack::Control::Continue
        };
        let active = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).map_err(err)?;
        if let Some(to) = connect {
            active
                .as_client()
                .connect_ports_by_name(&port, to)
                .map_err(|e| MidiError::Backend(format!("connect {port} to {to}: {e}")))?;
        }
        let feeder = {
            let port = port.clone();
            Worker::spawn("midi-feed", move |stop| feed(&active, &port, &host_now, &pending, &mut tx, &offset, stop))?
        };
        tracing::info!(%port, "MIDI out through JACK");
        Ok(JackOut { port, _feeder: feeder })
    }

    pub(crate) fn port_name(&self) -> &str {
        &self.port
    }
}

/// JACK time (µs) at the start of this cycle and of the next: the cycle's own map of frames to
/// time. `jack_get_cycle_times` can fail (seen while clients join the graph); then the frame
/// clock's estimate stands in.
pub fn cycle_span(c: &jack::Client, ps: &jack::ProcessScope) -> (u64, u64) {
    match ps.cycle_times() {
        Ok(ct) => (ct.current_usecs, ct.next_usecs),
        Err(_) => {
            let f = ps.last_frame_time();
            (c.frames_to_time(f), c.frames_to_time(f.wrapping_add(ps.n_frames())))
        }
    }
}

/// The feeder thread: until `stop`, walks the newest transport ahead of host time into the ring.
fn feed<N, P>(
    active: &jack::AsyncClient<N, P>,
    port: &str,
    host_now: &HostNow,
    pending: &Pending,
    tx: &mut rtrb::Producer<Timed>,
    offset: &Offset,
    stop: &AtomicBool,
) {
    let client = active.as_client();
    let mut feeder = Feeder::default();
    // Our own port, looked up once (by name: the process callback owns the port itself).
    let own = client.port_by_name(port);
    let mut full = 0u64;
    while !stop.load(Ordering::Relaxed) {
        take(&mut feeder, pending);
        // What the gear connected to the port adds, sent that much earlier, with the user's offset.
        let latency = own.as_ref().map_or(0, |p| p.get_latency_range(jack::LatencyType::Playback).1);
        let latency_us = f64::from(latency) * 1e6 / f64::from(client.sample_rate().max(1));
        feeder.step(host_now, || client.time() as f64, latency_us + offset.us(), &mut |ev| {
            if tx.push(ev).is_err() {
                full += 1;
            }
        });
        std::thread::sleep(TICK);
    }
    if full > 0 {
        tracing::warn!(full, "MIDI events dropped: the JACK callback did not keep up");
    }
    if feeder.running() {
        // Tell the gear the band has gone, and give the callback a period or two to send it.
        let _ = tx.push(Timed::new(client.time(), MidiMessage::Stop));
        std::thread::sleep(Duration::from_micros(HORIZON.0.unsigned_abs()));
    }
}
