//! Spatial queries, asset details and time travel, as plain serialisable values.

use std::collections::BTreeMap;

use geo::{Distance, Euclidean};
use geo_types::{Geometry, Point};
use serde::Serialize;
use serde_json::Value as Json;
use tsify::Tsify;
use twin_core::state::{ChannelId, Quality, Value, decode};
use twin_core::{Handle, KindFilter, PropValue, Twin};

use crate::engine::Engine;

/// One query answer.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
pub struct Hit {
    /// External id.
    pub id: String,
    /// Dense handle (index of the overlay colours).
    pub handle: u32,
    /// `town`, `building`, `sensor:pm25`, ...
    pub kind: String,
    /// Chinese name, else English, else the id.
    pub name: String,
    /// Id of the town the asset lies in.
    pub town: Option<String>,
    /// Metres from the query point (`near`, `knn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f64>,
}

/// A channel's latest sample.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "LatestValue")]
pub struct LatestOut {
    /// The value (number, boolean or state name).
    #[tsify(type = "number | boolean | string")]
    pub value: Json,
    /// Its time (UTC ms).
    pub ts: i64,
    /// `good`, `uncertain` or `bad`.
    #[tsify(type = r#""good" | "uncertain" | "bad""#)]
    pub quality: &'static str,
}

/// Everything about one asset.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AssetInfo {
    /// External id.
    pub id: String,
    /// Dense handle.
    pub handle: u32,
    /// Kind.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Names by language (`zh`, `en`), where known.
    #[tsify(type = "{ zh?: string; en?: string }")]
    pub names: BTreeMap<&'static str, String>,
    /// Id of the town it lies in.
    pub town: Option<String>,
    /// Id of the asset it is attached to (a sensor's host).
    pub attached_to: Option<String>,
    /// Id of the asset it is part of.
    pub part_of: Option<String>,
    /// Its lon/lat bounding box `[minLon, minLat, maxLon, maxLat]`.
    pub bbox: Option<[f64; 4]>,
    /// Other properties as read.
    #[tsify(type = "Record<string, string | number | boolean>")]
    pub properties: BTreeMap<String, Json>,
    /// Latest value per channel it has reported, by channel name.
    #[tsify(type = "Record<string, LatestValue>")]
    pub latest: BTreeMap<String, LatestOut>,
    /// Ids of the assets attached to it (a building's meters, a pole's cameras).
    pub sensors: Vec<String>,
}

/// One (asset, channel) of a past state.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
pub struct StateEntry {
    /// External id.
    pub id: String,
    /// Handle.
    pub handle: u32,
    /// Channel name.
    pub channel: String,
    /// Time of the sample in force (UTC ms).
    pub ts: i64,
    /// Its value.
    #[tsify(type = "number | boolean | string")]
    pub value: Json,
}

/// The sample in force at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
pub struct ValueAt {
    /// Time of the sample in force (UTC ms).
    pub ts: i64,
    /// Its value.
    #[tsify(type = "number | boolean | string")]
    pub value: Json,
}

/// A decoded channel value as JSON.
pub fn json_value(v: &Value) -> Json {
    match v {
        Value::Num(n) => Json::from(*n),
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(s) => Json::String(s.clone()),
    }
}

fn quality_name(q: Quality) -> &'static str {
    match q {
        Quality::Good => "good",
        Quality::Uncertain => "uncertain",
        Quality::Bad => "bad",
    }
}

/// The kind filter a page named (none for an empty string); an unknown kind is an
/// error that says so.
fn filter(kind: Option<&str>) -> Result<Option<KindFilter>, String> {
    kind.map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| k.parse::<KindFilter>().map_err(|e| format!("kind: {e}")))
        .transpose()
}

fn finite(what: &str, xs: &[f64]) -> Result<(), String> {
    if xs.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(format!(
            "{what}: coordinates must be finite numbers, got {xs:?}"
        ))
    }
}

