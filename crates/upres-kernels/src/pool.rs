//! Recycled buffers: fresh pages for every layer's output would cost page faults comparable
//! to a small convolution, so dropped maps give their buffers back for the next ones.

use std::sync::Mutex;

/// Buffers of `T` kept for reuse, at most `max_bytes` of them.
pub(crate) struct BufferPool<T> {
    buffers: Mutex<Vec<Vec<T>>>,
    max_bytes: usize,
}

impl<T> BufferPool<T> {
    pub(crate) const fn new(max_bytes: usize) -> Self {
        Self {
            buffers: Mutex::new(Vec::new()),
            max_bytes,
        }
    }

    /// The smallest kept buffer that holds `len` values (its contents stale), if any.
    pub(crate) fn take(&self, len: usize) -> Option<Vec<T>> {
        let mut buffers = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        let best = (0..buffers.len())
            .filter(|&i| buffers[i].capacity() >= len)
            .min_by_key(|&i| buffers[i].capacity());
        best.map(|i| buffers.swap_remove(i))
    }

    /// Keeps `buffer` for reuse unless the pool is full.
    pub(crate) fn give(&self, buffer: Vec<T>) {
        let bytes = |b: &Vec<T>| b.capacity() * size_of::<T>();
        let mut buffers = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        if buffers.iter().map(bytes).sum::<usize>() + bytes(&buffer) <= self.max_bytes {
            buffers.push(buffer);
        }
    }
}
