//! Sensors: 100,000 at scale 1, each attached to the asset it measures.

use geo_types::{Coord, Geometry, Point};

use super::geom::{Box2, r2};
use super::land::Land;
use super::network::{LineAsset, Network};
use super::places::Places;
use super::stations::PointAsset;
use super::{Out, synth_error};
use twin_core::LoadError;
use twin_core::{AssetKind, SensorType};

/// Sensors per type at scale 1 (charger power: one per charger, 2,000 at scale 1).
pub(crate) const PER_TYPE: [(SensorType, &str, f64); 8] = [
    (SensorType::BuildingEnergy, "BE", 42_000.0),
    (SensorType::Noise, "NZ", 8_000.0),
    (SensorType::Pm25, "PM", 6_000.0),
    (SensorType::SoilMoisture, "SM", 16_000.0),
    (SensorType::WaterLevel, "WL", 4_000.0),
    (SensorType::WaterQuality, "WQ", 4_000.0),
    (SensorType::TrafficCounter, "TC", 6_000.0),
    (SensorType::ParkingOccupancy, "PO", 12_000.0),
];

/// Where a sensor may sit on its host.
#[derive(Clone, Copy)]
enum Spot {
    /// Exactly at this point.
    At(Coord<f64>),
    /// Inside this rectangle.
    In(Box2),
}

/// One sensor type being written: its code and running number.
struct Writer {
    kind: AssetKind,
    code: &'static str,
    n: usize,
}

impl Writer {
    fn new(t: SensorType, code: &'static str) -> Self {
        Writer {
            kind: AssetKind::Sensor(t),
            code,
            n: 0,
        }
    }

    fn write(&mut self, out: &mut Out, host: &str, p: Coord<f64>) {
        self.n += 1;
        let id = format!("CM-S-{}-{:06}", self.code, self.n);
        let a = out.push("sensors", id, self.kind.clone(), Geometry::Point(Point(p)));
        a.attached_to = Some(host.to_string());
    }

    /// `n` sensors spread evenly over `hosts` (several per host when there are fewer
    /// hosts than sensors). `salt` shifts the positions inside rectangles so that
    /// sensor types sharing a host do not coincide; with `centre_first` the first
    /// sensor of a host sits at its centroid.
    fn spread(
        &mut self,
        out: &mut Out,
        hosts: &[(&str, Spot)],
        n: usize,
        salt: usize,
        centre_first: bool,
    ) -> Result<(), LoadError> {
        if n == 0 {
            return Ok(());
        }
        if hosts.is_empty() {
            return Err(synth_error(format!(
                "no host asset for {} sensors",
                self.kind
            )));
        }
        let mut used = vec![0usize; hosts.len()];
        for i in 0..n {
            let h = (i as u128 * hosts.len() as u128 / n as u128) as usize;
            let k = used[h];
            used[h] += 1;
            let (id, spot) = hosts[h];
            let p = match spot {
                Spot::At(p) => p,
                Spot::In(r) if centre_first && k == 0 => r.centre(),
                Spot::In(r) => {
                    let (u, v) = r2(k + salt);
                    r.at(u, v, 1.5)
                }
            };
            self.write(out, id, p);
        }
        Ok(())
    }

    /// `n` sensors evenly spaced along `lines` (at `(i + phase) × spacing`), each on
    /// town land and attached to its line.
    fn along(
        &mut self,
        out: &mut Out,
        land: &Land,
        lines: &[LineAsset],
        n: usize,
        phase: f64,
    ) -> Result<(), LoadError> {
        if n == 0 {
            return Ok(());
        }
        let total: f64 = lines.iter().map(|l| l.line.length()).sum();
        if total <= 0.0 {
            return Err(synth_error(format!("no line for {} sensors", self.kind)));
        }
        let spacing = total / n as f64;
        let (mut li, mut start) = (0usize, 0.0);
        for i in 0..n {
            let s = (i as f64 + phase) * spacing;
            while li + 1 < lines.len() && s >= start + lines[li].line.length() {
                start += lines[li].line.length();
                li += 1;
            }
            let line = &lines[li].line;
            let local = s - start;
            // Nudge along the line off a town-land edge; else use an interior vertex.
            let p = [0.0, 1.0, -1.0, 4.0, -4.0, 16.0, -16.0]
                .iter()
                .map(|d| line.at(local + d))
                .find(|p| land.town_at(*p).is_some())
                .or_else(|| {
                    let mid = line.coords.get(line.coords.len() / 2).copied()?;
                    land.town_at(mid).map(|_| mid)
                })
                .ok_or_else(|| synth_error(format!("no place on {} for a sensor", lines[li].id)))?;
            self.write(out, &lines[li].id, p);
        }
        Ok(())
    }
}

