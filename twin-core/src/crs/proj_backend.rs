//! Backend on the system PROJ library (feature `proj`, native targets only).
//!
//! A `proj::Proj` holds a PROJ context and is neither `Send` nor `Sync`. To keep
//! [`Transformer`](super::Transformer) `Send + Sync` whatever the features, the
//! PROJ objects live in a small per-thread cache keyed by the (source, target)
//! definitions; a transformer only stores the two strings. Each thread builds
//! an operation once, on first use (the thread that calls `Transformer::new`
//! builds it there, so definition errors surface at construction).

use std::cell::RefCell;

/// How many PROJ operations each thread keeps.
const CACHE_CAPACITY: usize = 16;

thread_local! {
    static CACHE: RefCell<Vec<(String, String, proj::Proj)>> = const { RefCell::new(Vec::new()) };
}

/// A PROJ coordinate operation between two CRS definitions, with the axis
/// order normalised to longitude/latitude (degrees) or easting/northing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProjOp {
    from: String,
    to: String,
}

impl ProjOp {
    /// Sets up (and builds on this thread) the operation `from` → `to`; the
    /// error is PROJ's message.
    pub(crate) fn new(from: &str, to: &str) -> Result<Self, String> {
        let op = Self {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        op.with(|_| ())?;
        Ok(op)
    }

    /// Runs `f` on this thread's PROJ object for the operation.
    fn with<R>(&self, f: impl FnOnce(&proj::Proj) -> R) -> Result<R, String> {
        CACHE
            .try_with(|cache| {
                let mut cache = cache
                    .try_borrow_mut()
                    .map_err(|_| "PROJ cache is busy".to_owned())?;
                let index = match cache
                    .iter()
                    .position(|(a, b, _)| *a == self.from && *b == self.to)
                {
                    Some(i) => i,
                    None => {
                        let p = proj::Proj::new_known_crs(&self.from, &self.to, None)
                            .map_err(|e| e.to_string())?;
                        if cache.len() >= CACHE_CAPACITY {
                            cache.remove(0);
                        }
                        cache.push((self.from.clone(), self.to.clone(), p));
                        cache.len() - 1
                    }
                };
                Ok(f(&cache[index].2))
            })
            .map_err(|_| "PROJ cache unavailable during thread shutdown".to_owned())?
    }

    /// Converts one coordinate.
    pub(crate) fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        self.with(|p| p.convert((x, y)).map_err(|e| e.to_string()))?
    }
}
