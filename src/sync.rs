//! Poison-tolerant lock helpers.
//!
//! Every lock in Footfall guards a short section without awaits whose data
//! stays consistent if a panic interrupts it (sets, maps, counters), so a
//! poisoned lock is still sound to use; taking the whole counter down over
//! one panicked request would be worse.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