/// The id of the town an asset belongs to ([`Twin::town_of`]).
pub fn town_id(twin: &Twin, h: Handle) -> Option<String> {
    twin.town_of(h)
        .and_then(|t| twin.get(t))
        .map(|a| a.id.clone())
}

impl Engine {
    pub(crate) fn hit(&self, h: Handle, distance: Option<f64>) -> Option<Hit> {
        let twin = self.session.twin();
        let a = twin.get(h)?;
        Some(Hit {
            id: a.id.clone(),
            handle: h.0,
            kind: a.kind.to_string(),
            name: a.display_name().to_string(),
            town: town_id(twin, h),
            distance,
        })
    }

    /// Assets whose lon/lat bounding box meets the box, by handle.
    pub fn bbox(
        &self,
        min: (f64, f64),
        max: (f64, f64),
        kind: Option<&str>,
    ) -> Result<Vec<Hit>, String> {
        finite("bbox", &[min.0, min.1, max.0, max.1])?;
        let hs = self.session.twin().query_bbox(
            twin_core::geo_types::Rect::new(min, max),
            filter(kind)?.as_ref(),
        );
        Ok(hs.into_iter().filter_map(|h| self.hit(h, None)).collect())
    }

    /// Assets within `metres` of the point, nearest first.
    pub fn near(
        &self,
        lon: f64,
        lat: f64,
        metres: f64,
        kind: Option<&str>,
    ) -> Result<Vec<Hit>, String> {
        finite("near", &[lon, lat])?;
        if !(metres.is_finite() && metres >= 0.0) {
            return Err(format!(
                "near: metres must be a finite number ≥ 0, got {metres}"
            ));
        }
        let twin = self.session.twin();
        let hs = twin.query_within_distance((lon, lat), metres, filter(kind)?.as_ref());
        let (x, y) = twin.frame().to_local(lon, lat);
        let p = Geometry::Point(Point::new(x, y));
        let mut hits: Vec<Hit> = hs
            .into_iter()
            .filter_map(|h| {
                let d = twin.local_geometry(h).map(|g| Euclidean.distance(g, &p));
                self.hit(h, d)
            })
            .collect();
        hits.sort_by(|a, b| {
            let (da, db) = (a.distance.unwrap_or(0.0), b.distance.unwrap_or(0.0));
            da.total_cmp(&db).then(a.handle.cmp(&b.handle))
        });
        Ok(hits)
    }

    /// The `k` assets nearest the point, nearest first, with distances in metres.
    pub fn knn(
        &self,
        lon: f64,
        lat: f64,
        k: usize,
        kind: Option<&str>,
    ) -> Result<Vec<Hit>, String> {
        finite("knn", &[lon, lat])?;
        let hs = self
            .session
            .twin()
            .query_nearest((lon, lat), k, filter(kind)?.as_ref());
        Ok(hs
            .into_iter()
            .filter_map(|(h, d)| self.hit(h, Some(d)))
            .collect())
    }

    /// Assets covering the point.
    pub fn contains(&self, lon: f64, lat: f64, kind: Option<&str>) -> Result<Vec<Hit>, String> {
        finite("contains", &[lon, lat])?;
        let hs = self
            .session
            .twin()
            .query_containing((lon, lat), filter(kind)?.as_ref());
        Ok(hs.into_iter().filter_map(|h| self.hit(h, None)).collect())
    }

    fn handle(&self, id: &str) -> Result<Handle, String> {
        self.session
            .twin()
            .handle(id)
            .ok_or_else(|| format!("unknown asset id `{id}`"))
    }

    fn channel(&self, name: &str) -> Result<ChannelId, String> {
        self.session
            .store()
            .channel(name)
            .ok_or_else(|| format!("unknown channel `{name}`"))
    }

    fn channel_name(&self, c: ChannelId) -> String {
        self.session
            .store()
            .spec(c)
            .map_or_else(|| format!("#{}", c.0), |s| s.name.clone())
    }

