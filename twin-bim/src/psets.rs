//! Property sets as a user of the model expects them — what IfcOpenShell's
//! `util.element.get_psets(element)` gives, which is what BIM tools show: the
//! element's own property sets, merged over those of its type (IfcRelDefinesByType →
//! the type's HasPropertySets; the occurrence's value wins where both name a
//! property), and the **predefined property sets** (IfcDoorLiningProperties,
//! IfcDoorPanelProperties, IfcWindowLiningProperties, IfcWindowPanelProperties,
//! IfcPermeableCoveringProperties), whose values are the entity's own attributes
//! rather than IfcProperty objects. Every property becomes `SetName.Property`.
//!
//! ifc-lite reads IfcPropertySets and their relations; types and predefined sets are
//! read from the STEP text ([`StepText`]).

use std::collections::HashMap;

use ifc_lite_processing::data_model::{DataModel, PropertySet};
use twin_core::PropValue;

use crate::step::{self, StepText};

/// The attributes of each predefined property set after IfcPropertySetDefinition's
/// four (GlobalId, OwnerHistory, Name, Description), in schema order. IFC4 appended
/// attributes to the lining sets; an IFC2X3 file simply has fewer.
const PREDEFINED: &[(&str, &[&str])] = &[
    (
        "IFCDOORLININGPROPERTIES",
        &[
            "LiningDepth",
            "LiningThickness",
            "ThresholdDepth",
            "ThresholdThickness",
            "TransomThickness",
            "TransomOffset",
            "LiningOffset",
            "ThresholdOffset",
            "CasingThickness",
            "CasingDepth",
            "ShapeAspectStyle",
            "LiningToPanelOffsetX",
            "LiningToPanelOffsetY",
        ],
    ),
    (
        "IFCDOORPANELPROPERTIES",
        &[
            "PanelDepth",
            "PanelOperation",
            "PanelWidth",
            "PanelPosition",
            "ShapeAspectStyle",
        ],
    ),
    (
        "IFCWINDOWLININGPROPERTIES",
        &[
            "LiningDepth",
            "LiningThickness",
            "TransomThickness",
            "MullionThickness",
            "FirstTransomOffset",
            "SecondTransomOffset",
            "FirstMullionOffset",
            "SecondMullionOffset",
            "ShapeAspectStyle",
            "LiningOffset",
            "LiningToPanelOffsetX",
            "LiningToPanelOffsetY",
        ],
    ),
    (
        "IFCWINDOWPANELPROPERTIES",
        &[
            "OperationType",
            "PanelPosition",
            "FrameDepth",
            "FrameThickness",
            "ShapeAspectStyle",
        ],
    ),
    (
        "IFCPERMEABLECOVERINGPROPERTIES",
        &[
            "OperationType",
            "PanelPosition",
            "FrameDepth",
            "FrameThickness",
            "ShapeAspectStyle",
        ],
    ),
];

/// Most property values held for a model's elements together: a set shared by many
/// elements (a type's, or one related to all) is copied to each, so a small file could
/// otherwise ask for more memory than the machine has (20 million values are a few
/// gigabytes of strings).
pub(crate) const MAX_PROPERTY_VALUES: usize = 20_000_000;

/// One property set: its name and its values in order.
type Set = (String, Vec<(String, PropValue)>);

