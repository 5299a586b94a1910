//! Objects the page holds by handle: members, device-clock filters, engines. Wasm
//! runs one thread per instance (the page's, or the AudioWorklet's), so a thread-local registry is
//! the whole of the state.

use std::cell::RefCell;

/// Handles of one kind of object. A page holds a handful of each, so a list searched by handle
/// is enough, and its code is a fraction of a map's in every instantiation (the page's size).
#[derive(Debug)]
pub struct Slab<T> {
    next: u32,
    items: Vec<(u32, T)>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { next: 1, items: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Stores `t` and returns its handle (never 0, not reused until the counter wraps).
    pub fn insert(&mut self, t: T) -> u32 {
        let h = self.next;
        self.next = self.next.wrapping_add(1).max(1);
        self.items.push((h, t));
        h
    }

    /// The object behind `h`.
    pub fn get_mut(&mut self, h: u32) -> Option<&mut T> {
        self.items.iter_mut().find(|(k, _)| *k == h).map(|(_, t)| t)
    }

    /// Drops the object behind `h`.
    pub fn remove(&mut self, h: u32) -> Option<T> {
        let i = self.items.iter().position(|(k, _)| *k == h)?;
        Some(self.items.swap_remove(i).1)
    }
}

/// Everything the page holds.
#[derive(Debug, Default)]
pub struct Registry {
    /// Members.
    pub members: Slab<bandsync_core::member::Member>,
    /// Mirrors of the session fed with raw server messages (the app's view of the session; the
    /// page's is its member's).
    pub mirrors: Slab<Option<bandsync_core::Mirror>>,
    /// Device-clock filters (the page's audio output against its clock).
    pub filters: Slab<bandsync_audio::filter::DeviceClockFilter>,
    /// Judges of the browser's output timestamps.
    pub judges: Slab<bandsync_audio::stamps::StampJudge>,
    /// Pedal maps (Web MIDI in).
    pub pedals: Slab<bandsync_core::midi::input::MidiInput>,
    /// MIDI feeders (Web MIDI out).
    pub feeders: Slab<bandsync_core::midi::feed::Feeder>,
    /// Click engines (the AudioWorklet's).
    pub engines: Slab<crate::engine::PageEngine>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Runs `f` with the registry.
pub fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRY.with(|r| f(&mut r.borrow_mut()))
}
