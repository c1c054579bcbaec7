//! A screen on a served twin: the server's `hello` checked against the screen's own
//! twin, and the stream's binary frames applied to the screen's session (docs/stream.md
//! §2–§5). The web page (twin-wasm) and the desktop viewer (twin-viewer) both hold a
//! [`Remote`], so they read the stream the same way.
//!
//! The screen loads the same assets as the server (equal [`Twin::fingerprint`]s mean
//! equal handles), turns its own rules off (the server's alerts come as JSON), and
//! from then on draws [`Remote::colors`], the server's overlay colours, instead of its
//! own overlay's. Value records go into the screen's store as samples, so its
//! inspector and charts read the server's values with the store's usual calls.
//!
//! [`Twin::fingerprint`]: crate::Twin::fingerprint

use std::ops::Range;

use serde::Deserialize;

use super::{Body, FrameError, decode};
use crate::session::Session;
use crate::state::{ChannelId, Quality, Rgba, Sample};
use crate::{Handle, Timestamp};

/// The protocol a [`Remote`] reads (the WebSocket subprotocol).
pub const PROTOCOL: &str = "twin.v1";

/// The parts of the server's `hello` a screen needs.
#[derive(Clone, Debug, Deserialize)]
pub struct Hello {
    /// The protocol, `twin.v1`.
    pub protocol: String,
    /// The served twin's [`crate::Twin::fingerprint`].
    pub fingerprint: String,
    /// The session's asset generation.
    pub generation: u64,
    /// The server's channels: its id on the stream and its name.
    pub channels: Vec<HelloChannel>,
    /// The server's title for the district.
    #[serde(default)]
    pub title: String,
    /// Who the token belongs to.
    #[serde(default)]
    pub caller: Caller,
    /// The twin's clock (UTC ms).
    #[serde(default)]
    pub now: i64,
    /// The building models the server added to its twin, in the order it added them:
    /// a screen that adds the same ones the same way (`get_model` gives their bytes)
    /// holds the server's assets.
    #[serde(default)]
    pub models: Vec<HelloModel>,
}

/// A building model the served twin holds (`twin serve --bim FILE --place …`).
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct HelloModel {
    /// Its index in `get_model` and in file pieces.
    pub index: u32,
    /// The file's name, without its folder (its extension tells `.gltf` from the rest).
    pub name: String,
    /// Its length.
    pub bytes: u32,
    /// Where it stands, as `--place` said it (`None`: where the file says).
    #[serde(default)]
    pub place: Option<String>,
    /// The CRS given for its IfcMapConversion (`--crs`).
    #[serde(default)]
    pub crs: Option<String>,
}

/// One channel of the hello.
#[derive(Clone, Debug, Deserialize)]
pub struct HelloChannel {
    /// Its id in value records.
    pub id: u16,
    /// Its name (`level`, `pm25` …).
    pub name: String,
}

/// The token's holder, as the server named it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Caller {
    /// The token's name.
    #[serde(default)]
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    #[serde(default)]
    pub role: String,
}

/// Why a hello or a frame was refused. A refused frame changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The hello is not the JSON of a hello.
    #[error("the server's hello: {0}")]
    Hello(String),
    /// Another protocol.
    #[error("the server speaks `{0}`; this screen reads {PROTOCOL}")]
    Protocol(String),
    /// The server holds other assets.
    #[error(
        "the server holds other assets than this screen (fingerprint {server} there, {here} here): open the same data as the server (the bundled island: no --data, the same --scale and --seed)"
    )]
    Fingerprint {
        /// The server's fingerprint.
        server: String,
        /// This screen's.
        here: String,
    },
    /// A malformed frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A colour run past this twin's handles.
    #[error("colour frame: a run ends at handle {end}, past this twin's {capacity}")]
    PastEnd {
        /// Where the run ends.
        end: u32,
        /// This twin's handle capacity.
        capacity: usize,
    },
    /// A value record with a quality that does not exist.
    #[error("value frame: quality {0}")]
    Quality(u8),
}

/// What one frame did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Colour runs written into [`Remote::colors`]: the handle ranges that changed.
    Colors {
        /// Runs in the frame.
        count: u32,
        /// The ranges written.
        changed: Vec<Range<u32>>,
    },
    /// Value records applied to the session's store.
    Values {
        /// Records in the frame.
        count: u32,
        /// Records of channels this screen has.
        applied: usize,
    },
    /// A frame of another asset generation, dropped; or a file piece, which is not
    /// for the session (the screen puts a model's pieces together with
    /// [`super::FileParts`] before it begins).
    Stale,
}