/// `SetName.Property` → value for every element with property sets, its type's first
/// and its own over them; refused past [`MAX_PROPERTY_VALUES`].
pub(crate) fn properties_by_element(
    data: &DataModel,
    step: &StepText<'_>,
) -> Result<HashMap<u32, Vec<(String, PropValue)>>, String> {
    let mut held = 0usize;
    let mut hold = |n: usize| {
        held += n;
        if held > MAX_PROPERTY_VALUES {
            Err(format!(
                "its property sets give its elements more than {MAX_PROPERTY_VALUES} property values together"
            ))
        } else {
            Ok(())
        }
    };
    let sets: HashMap<u32, &PropertySet> =
        data.property_sets.iter().map(|p| (p.pset_id, p)).collect();
    let set = |id: u32| -> Option<Set> {
        match sets.get(&id) {
            Some(s) => Some((
                s.pset_name.clone(),
                s.properties
                    .iter()
                    .map(|p| {
                        (
                            p.property_name.clone(),
                            value(&p.property_type, &p.property_value),
                        )
                    })
                    .collect(),
            )),
            None => predefined(step, id),
        }
    };
    let mut by_element: HashMap<u32, Vec<Set>> = HashMap::new();
    // The type's sets first, so that the occurrence's own are merged over them.
    for rel in step.of_type("IFCRELDEFINESBYTYPE") {
        let Some((_, args)) = step.entity(rel) else {
            continue;
        };
        let (Some(related), Some(ty)) = (args.get(4), step::reference(args.get(5).copied())) else {
            continue;
        };
        // IfcTypeObject: GlobalId, OwnerHistory, Name, Description, ApplicableOccurrence,
        // HasPropertySets.
        let Some(type_sets) = step
            .entity(ty)
            .and_then(|(_, a)| a.get(5).map(|s| references(s)))
        else {
            continue;
        };
        let type_sets: Vec<Set> = type_sets.into_iter().filter_map(set).collect();
        if type_sets.is_empty() {
            continue;
        }
        let values: usize = type_sets.iter().map(|(_, p)| p.len()).sum();
        for e in references(related) {
            hold(values)?;
            by_element
                .entry(e)
                .or_default()
                .extend(type_sets.iter().cloned());
        }
    }
    for r in &data.relationships {
        if !r.rel_type.eq_ignore_ascii_case("IfcRelDefinesByProperties") {
            continue;
        }
        if let Some(s) = set(r.relating_id) {
            hold(s.1.len())?;
            by_element.entry(r.related_id).or_default().push(s);
        }
    }
    Ok(by_element
        .into_iter()
        .map(|(e, sets)| (e, flatten(sets)))
        .collect())
}

/// The sets as `SetName.Property` pairs in order, a later value of the same key
/// replacing the earlier one where it stood.
fn flatten(sets: Vec<Set>) -> Vec<(String, PropValue)> {
    let mut out: Vec<(String, PropValue)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (name, props) in sets {
        for (p, v) in props {
            let key = format!("{name}.{p}");
            match at.get(&key) {
                Some(&i) => out[i].1 = v,
                None => {
                    at.insert(key.clone(), out.len());
                    out.push((key, v));
                }
            }
        }
    }
    out
}

/// A predefined property set's name and its attributes that have a value (numbers,
/// enumerations as their names, text; references and unset ones left out).
fn predefined(step: &StepText<'_>, id: u32) -> Option<Set> {
    let (ty, args) = step.entity(id)?;
    let (_, names) = PREDEFINED.iter().find(|(t, _)| *t == ty)?;
    let name = args.get(2).map_or_else(String::new, |n| text(n));
    let mut props = Vec::new();
    for (attr, raw) in names.iter().zip(args.iter().skip(4)) {
        let raw = raw.trim();
        let v = if raw == "$" || raw == "*" || raw.starts_with('#') || raw.starts_with('(') {
            continue;
        } else if let Some(e) = raw.strip_prefix('.').and_then(|r| r.strip_suffix('.')) {
            match e {
                "T" => PropValue::Bool(true),
                "F" => PropValue::Bool(false),
                _ => PropValue::Str(e.to_string()),
            }
        } else if raw.starts_with('\'') {
            PropValue::Str(text(raw))
        } else {
            match raw.parse::<f64>() {
                Ok(x) if x.is_finite() => PropValue::Num(x),
                _ => continue,
            }
        };
        props.push((attr.to_string(), v));
    }
    Some((name, props))
}

/// A STEP string's text (`'…'`, escapes decoded); `$` is empty.
fn text(raw: &str) -> String {
    step::decode(&step::string(raw))
}

/// The references of a list attribute `(#1,#2)`.
fn references(list: &str) -> Vec<u32> {
    list.trim()
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .filter_map(|r| step::reference(Some(r.trim())))
                .collect()
        })
        .unwrap_or_default()
}

/// A property's value as twin holds it: numbers, booleans, else text.
pub(crate) fn value(ty: &str, text: &str) -> PropValue {
    match ty.to_ascii_lowercase().as_str() {
        "real" | "integer" | "number" | "float" | "double" => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map_or_else(|| PropValue::Str(text.to_string()), PropValue::Num),
        "boolean" | "logical" | "bool" => match text.to_ascii_lowercase().as_str() {
            "true" | ".t." | "1" => PropValue::Bool(true),
            "false" | ".f." | "0" => PropValue::Bool(false),
            _ => PropValue::Str(text.to_string()),
        },
        _ => PropValue::Str(text.to_string()),
    }
}
