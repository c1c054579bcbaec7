//! Incidents and work orders of the page's own twin, in the same JSON shape as
//! `twin serve` gives them (twin-core's `session::views`), so one dashboard panel reads
//! both. Steps are taken at the twin's clock under the name the page gives (`by`,
//! default `page`); the page is one person with every role, since nothing in a page
//! can hold a secret to prove otherwise.

use serde::Deserialize;
use serde_json::Value;
use tsify::Tsify;
use twin_core::session::views::{incident_at_json, incident_json, order_brief_json, order_json};
use twin_core::state::orders::{Action, OrderError, StepRequest};
use wasm_bindgen::prelude::*;

use crate::js::{JsResult, JsTwin, err, to_js};

#[wasm_bindgen(typescript_custom_section)]
const MANAGE_TYPES: &'static str = r#"
/** An incident (times in UTC ms), as `GET /api/v1/incidents` lists it. */
export interface Incident {
  id: number; family: string; state: "open" | "quiet" | "closed";
  severity: "info" | "warning" | "critical"; towns: string[];
  alerts: number; open_alerts: number; assets: number;
  start: number; peak: { at: number; open_alerts: number }; end: number | null;
  closed_at: number | null; reopened: number; order: number | null;
  /** In the detail only (getIncident): */
  footprint?: { type: "Polygon"; coordinates: [number, number][][] } | null;
  affected?: { kind: string; town: string | null; count: number }[];
  alert_ids?: number[]; asset_ids?: string[];
  /** In incidentsAt only: how it was then. */
  at?: { time: number; state: "open" | "quiet"; order_state: string | null; unit: string | null };
}
/** A work order, as `GET /api/v1/orders/{id}` shows it. */
export interface Order {
  id: number; incident: number; family: string; towns: string[]; severity: string;
  state: string; unit: { id: string; name: string; tier: number } | null;
  history: { at: number; by: string; action: string; from: string; to: string; unit: string | null; note: string }[];
  next: { action: string; role: "operator" | "admin" }[];
  /** In lists and on the stream: how many transitions there are in all. */
  history_len?: number;
  overdue: boolean; [more: string]: unknown;
}
"#;

/// The options of `stepOrder`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
#[tsify(rename = "StepOptions")]
pub struct StepOptions {
    /// Who takes the step (default `page`).
    #[serde(default)]
    #[tsify(optional)]
    pub by: Option<String>,
    /// The unit, for dispatch and reassign.
    #[serde(default)]
    #[tsify(optional)]
    pub unit: Option<String>,
    /// Why, or what was done.
    #[serde(default)]
    #[tsify(optional)]
    pub note: Option<String>,
}

/// `live` (default), `closed` or `all`.
fn which(state: Option<String>) -> JsResult<(bool, bool)> {
    match state.as_deref().unwrap_or("live") {
        "live" => Ok((true, false)),
        "closed" => Ok((false, true)),
        "all" => Ok((true, true)),
        other => Err(err(format!("state: `{other}` is not live, closed or all"))),
    }
}