/// Number of sensors of a type at `scale`.
pub(crate) fn count(base: f64, scale: f64) -> usize {
    (base * scale).round() as usize
}

/// Writes every sensor. Totals per type are exact: `round(base × scale)` (charger
/// power: one per charger).
pub(crate) fn sensors(
    land: &Land,
    net: &Network,
    places: &Places,
    stations: &[PointAsset],
    chargers: &[PointAsset],
    out: &mut Out,
    scale: f64,
) -> Result<(), LoadError> {
    let all_buildings: Vec<(&str, Spot)> = places
        .buildings
        .iter()
        .map(|b| (b.id.as_str(), Spot::In(b.rect)))
        .collect();
    let mut seat_buildings: Vec<(&str, Spot)> = places
        .buildings
        .iter()
        .filter(|b| b.seat)
        .map(|b| (b.id.as_str(), Spot::In(b.rect)))
        .collect();
    if seat_buildings.is_empty() {
        seat_buildings.clone_from(&all_buildings);
    }
    let fields: Vec<(&str, Spot)> = places
        .fields
        .iter()
        .map(|f| (f.id.as_str(), Spot::In(f.rect.grown(-8.0))))
        .collect();
    let lots: Vec<(&str, Spot)> = places
        .lots
        .iter()
        .map(|l| (l.id.as_str(), Spot::In(l.rect)))
        .collect();
    let points = |v: &[PointAsset]| -> Vec<(String, Spot)> {
        v.iter().map(|p| (p.id.clone(), Spot::At(p.p))).collect()
    };
    let station_hosts = points(stations);
    let station_hosts: Vec<(&str, Spot)> = station_hosts
        .iter()
        .map(|(id, s)| (id.as_str(), *s))
        .collect();
    let charger_hosts = points(chargers);
    let charger_hosts: Vec<(&str, Spot)> = charger_hosts
        .iter()
        .map(|(id, s)| (id.as_str(), *s))
        .collect();

    for (t, code, base) in PER_TYPE {
        let n = count(base, scale);
        let mut w = Writer::new(t.clone(), code);
        match t {
            SensorType::BuildingEnergy => w.spread(out, &all_buildings, n, 0, true)?,
            SensorType::Noise => w.spread(out, &seat_buildings, n, 101, false)?,
            SensorType::Pm25 => {
                let on_stations = n.min(station_hosts.len());
                w.spread(out, &station_hosts, on_stations, 0, false)?;
                let rest = n - on_stations;
                if all_buildings.is_empty() {
                    w.spread(out, &station_hosts, rest, 0, false)?;
                } else {
                    w.spread(out, &all_buildings, rest, 211, false)?;
                }
            }
            SensorType::SoilMoisture => w.spread(out, &fields, n, 0, false)?,
            SensorType::WaterLevel => w.along(out, land, &net.canals, n, 0.25)?,
            SensorType::WaterQuality => w.along(out, land, &net.canals, n, 0.75)?,
            SensorType::TrafficCounter => w.along(out, land, &net.roads, n, 0.5)?,
            SensorType::ParkingOccupancy => w.spread(out, &lots, n, 0, false)?,
            _ => {}
        }
    }
    let mut w = Writer::new(SensorType::ChargerPower, "CP");
    w.spread(out, &charger_hosts, charger_hosts.len(), 0, false)?;
    Ok(())
}
