//! Sharing the two cores between the tests of one binary that run in parallel. A test that
//! judges timing at the speaker or beat by beat runs [`alone`]; a test that may run beside others
//! of its kind, and never beside one that runs alone, holds [`shared`] (a light timing test, or a
//! heavy one that would starve a timing test: a browser starting, Postgres's `initdb`).
//!
//! One lock per test binary (each links its own copy of this library), held for the test's whole
//! run.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// Nothing else that takes the lock runs meanwhile.
pub fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Beside other [`shared`] holders, never beside one [`alone`].
pub fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}