fn id_of(x: f64, what: &str) -> JsResult<u64> {
    if x.is_finite() && x >= 1.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_991.0 {
        Ok(x as u64)
    } else {
        Err(err(format!("{what} must be a whole number ≥ 1, got {x}")))
    }
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// The incidents (`state`: `live`, the default, `closed` or `all`), newest first.
    #[wasm_bindgen(js_name = listIncidents, unchecked_return_type = "Incident[]")]
    pub fn list_incidents(&self, state: Option<String>) -> JsResult<JsValue> {
        let (live, closed) = which(state)?;
        let e = self.engine.borrow();
        let s = &e.session;
        let book = s.incidents();
        let mut list: Vec<_> = Vec::new();
        if live {
            list.extend(book.live());
        }
        if closed {
            list.extend(book.closed());
        }
        list.sort_by_key(|i| std::cmp::Reverse(i.id));
        let out: Vec<Value> = list.iter().map(|i| incident_json(s, i, false)).collect();
        to_js(&out)
    }

    /// The incidents open or quiet at `atMs` (UTC ms), newest first, each with `at`:
    /// whether it was open or quiet then, and its order's state and unit then (what a
    /// replay shows).
    #[wasm_bindgen(js_name = incidentsAt, unchecked_return_type = "Incident[]")]
    pub fn incidents_at(&self, #[wasm_bindgen(js_name = atMs)] at_ms: f64) -> JsResult<JsValue> {
        let t = twin_core::Timestamp::from_millis(crate::js::ms(at_ms, "atMs")?);
        let e = self.engine.borrow();
        let s = &e.session;
        let out: Vec<Value> = s
            .incidents()
            .open_at(t)
            .into_iter()
            .map(|i| incident_at_json(s, i, t))
            .collect();
        to_js(&out)
    }

    /// One incident with its footprint (GeoJSON, WGS84), the assets it covers by kind
    /// and town, and its alerts' and assets' ids. Throws for an unknown number.
    #[wasm_bindgen(js_name = getIncident, unchecked_return_type = "Incident")]
    pub fn get_incident(&self, id: f64) -> JsResult<JsValue> {
        let id = id_of(id, "incident id")?;
        let e = self.engine.borrow();
        let s = &e.session;
        let i = s
            .incidents()
            .get(id)
            .ok_or_else(|| err(format!("no incident {id}")))?;
        to_js(&incident_json(s, i, true))
    }

    /// The work orders (`state`: `live`, the default, `closed` or `all`), newest first,
    /// each with its last 20 transitions (`history_len` counts all; `getOrder` gives
    /// the whole history).
    #[wasm_bindgen(js_name = listOrders, unchecked_return_type = "Order[]")]
    pub fn list_orders(&self, state: Option<String>) -> JsResult<JsValue> {
        let (live, closed) = which(state)?;
        let e = self.engine.borrow();
        let book = e.session.orders();
        let mut list: Vec<_> = Vec::new();
        if live {
            list.extend(book.live());
        }
        if closed {
            list.extend(book.closed());
        }
        list.sort_by_key(|o| std::cmp::Reverse(o.id));
        let out: Vec<Value> = list.iter().map(|o| order_brief_json(o)).collect();
        to_js(&out)
    }

    /// One order with its whole history. Throws for an unknown number.
    #[wasm_bindgen(js_name = getOrder, unchecked_return_type = "Order")]
    pub fn get_order(&self, id: f64) -> JsResult<JsValue> {
        let id = id_of(id, "order id")?;
        let e = self.engine.borrow();
        let o = e
            .session
            .orders()
            .get(id)
            .ok_or_else(|| err(format!("no order {id}")))?;
        to_js(&order_json(o))
    }

    /// Takes a step on an order at the twin's clock (`dispatch`, `accept`, `arrive`,
    /// `resolve`, `verify`, `close`, `reassign`, `reopen`): the order after it. Throws
    /// with the lifecycle's reason for an illegal step, which changes nothing.
    #[wasm_bindgen(js_name = stepOrder, unchecked_return_type = "Order")]
    pub fn step_order(
        &mut self,
        id: f64,
        action: &str,
        #[wasm_bindgen(unchecked_param_type = "StepOptions | undefined")] options: JsValue,
    ) -> JsResult<JsValue> {
        let id = id_of(id, "order id")?;
        let options: StepOptions = if options.is_undefined() || options.is_null() {
            StepOptions::default()
        } else {
            let text = js_sys::JSON::stringify(&options)
                .map_err(|_| err("options: not a plain object".into()))?
                .as_string()
                .unwrap_or_default();
            serde_json::from_str(&text).map_err(|e| err(format!("options: {e}")))?
        };
        let action = Action::parse(action)
            .filter(|a| *a != Action::Escalate)
            .ok_or_else(|| err(format!("no step `{action}` a person can take")))?;
        let out = {
            let mut e = self.engine.borrow_mut();
            let request = StepRequest {
                action,
                by: options.by.as_deref().unwrap_or("page"),
                unit: options.unit.as_deref(),
                note: options.note.as_deref().unwrap_or(""),
            };
            match e.session.act_on_order(id, &request) {
                Ok(_) => Ok(e.session.orders().get(id).map(order_json)),
                Err(OrderError::Unknown(_)) => Err(err(format!("no order {id}"))),
                Err(x) => Err(err(x.to_string())),
            }
        }?;
        self.deliver()?;
        to_js(&out)
    }
}
