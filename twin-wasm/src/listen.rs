//! Callbacks of the JS `Twin`: alert events (`onAlert`) and the vital-signs table
//! (`onVitalSigns`), delivered after the call that caused them, with no borrow of the
//! engine held while page code runs.
//!
//! Vital signs change with nearly every sample (means move), so their listeners are
//! paced by the twin's clock: a listener gets the whole table when it differs from the
//! last one delivered and at least `everyMs` of twin time has passed since then
//! (`everyMs` 0: after every call that changed it). A change inside the interval
//! reaches listeners with the first call after it (apply, tick, simulate,
//! acknowledge), so a page that stops sending data calls `tick` to flush.

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::js::{JsResult, JsTwin, err, ms, to_js};

/// The listeners of one twin.
#[derive(Default)]
pub(crate) struct Listeners {
    alerts: Vec<Function>,
    vitals: Vec<Function>,
    /// Least twin time between two vital-signs deliveries.
    vitals_every_ms: i64,
    /// The clock and the JSON of the last table delivered.
    vitals_last: Option<(i64, String)>,
}

/// Logs a listener's exception on `console.error` (the twin has applied the data).
fn report_listener_error(what: &str, e: &JsValue) {
    let console = Reflect::get(&js_sys::global(), &JsValue::from_str("console")).ok();
    let error = console
        .as_ref()
        .and_then(|c| Reflect::get(c, &JsValue::from_str("error")).ok());
    if let (Some(c), Some(f)) = (console, error.and_then(|f| f.dyn_into::<Function>().ok())) {
        let _ = f.call2(
            &c,
            &JsValue::from_str(&format!("twin: {what} listener threw")),
            e,
        );
    }
}

impl JsTwin {
    /// Delivers pending alert events, then the vital-signs table when it is due.
    pub(crate) fn deliver(&mut self) -> JsResult<()> {
        // Taken first: listeners may call the twin again.
        let events = self.engine.borrow_mut().take_events();
        for e in events {
            let v = to_js(&e)?;
            for f in &self.listeners.alerts {
                if let Err(x) = f.call1(&JsValue::NULL, &v) {
                    report_listener_error("onAlert", &x);
                }
            }
        }
        if self.listeners.vitals.is_empty() {
            return Ok(());
        }
        let (now, rows) = {
            let engine = self.engine.borrow();
            let now = engine.now_ms();
            let l = &self.listeners;
            if let Some((last, _)) = &l.vitals_last
                && now.saturating_sub(*last) < l.vitals_every_ms
            {
                return Ok(());
            }
            (now, engine.vital_signs())
        };
        let text = serde_json::to_string(&rows).map_err(|e| err(e.to_string()))?;
        if self.listeners.vitals_last.as_ref().map(|(_, t)| t) == Some(&text) {
            return Ok(());
        }
        let v = js_sys::JSON::parse(&text)
            .map_err(|_| err("internal: JSON.parse refused the vital signs".into()))?;
        self.listeners.vitals_last = Some((now, text));
        // Cloned: a listener may add or remove listeners.
        for f in self.listeners.vitals.clone() {
            if let Err(x) = f.call1(&JsValue::NULL, &v) {
                report_listener_error("onVitalSigns", &x);
            }
        }
        Ok(())
    }
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// Calls `callback(event)` for every alert raised, acknowledged or cleared from now
    /// on, after the call that caused it (apply, tick, simulate, acknowledge). A
    /// listener's exception is logged and does not undo anything.
    #[wasm_bindgen(js_name = onAlert)]
    pub fn on_alert(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "(event: AlertEvent) => void")] callback: Function,
    ) {
        self.engine.borrow_mut().listening = true;
        self.listeners.alerts.push(callback);
    }

    /// Removes every `onAlert` listener.
    #[wasm_bindgen(js_name = clearAlertListeners)]
    pub fn clear_alert_listeners(&mut self) {
        self.listeners.alerts.clear();
        let mut engine = self.engine.borrow_mut();
        engine.listening = false;
        engine.take_events();
    }

    /// Calls `callback(rows)` with the vital-signs table (as `vitalSigns()`) now, and
    /// from then on whenever it has changed, at most once per `everyMs` of the twin's
    /// clock (default 1000; 0 for every change), after the call that changed it. All
    /// listeners share the pace of the last call. A listener's exception is logged.
    #[wasm_bindgen(js_name = onVitalSigns)]
    pub fn on_vital_signs(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "(rows: VitalRow[]) => void")] callback: Function,
        #[wasm_bindgen(js_name = everyMs)] every_ms: Option<f64>,
    ) -> JsResult<()> {
        let every = ms(every_ms.unwrap_or(1000.0), "everyMs")?;
        if every < 0 {
            return Err(err(format!("everyMs must be ≥ 0, got {every}")));
        }
        self.listeners.vitals_every_ms = every;
        self.listeners.vitals.push(callback);
        // The new listener gets the table at once; the others get it again too.
        self.listeners.vitals_last = None;
        self.deliver()
    }

    /// Removes every `onVitalSigns` listener.
    #[wasm_bindgen(js_name = clearVitalSignsListeners)]
    pub fn clear_vital_signs_listeners(&mut self) {
        self.listeners.vitals.clear();
        self.listeners.vitals_last = None;
    }
}
