//! The standard overlay of the built-in sensor channels: how the viewer, `twin render
//! --overlay` and the web dashboard colour live state unless told otherwise.
//!
//! Ramps run from calm to alarming over each channel's plausible range (the simulator's
//! daily patterns and the default alert thresholds of `assets/rules/chongming.json`):
//! water level 1.5–3.3 m (the critical alert), PM2.5 by China's AQI breakpoints (35, 75,
//! 115 µg/m³), noise 40–80 dB(A), soil moisture dry to wet, traffic 0–60 vehicles/min,
//! parking free/occupied, chargers idle/charging/fault, building energy 0–60 kWh/h, room
//! temperature 16–28 °C (comfort at 22), CO₂ by the usual indoor-air bands (800, 1000 —
//! the `co2-high` alert — and 1500 ppm).
//! Sensors silent for two minutes turn grey.

use super::channels::StandardChannels;
use twin_core::AssetKind;
use twin_core::KindFilter;
use twin_core::SensorType;
use twin_core::state::{Layer, Rgba, Style};

const STALE: Rgba = Rgba::rgb(128, 128, 128);
const GREEN: Rgba = Rgba::rgb(46, 160, 67);
const YELLOW: Rgba = Rgba::rgb(240, 200, 40);
const ORANGE: Rgba = Rgba::rgb(245, 130, 30);
const RED: Rgba = Rgba::rgb(215, 25, 28);

fn sensor(t: SensorType) -> KindFilter {
    KindFilter::Is(AssetKind::Sensor(t))
}

fn ramp(stops: &[(f64, Rgba)]) -> Style {
    Style::Ramp(stops.to_vec())
}

fn layer(
    name: &str,
    kinds: KindFilter,
    channel: twin_core::state::ChannelId,
    style: Style,
) -> Layer {
    Layer {
        name: name.to_string(),
        kinds,
        channel,
        style,
        stale_after_ms: Some(120_000),
        stale: STALE,
        no_data: Rgba::NONE,
    }
}

/// The standard layers, one per sensor type, reading the standard channels.
pub fn standard_layers(ch: &StandardChannels) -> Vec<Layer> {
    vec![
        layer(
            "water level",
            sensor(SensorType::WaterLevel),
            ch.level,
            ramp(&[(1.5, Rgba::rgb(40, 110, 220)), (2.8, YELLOW), (3.3, RED)]),
        ),
        layer(
            "water quality",
            sensor(SensorType::WaterQuality),
            ch.wqi,
            ramp(&[(40.0, RED), (60.0, YELLOW), (80.0, GREEN)]),
        ),
        layer(
            "air quality",
            sensor(SensorType::Pm25),
            ch.pm25,
            Style::Thresholds {
                breaks: vec![35.0, 75.0, 115.0],
                colors: vec![GREEN, YELLOW, ORANGE, RED],
            },
        ),
        layer(
            "noise",
            sensor(SensorType::Noise),
            ch.noise,
            ramp(&[(40.0, GREEN), (60.0, YELLOW), (80.0, RED)]),
        ),
        layer(
            "soil moisture",
            sensor(SensorType::SoilMoisture),
            ch.moisture,
            ramp(&[
                (10.0, Rgba::rgb(170, 110, 40)),
                (30.0, YELLOW),
                (50.0, Rgba::rgb(30, 120, 200)),
            ]),
        ),
        layer(
            "traffic",
            sensor(SensorType::TrafficCounter),
            ch.vehicles,
            ramp(&[(0.0, GREEN), (30.0, YELLOW), (60.0, RED)]),
        ),
        layer(
            "parking",
            sensor(SensorType::ParkingOccupancy),
            ch.occupied,
            Style::Categories {
                map: vec![(0.0, GREEN), (1.0, RED)],
                other: STALE,
            },
        ),
        layer(
            "chargers",
            sensor(SensorType::ChargerPower),
            ch.charger,
            Style::Categories {
                map: vec![(0.0, Rgba::rgb(150, 150, 150)), (1.0, GREEN), (2.0, RED)],
                other: STALE,
            },
        ),
        layer(
            "building energy",
            sensor(SensorType::BuildingEnergy),
            ch.energy,
            ramp(&[(0.0, Rgba::rgb(255, 245, 200)), (20.0, ORANGE), (60.0, RED)]),
        ),
        layer(
            "room temperature",
            sensor(SensorType::RoomTemperature),
            ch.temperature,
            ramp(&[(16.0, Rgba::rgb(40, 110, 220)), (22.0, GREEN), (28.0, RED)]),
        ),
        layer(
            "co2",
            sensor(SensorType::Co2),
            ch.co2,
            Style::Thresholds {
                breaks: vec![800.0, 1000.0, 1500.0],
                colors: vec![GREEN, YELLOW, ORANGE, RED],
            },
        ),
    ]
}
