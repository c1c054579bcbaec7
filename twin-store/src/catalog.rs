//! What a journal's numbers mean: asset ids by handle and channel names by number
//! ([`Catalog`]), one written whenever they change ([`Catalogs`]), and the map from a
//! journal's numbers to a restored session's ([`Remap`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use twin_core::state::{ChannelId, Sample};
use twin_core::{Handle, Session};

use crate::StoreError;

/// Asset ids by handle and channel names by number: what a journal's numbers mean.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    /// Asset id per handle (`None`: no asset has the handle).
    pub assets: Vec<Option<String>>,
    /// Channel name per number.
    pub channels: Vec<String>,
}

impl Catalog {
    /// The session's catalog now.
    pub fn of(session: &Session) -> Catalog {
        let twin = session.twin();
        let mut assets = vec![None; twin.handle_capacity()];
        for (h, a) in twin.iter() {
            if let Some(slot) = assets.get_mut(h.index()) {
                *slot = Some(a.id.clone());
            }
        }
        let mut channels = Vec::new();
        for (id, spec) in session.store().channels() {
            let i = id.0 as usize;
            if channels.len() <= i {
                channels.resize(i + 1, String::new());
            }
            channels[i] = spec.name.clone();
        }
        Catalog { assets, channels }
    }

    /// The id of the asset with handle `h`.
    pub fn asset(&self, h: u32) -> Option<&str> {
        self.assets.get(h as usize)?.as_deref()
    }

    /// The name of channel `c`.
    pub fn channel(&self, c: u16) -> Option<&str> {
        self.channels.get(c as usize).map(String::as_str)
    }

    /// The handle of an asset id (a linear search: for one lookup).
    pub fn handle_of(&self, id: &str) -> Option<u32> {
        self.assets
            .iter()
            .position(|a| a.as_deref() == Some(id))
            .map(|i| i as u32)
    }

    /// The number of a channel name.
    pub fn channel_of(&self, name: &str) -> Option<u16> {
        self.channels
            .iter()
            .position(|c| c == name)
            .map(|i| i as u16)
    }

    fn load(path: &Path) -> Result<Catalog, StoreError> {
        let text = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
        serde_json::from_slice(&text).map_err(|e| StoreError::Invalid {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub(crate) fn save(&self, path: &Path) -> Result<(), StoreError> {
        let tmp = path.with_extension("json.tmp");
        let io = |e| StoreError::io(path, e);
        let bytes = serde_json::to_vec(self).map_err(|e| StoreError::Journal(e.to_string()))?;
        let f = File::create(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut &f, &bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

/// The catalogs of a directory, by the record after which each holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Catalogs(pub(crate) BTreeMap<u64, Arc<Catalog>>);

impl Catalogs {
    pub(crate) fn load(dir: &Path) -> Result<(Catalogs, Vec<String>), StoreError> {
        let mut map = BTreeMap::new();
        let mut problems = Vec::new();
        for (seq, path) in numbered(dir, ".json")? {
            match Catalog::load(&path) {
                Ok(c) => {
                    map.insert(seq, Arc::new(c));
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        Ok((Catalogs(map), problems))
    }

    /// The catalog for record `seq`: the newest written before it (or the first).
    pub(crate) fn for_seq(&self, seq: u64) -> Option<&Arc<Catalog>> {
        self.0
            .range(..seq)
            .next_back()
            .or_else(|| self.0.iter().next())
            .map(|(_, c)| c)
    }
}

/// The entries of a directory (none when it does not exist).
pub(crate) fn entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| StoreError::io(dir, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

/// Files `NNNN<suffix>` (20 digits) of a directory, by number.
pub(crate) fn numbered(dir: &Path, suffix: &str) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for e in entries(dir)? {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(digits) = name.strip_suffix(suffix) else {
            continue;
        };
        if digits.len() == 20
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = digits.parse()
        {
            out.push((n, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Journal handles to the session's handles and channels, through the catalogs
/// (a restored snapshot numbers its assets anew when some were removed).
pub(crate) struct Remap {
    /// Per catalog (by the record after which it holds): handle and channel maps, or
    /// `None` where they are the identity.
    maps: BTreeMap<u64, Option<Numbers>>,
}

/// Session handle per journal handle, session channel per journal channel.
type Numbers = (Vec<u32>, Vec<u16>);

const GONE32: u32 = u32::MAX;
const GONE16: u16 = u16::MAX;

impl Remap {
    pub(crate) fn new(session: &Session, catalogs: &Catalogs) -> Remap {
        let twin = session.twin();
        let store = session.store();
        let mut maps = BTreeMap::new();
        for (seq, c) in &catalogs.0 {
            let handles: Vec<u32> = c
                .assets
                .iter()
                .map(|a| {
                    a.as_deref()
                        .and_then(|id| twin.handle(id))
                        .map_or(GONE32, |h| h.0)
                })
                .collect();
            let channels: Vec<u16> = c
                .channels
                .iter()
                .map(|n| store.channel(n).map_or(GONE16, |c| c.0))
                .collect();
            let identity = handles
                .iter()
                .enumerate()
                // An asset gone since is the identity only where no other asset took
                // its number.
                .all(|(i, h)| {
                    *h == i as u32 || (*h == GONE32 && twin.get(Handle(i as u32)).is_none())
                })
                && channels.iter().enumerate().all(|(i, c)| *c == i as u16);
            maps.insert(*seq, (!identity).then_some((handles, channels)));
        }
        Remap { maps }
    }

    pub(crate) fn samples(&self, seq: u64, mut samples: Vec<Sample>) -> Vec<Sample> {
        let map = self
            .maps
            .range(..seq)
            .next_back()
            .or_else(|| self.maps.iter().next())
            .and_then(|(_, m)| m.as_ref());
        if let Some((handles, channels)) = map {
            samples.retain_mut(|s| {
                let h = handles.get(s.handle.index()).copied().unwrap_or(GONE32);
                let c = channels
                    .get(s.channel.0 as usize)
                    .copied()
                    .unwrap_or(GONE16);
                s.handle = Handle(h);
                s.channel = ChannelId(c);
                h != GONE32 && c != GONE16
            });
        }
        samples
    }
}