    fn decoded(&self, c: ChannelId, x: f64) -> Json {
        match self.session.store().spec(c) {
            Some(spec) => json_value(&decode(&spec.ty, x)),
            None => Json::from(x),
        }
    }

    /// Everything about one asset, with its latest values.
    pub fn asset(&self, id: &str) -> Result<AssetInfo, String> {
        use geo::BoundingRect;
        let h = self.handle(id)?;
        let twin = self.session.twin();
        let a = twin
            .get(h)
            .ok_or_else(|| format!("unknown asset id `{id}`"))?;
        let mut names = BTreeMap::new();
        if let Some(n) = &a.name_zh {
            names.insert("zh", n.clone());
        }
        if let Some(n) = &a.name_en {
            names.insert("en", n.clone());
        }
        let properties = a
            .properties
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    PropValue::Str(s) => Json::String(s.clone()),
                    PropValue::Num(n) => Json::from(*n),
                    PropValue::Bool(b) => Json::Bool(*b),
                };
                (k.clone(), v)
            })
            .collect();
        let store = self.session.store();
        let latest = store
            .channels()
            .filter_map(|(c, spec)| {
                let l = store.latest(h, c)?;
                Some((
                    spec.name.clone(),
                    LatestOut {
                        value: json_value(&decode(&spec.ty, l.value)),
                        ts: l.ts.as_millis(),
                        quality: quality_name(l.quality),
                    },
                ))
            })
            .collect();
        Ok(AssetInfo {
            id: a.id.clone(),
            handle: h.0,
            kind: a.kind.to_string(),
            name: a.display_name().to_string(),
            names,
            town: town_id(twin, h),
            attached_to: a.attached_to.clone(),
            part_of: a.part_of.clone(),
            bbox: a
                .geometry
                .bounding_rect()
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
            properties,
            latest,
            sensors: twin
                .iter()
                .filter(|&(x, _)| twin.attached_to(x) == Some(h))
                .map(|(_, x)| x.id.clone())
                .collect(),
        })
    }

    /// The id of the asset a handle names, if it holds one.
    pub fn id_of(&self, handle: u32) -> Option<String> {
        self.session
            .twin()
            .get(Handle(handle))
            .map(|a| a.id.clone())
    }

    /// The value a channel of an asset had at `t` (its last sample at or before `t`
    /// still in history), or `None`.
    pub fn value_at(&self, id: &str, channel: &str, t: i64) -> Result<Option<ValueAt>, String> {
        let h = self.handle(id)?;
        let c = self.channel(channel)?;
        Ok(self
            .session
            .store()
            .value_at(h, c, twin_core::Timestamp::from_millis(t))
            .map(|(ts, v)| ValueAt {
                ts: ts.as_millis(),
                value: self.decoded(c, v),
            }))
    }

    /// The state at `t` of every asset with history, or of the assets whose bounding
    /// box meets `bbox` (`[minLon, minLat, maxLon, maxLat]`), by handle and channel.
    pub fn state_at(&self, t: i64, bbox: Option<[f64; 4]>) -> Result<Vec<StateEntry>, String> {
        let hs = match bbox {
            Some([x0, y0, x1, y1]) => {
                finite("stateAt bbox", &[x0, y0, x1, y1])?;
                Some(
                    self.session
                        .twin()
                        .query_bbox(twin_core::geo_types::Rect::new((x0, y0), (x1, y1)), None),
                )
            }
            None => None,
        };
        let rows = self
            .session
            .store()
            .state_at(twin_core::Timestamp::from_millis(t), hs.as_deref());
        Ok(rows
            .into_iter()
            .filter_map(|(h, c, ts, v)| {
                let a = self.session.twin().get(h)?;
                Some(StateEntry {
                    id: a.id.clone(),
                    handle: h.0,
                    channel: self.channel_name(c),
                    ts: ts.as_millis(),
                    value: self.decoded(c, v),
                })
            })
            .collect())
    }
}