/// A served twin's state on a screen.
#[derive(Clone, Debug)]
pub struct Remote {
    /// Colours by handle, as the server sent them (alpha 0: the base colour).
    pub colors: Vec<Rgba>,
    /// Server channel id → this screen's channel (`None`: it has no such channel).
    pub channels: Vec<Option<ChannelId>>,
    /// The hello this began from.
    pub hello: Hello,
}

impl Remote {
    /// Starts showing a served twin from its `hello` (JSON text): the protocol must be
    /// `twin.v1` and the assets the session's (equal fingerprints). The session's
    /// rules are cleared (the server's alerts come over the stream). `previous` is the
    /// state of an earlier connection: its colours are kept until the new snapshot
    /// overwrites them, so a reconnection does not flash the base colours.
    pub fn begin(
        session: &mut Session,
        hello: &str,
        previous: Option<Remote>,
    ) -> Result<Remote, RemoteError> {
        let h: Hello =
            serde_json::from_str(hello).map_err(|e| RemoteError::Hello(e.to_string()))?;
        if h.protocol != PROTOCOL {
            return Err(RemoteError::Protocol(h.protocol));
        }
        let here = session.twin().fingerprint();
        if h.fingerprint != here {
            return Err(RemoteError::Fingerprint {
                server: h.fingerprint,
                here,
            });
        }
        let mut channels = Vec::new();
        for c in &h.channels {
            let i = usize::from(c.id);
            if channels.len() <= i {
                channels.resize(i + 1, None);
            }
            channels[i] = session.store().channel(&c.name);
        }
        // Without rules nothing can fail to parse or compile.
        session
            .set_rules(Vec::new(), Vec::new())
            .map_err(|e| RemoteError::Hello(e.to_string()))?;
        let capacity = session.twin().handle_capacity();
        let colors = match previous {
            Some(r) if r.colors.len() == capacity => r.colors,
            _ => session.overlay().colors().to_vec(),
        };
        Ok(Remote {
            colors,
            channels,
            hello: h,
        })
    }

    /// Applies one binary frame: colour runs into [`Remote::colors`], value records
    /// into the session's store (the session's clock moves to the frame's when that is
    /// later). A frame of another generation is dropped; a malformed one is refused
    /// whole and changes nothing.
    pub fn apply(&mut self, session: &mut Session, frame: &[u8]) -> Result<Applied, RemoteError> {
        let (header, body) = decode(frame)?;
        // Frames carry the low 32 bits of the session generation.
        if header.generation != self.hello.generation as u32 {
            return Ok(Applied::Stale);
        }
        match body {
            Body::Colors(runs) => {
                let capacity = self.colors.len();
                if let Some((r, _)) = runs.iter().find(|(r, _)| r.end as usize > capacity) {
                    return Err(RemoteError::PastEnd {
                        end: r.end,
                        capacity,
                    });
                }
                let mut changed = Vec::with_capacity(runs.len());
                for (range, rgba) in runs {
                    for (h, c) in range.clone().zip(rgba.chunks_exact(4)) {
                        self.colors[h as usize] = Rgba([c[0], c[1], c[2], c[3]]);
                    }
                    changed.push(range);
                }
                Ok(Applied::Colors {
                    count: header.count,
                    changed,
                })
            }
            Body::Values(records) => {
                let mut samples = Vec::with_capacity(records.len());
                for r in &records {
                    let quality = match r.quality {
                        0 => Quality::Good,
                        1 => Quality::Uncertain,
                        2 => Quality::Bad,
                        q => return Err(RemoteError::Quality(q)),
                    };
                    let Some(Some(channel)) = self.channels.get(usize::from(r.channel)).copied()
                    else {
                        continue;
                    };
                    samples.push(Sample {
                        handle: Handle(r.handle),
                        channel,
                        ts: Timestamp::from_millis(r.ts),
                        value: r.value,
                        quality,
                    });
                }
                let now = session.now().max(Timestamp::from_millis(header.now));
                session.apply(&samples, now);
                Ok(Applied::Values {
                    count: header.count,
                    applied: samples.len(),
                })
            }
            Body::File { .. } => Ok(Applied::Stale),
        }
    }
}
