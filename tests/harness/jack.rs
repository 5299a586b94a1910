//! A JACK server (`jackd -d dummy`, Debian's `jackd2`) started by the test, and a recorder client
//! that keeps every MIDI event it receives with the JACK time of its frame.
//!
//! One JACK server at a time: the server is the default one, and the test binaries that use it
//! run one after another (`cargo test`).

use crate::process::{require, signal};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `jackd`, stopped (SIGTERM, so it cleans up) when dropped. Holds a lock, so that two
/// tests in one binary take turns.
pub struct Jackd(Child, #[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One MIDI timing test of this binary at a time (the JACK tests take it through [`Jackd::start`]; a
/// network MIDI timing test takes it itself): on two cores, two players at once measure each
/// other, not the product. (Their run goes beside the speaker test's light tests in
/// `scripts/test.sh`, never beside one that runs alone: [`crate::machine`].)
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Jackd {
    /// Starts `jackd --no-realtime --sync -d dummy` at 48 kHz, 256 frames a period, and waits
    /// until a client can connect.
    ///
    /// Synchronous mode: the server finishes every client's cycle before the next begins. In
    /// JACK2's default asynchronous mode a client without realtime priority that runs late on this
    /// busy 2-core machine overlaps the next cycle, and the recorder then reads the sender's port
    /// buffer while it is being refilled: in 3 of 8 runs of the MIDI tests an event the sender had
    /// written (every write answered Ok) was recorded a period late or not at all. With `--sync`,
    /// none in 16 runs, 6 of them with both cores kept busy.
    ///
    /// # Panics
    /// When a JACK server already runs, or jackd is missing or does not come up in 20 s.
    #[must_use]
    pub fn start() -> Jackd {
        let turn = one_at_a_time();
        assert!(!Self::up(), "a JACK server is already running; this test starts its own");
        let child = Command::new(require("jackd", "jackd2"))
            .args(["--no-realtime", "--sync", "-d", "dummy", "-r", "48000", "-p", "256"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("jackd starts");
        let j = Jackd(child, turn);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !Self::up() {
            assert!(Instant::now() < deadline, "jackd did not come up in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        j
    }

    fn up() -> bool {
        jack::Client::new("probe", jack::ClientOptions::NO_START_SERVER).is_ok()
    }
}

impl Drop for Jackd {
    fn drop(&mut self) {
        signal(self.0.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One received event: the JACK time (µs) of its frame, from that cycle's own map, and its bytes.
pub type Received = (f64, Vec<u8>);

/// How near an xrun's notification (µs) an event counts as caught in it: its cycle, the cycles
/// the stalled graph catches up in, and the notification's own delay. A timing figure across one
/// measures the machine, not the sender: the MIDI tests leave such events out, and say how many.
pub const XRUN_REACH: f64 = 50_000.0;

/// Whether JACK time `t` (µs) is within [`XRUN_REACH`] of one of `xruns`.
#[must_use]
pub fn near_xrun(t: f64, xruns: &[u64]) -> bool {
    xruns.iter().any(|&x| (t - x as f64).abs() <= XRUN_REACH)
}

/// The recorder's process callback.
type Process = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

/// Counts the server's xruns: cycles the graph did not finish in time, when a client's events
/// may be late or lost. A timing figure across one measures the machine, not the sender.
struct Xruns(Arc<Mutex<Vec<u64>>>);

impl jack::NotificationHandler for Xruns {
    fn xrun(&mut self, c: &jack::Client) -> jack::Control {
        self.0.lock().unwrap().push(c.time());
        jack::Control::Continue
    }
}

/// A JACK client `rec` with a MIDI in port `rec:in` that records everything it receives, and an
/// audio in port `rec:audio` that records the JACK time of each sound's first sample after 50 ms
/// of digital silence (a click's onset, to the frame).
pub struct MidiRecorder {
    _client: jack::AsyncClient<Xruns, jack::contrib::ClosureProcessHandler<(), Process>>,
    seen: Arc<Mutex<Vec<Received>>>,
    onsets: Arc<Mutex<Vec<f64>>>,
    clock: jack::Client,
    xruns: Arc<Mutex<Vec<u64>>>,
}

impl MidiRecorder {
    /// The full name of the port to send to.
    pub const PORT: &'static str = "rec:in";
    /// The full name of the audio port to connect.
    pub const AUDIO_PORT: &'static str = "rec:audio";

    /// Opens the recorder on the running server.
    ///
    /// # Panics
    /// When no JACK server runs.
    #[must_use]
    pub fn start() -> MidiRecorder {
        let (client, _) = jack::Client::new("rec", jack::ClientOptions::NO_START_SERVER).expect("the recorder opens");
        let inp = client.register_port("in", jack::MidiIn::default()).expect("a MIDI in port");
        let audio = client.register_port("audio", jack::AudioIn::default()).expect("an audio in port");
        let (mut tx, mut rx) = rtrb::RingBuffer::<(f64, [u8; 3], usize)>::new(8192);
        let (mut onset_tx, mut onset_rx) = rtrb::RingBuffer::<f64>::new(1024);
        let silence = 48_000 / 20;
        let mut quiet = silence;
        let process: Process = Box::new(move |c: &jack::Client, ps: &jack::ProcessScope| {
            let (start, next) = bandsync_midi::cycle_span(c, ps);
            let span = next.saturating_sub(start) as f64;
            for (i, x) in audio.as_slice(ps).iter().enumerate() {
                if x.abs() > 1e-6 {
                    if quiet >= silence {
                        let _ = onset_tx.push(start as f64 + i as f64 * span / f64::from(ps.n_frames()));
                    }
                    quiet = 0;
                } else {
                    quiet += 1;
                }
            }
            for e in inp.iter(ps) {
                let at = start as f64 + f64::from(e.time) * span / f64::from(ps.n_frames());
                let mut b = [0; 3];
                let n = e.bytes.len().min(3);
                b[..n].copy_from_slice(&e.bytes[..n]);
                let _ = tx.push((at, b, n));
            }
            jack::Control::Continue
        });
        let xruns: Arc<Mutex<Vec<u64>>> = Arc::default();
        let active = client
            .activate_async(Xruns(Arc::clone(&xruns)), jack::contrib::ClosureProcessHandler::new(process))
            .expect("activates");
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let onsets: Arc<Mutex<Vec<f64>>> = Arc::default();
        let (s, o) = (Arc::clone(&seen), Arc::clone(&onsets));
        std::thread::spawn(move || {
            loop {
                while let Ok((at, b, n)) = rx.pop() {
                    s.lock().unwrap().push((at, b[..n].to_vec()));
                }
                while let Ok(at) = onset_rx.pop() {
                    o.lock().unwrap().push(at);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let (clock, _) = jack::Client::new("rec-clock", jack::ClientOptions::NO_START_SERVER).expect("opens");
        MidiRecorder { _client: active, seen, onsets, clock, xruns }
    }

    /// The JACK time (µs) of every sound's onset on the audio port so far.
    #[must_use]
    pub fn onsets(&self) -> Vec<f64> {
        self.onsets.lock().unwrap().clone()
    }

    /// Connects `from` (an audio out port) to the audio port, and says how far that port's
    /// sound is from the hardware: its playback latency (frames, the most).
    ///
    /// # Panics
    /// When either port is missing.
    #[must_use]
    pub fn listen_to(&self, from: &str) -> u32 {
        self.clock.connect_ports_by_name(from, Self::AUDIO_PORT).unwrap_or_else(|e| panic!("connect {from}: {e}"));
        self.clock.port_by_name(from).expect("the port exists").get_latency_range(jack::LatencyType::Playback).1
    }

    /// The first port whose name matches `pattern` (a regular expression, as JACK takes them).
    #[must_use]
    pub fn port(&self, pattern: &str) -> Option<String> {
        self.clock.ports(Some(pattern), None, jack::PortFlags::empty()).into_iter().next()
    }

    /// When (JACK time, µs, as the notification came) the server had an xrun since the
    /// recorder started.
    #[must_use]
    pub fn xruns(&self) -> Vec<u64> {
        self.xruns.lock().unwrap().clone()
    }

    /// Everything received so far.
    #[must_use]
    pub fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// JACK's clock now, µs.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.clock.time()
    }

    /// Waits until `pred` holds for what was received, for at most `secs`.
    ///
    /// # Panics
    /// When it does not.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        poll(what, secs, || self.seen(), |s| pred(s))
    }

    /// Waits (up to `secs`) until `n` sounds' onsets are heard; all of them so far.
    ///
    /// # Panics
    /// When they are not.
    #[must_use]
    pub fn wait_for_onsets(&self, n: usize, secs: u64) -> Vec<f64> {
        poll(&format!("{n} clicks"), secs, || self.onsets(), |o| o.len() >= n)
    }
}

/// Reads with `read` until `done` holds of what it read, for up to `secs`.
fn poll<T: AsRef<[U]>, U>(what: &str, secs: u64, read: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = read();
        if done(&got) {
            return got;
        }
        assert!(Instant::now() < deadline, "{what}: not received in {secs} s ({} so far)", got.as_ref().len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A JACK client `pedal` with a MIDI out port `pedal:out`: a foot controller that presses at exact
/// JACK times.
pub struct Pedal {
    _client: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    tx: Mutex<rtrb::Producer<(u64, [u8; 3], usize)>>,
    clock: jack::Client,
}

impl Pedal {
    /// The full name of the port to connect from.
    pub const PORT: &'static str = "pedal:out";

    /// Opens the pedal on the running server.
    ///
    /// # Panics
    /// When no JACK server runs.
    #[must_use]
    pub fn start() -> Pedal {
        let (client, _) = jack::Client::new("pedal", jack::ClientOptions::NO_START_SERVER).expect("the pedal opens");
        let mut out = client.register_port("out", jack::MidiOut::default()).expect("a MIDI out port");
        let (tx, mut rx) = rtrb::RingBuffer::<(u64, [u8; 3], usize)>::new(256);
        let process: Process = Box::new(move |c: &jack::Client, ps: &jack::ProcessScope| {
            let mut w = out.writer(ps);
            let (start, next) = bandsync_midi::cycle_span(c, ps);
            let span = next.saturating_sub(start).max(1) as f64;
            let mut last = 0;
            while let Ok(&(at, b, n)) = rx.peek() {
                if at >= next {
                    break;
                }
                let frame = ((at.saturating_sub(start) as f64 * f64::from(ps.n_frames()) / span) as u32).max(last);
                last = frame;
                let _ = w.write(&jack::RawMidi { time: frame.min(ps.n_frames() - 1), bytes: &b[..n] });
                let _ = rx.pop();
            }
            jack::Control::Continue
        });
        let active = client.activate_async((), jack::contrib::ClosureProcessHandler::new(process)).expect("activates");
        let (clock, _) = jack::Client::new("pedal-clock", jack::ClientOptions::NO_START_SERVER).expect("opens");
        Pedal { _client: active, tx: Mutex::new(tx), clock }
    }

    /// JACK's clock now, µs.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.clock.time()
    }

    /// Sends `bytes` at JACK time `at` (µs; in the past: at once). Times must not go backwards.
    pub fn press_at(&self, at: u64, bytes: &[u8]) {
        let mut b = [0; 3];
        b[..bytes.len()].copy_from_slice(bytes);
        self.tx.lock().unwrap().push((at, b, bytes.len())).expect("room in the pedal's queue");
    }

    /// Sends `bytes` now.
    pub fn press(&self, bytes: &[u8]) {
        self.press_at(self.now(), bytes);
    }
}
