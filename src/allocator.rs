//! Settings of glibc's allocator for this workload, made before any thread starts.
//!
//! The file input allocates records on its thread and the async workers encode and send them;
//! by default glibc gives every thread its own arena (up to 8 per core) and raises its mmap
//! threshold each time a large block is freed, so memory freed on one thread is not reused by
//! another and the heaps keep megabytes of free space. Two arenas and a fixed mmap threshold
//! (large buffers are mapped and unmapped on their own; the `_bulk` bodies are pooled, so that
//! costs nothing on the hot path) cut the peak RSS of the standard benchmark by about a fifth
//! at the same CPU (docs/performance.md). An operator's `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
//! wins.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    // SAFETY: mallopt only changes the allocator's parameters; it is called at the start of
    // main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
