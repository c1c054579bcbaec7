//! Work split over the machine's cores, where it has threads.
//!
//! Loading a million assets checks, projects and relates each one on its own; these
//! helpers spread that over `std::thread::scope` threads (at most 8) on native
//! targets. On wasm32 (no threads in a plain page) and for small batches they run in
//! the caller's thread, with the same results in the same order. On 2 cores,
//! `twin info` of a million-feature FlatGeobuf file (scripts/bench-load's) took 5.42 s
//! with them and 6.03 s without (best of four, interleaved). Only work that allocates
//! little is split: turning decoded features into assets on two threads made the same
//! load slower (8.3 s), glibc's allocator paying for frees across threads.

/// Below this many items a batch is not worth a thread.
const MIN_PARALLEL: usize = 8192;

/// How many threads to use for `len` items.
fn threads(len: usize) -> usize {
    if len < MIN_PARALLEL || cfg!(target_arch = "wasm32") {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// `items.iter().map(f).collect()`, in chunks on several threads.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(n);
    let f = &f;
    let parts: Vec<Vec<R>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(v) => v,
                // A panic in `f` is a bug, not bad input: pass it on as it was.
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p);
    }
    out
}

/// Runs `a` and `b`, on two threads when `big` and the target has them.
pub(crate) fn join<A: Send, B: Send>(
    big: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !big || threads(MIN_PARALLEL) <= 1 {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let ha = s.spawn(a);
        let rb = b();
        match ha.join() {
            Ok(ra) => (ra, rb),
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_order_across_chunks() {
        let items: Vec<u32> = (0..50_000).collect();
        let out = super::map(&items, |x| x * 2);
        assert_eq!(out.len(), 50_000);
        assert!(out.iter().enumerate().all(|(i, v)| *v == 2 * i as u32));
    }

    #[test]
    fn join_returns_both() {
        assert_eq!(super::join(true, || 1, || "b"), (1, "b"));
        assert_eq!(super::join(false, || 1, || "b"), (1, "b"));
    }
}
