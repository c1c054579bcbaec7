//! A few attributes read straight from the STEP text: the IfcSite's reference point
//! and the model context's TrueNorth. ifc-lite reports the site's latitude and
//! longitude only when the file has no IfcMapConversion (Revit files often have both)
//! and leaves TrueNorth out, so twin reads these three entities itself: a lookup of
//! an entity by number and a split of its attributes, nothing more.

use std::collections::HashMap;

/// Entities by number: their type (upper case) and attribute text (between the outer
/// parentheses), for the types asked for and whatever they refer to on request.
pub(crate) struct StepText<'a> {
    text: &'a str,
    /// `#n` → byte offset of its `#`.
    at: HashMap<u32, usize>,
}

impl<'a> StepText<'a> {
    /// Indexes every entity of the DATA section (strings and comments skipped).
    pub(crate) fn new(text: &'a str) -> StepText<'a> {
        let b = text.as_bytes();
        let mut at = HashMap::new();
        let mut i = text.find("DATA;").unwrap_or(0);
        let mut in_entity = false;
        while i < b.len() {
            match b[i] {
                b'\'' => {
                    i += 1;
                    while i < b.len() {
                        if b[i] == b'\'' {
                            if b.get(i + 1) == Some(&b'\'') {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                }
                b'#' if !in_entity => {
                    let s = i + 1;
                    let mut e = s;
                    while e < b.len() && b[e].is_ascii_digit() {
                        e += 1;
                    }
                    if let Ok(id) = text[s..e].parse::<u32>() {
                        at.insert(id, i);
                    }
                    in_entity = true;
                    i = e;
                }
                b';' => {
                    in_entity = false;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        StepText { text, at }
    }

    /// `#id`'s type (upper case) and its attributes, split at the top level.
    pub(crate) fn entity(&self, id: u32) -> Option<(String, Vec<&'a str>)> {
        let start = *self.at.get(&id)?;
        let rest = &self.text[start..];
        let eq = rest.find('=')?;
        let open = eq + rest[eq..].find('(')?;
        let ty = rest[eq + 1..open].trim().to_ascii_uppercase();
        Some((ty, split_args(&rest[open + 1..])))
    }

    /// The numbers of every entity of type `ty` (upper case), in file order.
    pub(crate) fn of_type(&self, ty: &str) -> Vec<u32> {
        let mut out: Vec<(usize, u32)> = self
            .at
            .iter()
            .filter(|(id, _)| self.entity(**id).is_some_and(|(t, _)| t == ty))
            .map(|(id, at)| (*at, *id))
            .collect();
        out.sort_unstable();
        out.into_iter().map(|(_, id)| id).collect()
    }
}

/// The top-level attributes of `args` (the text after an entity's opening
/// parenthesis), up to its closing one: commas inside strings and nested lists do
/// not split.
pub(crate) fn split_args(args: &str) -> Vec<&str> {
    let b = args.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\'' => {
                i += 1;
                while i < b.len() && !(b[i] == b'\'' && b.get(i + 1) != Some(&b'\'')) {
                    i += if b[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'(' => depth += 1,
            b')' if depth == 0 => {
                out.push(args[start..i].trim());
                return out;
            }
            b')' => depth -= 1,
            b',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            b';' => break,
            _ => {}
        }
        i += 1;
    }
    out
}

/// The numbers of a list attribute `(a,b,c)`.
pub(crate) fn numbers(list: &str) -> Option<Vec<f64>> {
    let inner = list.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(|v| v.trim().parse::<f64>().ok())
        .collect()
}

/// The first IfcSite's RefLatitude and RefLongitude (compound angles: degrees,
/// minutes, seconds, millionths of a second, each carrying the sign) in degrees, and
/// RefElevation in the file's length unit.
pub(crate) fn site_reference(step: &StepText<'_>) -> Option<(f64, f64, f64)> {
    let site = *step.of_type("IFCSITE").first()?;
    let (_, args) = step.entity(site)?;
    let angle = |a: &str| {
        let parts = numbers(a)?;
        let scale = [1.0, 60.0, 3600.0, 3.6e9];
        (!parts.is_empty()).then(|| parts.iter().zip(scale).map(|(p, s)| p / s).sum::<f64>())
    };
    let lat = angle(args.get(9)?)?;
    let lon = angle(args.get(10)?)?;
    let elevation = args
        .get(11)
        .and_then(|e| e.parse::<f64>().ok())
        .unwrap_or(0.0);
    Some((lat, lon, elevation))
}

/// The TrueNorth (x, y) of the first IfcGeometricRepresentationContext that has one.
pub(crate) fn true_north(step: &StepText<'_>) -> Option<(f64, f64)> {
    for ctx in step.of_type("IFCGEOMETRICREPRESENTATIONCONTEXT") {
        let Some((_, args)) = step.entity(ctx) else {
            continue;
        };
        let Some(id) = args
            .get(5)
            .and_then(|a| a.strip_prefix('#'))
            .and_then(|a| a.trim().parse::<u32>().ok())
        else {
            continue;
        };
        let (ty, dir) = step.entity(id)?;
        if ty != "IFCDIRECTION" {
            return None;
        }
        let v = numbers(dir.first()?)?;
        return Some((*v.first()?, *v.get(1)?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "ISO-10303-21;HEADER;ENDSEC;DATA;\n\
        #1 = IFCDIRECTION((0.766044443119,0.642787609687));\n\
        #2=IfcGeometricRepresentationSubContext('Body','Model',*,*,*,*,#3,$,.MODEL_VIEW.,$);\n\
        #3= IFCGEOMETRICREPRESENTATIONCONTEXT('a, b (c)','Model',3,1.E-05,#9,#1);\n\
        #4=IFCSITE('0KMpiAlnb52RgQuM1CwVfd',#5,'Gel\\X2\\00E4\\X0\\nde',$,'',#6,#7,'',.ELEMENT.,(49,6,1,566000),(8,26,11,540400),110.,$,$);\n\
        ENDSEC;END-ISO-10303-21;";

    #[test]
    fn site_and_true_north_are_read_from_the_text() {
        let step = StepText::new(FILE);
        let (lat, lon, h) = site_reference(&step).unwrap();
        assert!((lat - 49.100435).abs() < 1e-6 && (lon - 8.436539).abs() < 1e-6 && h == 110.0);
        assert_eq!(true_north(&step), Some((0.766044443119, 0.642787609687)));
        assert_eq!(
            split_args("'x,y',(1,2),#3);#4=X(5);"),
            vec!["'x,y'", "(1,2)", "#3"]
        );
    }
}
