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
        // The DATA section after the header's ENDSEC (a header string may say "DATA;").
        let after_header = text.find("ENDSEC;").map_or(0, |e| e + 7);
        let mut i = text[after_header..]
            .find("DATA;")
            .map_or(0, |d| after_header + d);
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
        // The type is compared where it stands: splitting every entity's attributes
        // to learn its type cost a large model seconds.
        let is = |at: usize| {
            let rest = &self.text[at..];
            rest.find('=').is_some_and(|eq| {
                let after = &rest[eq + 1..];
                let after = after.trim_start();
                after.len() > ty.len()
                    && after.as_bytes()[..ty.len()].eq_ignore_ascii_case(ty.as_bytes())
                    && matches!(
                        after.as_bytes()[ty.len()],
                        b'(' | b' ' | b'\t' | b'\r' | b'\n'
                    )
            })
        };
        let mut out: Vec<(usize, u32)> = self
            .at
            .iter()
            .filter(|(_, at)| is(**at))
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

/// An IfcMapConversion as the file writes it (IFC4 and later): local engineering
/// coordinates to the map coordinates of its target IfcProjectedCRS.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MapConversionText {
    /// Eastings, northings and orthogonal height of the local origin (map units).
    pub eastings: f64,
    pub northings: f64,
    pub height: f64,
    /// The local x axis in map axes (not necessarily unit length).
    pub abscissa: f64,
    pub ordinate: f64,
    /// Local ordinate × scale = map ordinate.
    pub scale: f64,
    /// IfcMapConversionScaled's FactorX, FactorY, FactorZ (else 1).
    pub factors: [f64; 3],
    /// IfcProjectedCRS.Name, e.g. `EPSG:4549` (may be empty).
    pub crs_name: String,
    /// Metres per map unit, when the projected CRS names its MapUnit.
    pub map_unit: Option<f64>,
}

/// The first IfcMapConversion (or IfcMapConversionScaled). `Err` names what is wrong
/// with one that is there.
pub(crate) fn map_conversion(step: &StepText<'_>) -> Result<Option<MapConversionText>, String> {
    let ids: Vec<u32> = ["IFCMAPCONVERSION", "IFCMAPCONVERSIONSCALED"]
        .iter()
        .flat_map(|t| step.of_type(t))
        .collect();
    let Some(&id) = ids.iter().min() else {
        return Ok(None);
    };
    let (ty, args) = step
        .entity(id)
        .ok_or_else(|| format!("#{id} cannot be read"))?;
    let num = |i: usize, default: f64, what: &str| -> Result<f64, String> {
        match args.get(i).copied() {
            None | Some("$") => Ok(default),
            Some(t) => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("#{id}={ty}: {what} `{t}` is not a number")),
        }
    };
    let mut conv = MapConversionText {
        eastings: num(2, 0.0, "Eastings")?,
        northings: num(3, 0.0, "Northings")?,
        height: num(4, 0.0, "OrthogonalHeight")?,
        abscissa: num(5, 1.0, "XAxisAbscissa")?,
        ordinate: num(6, 0.0, "XAxisOrdinate")?,
        scale: num(7, 1.0, "Scale")?,
        factors: [1.0; 3],
        crs_name: String::new(),
        map_unit: None,
    };
    if ty == "IFCMAPCONVERSIONSCALED" {
        conv.factors = [
            num(8, 1.0, "FactorX")?,
            num(9, 1.0, "FactorY")?,
            num(10, 1.0, "FactorZ")?,
        ];
    }
    if conv.abscissa == 0.0 && conv.ordinate == 0.0 {
        (conv.abscissa, conv.ordinate) = (1.0, 0.0);
    }
    if conv.scale == 0.0 || conv.factors.contains(&0.0) {
        return Err(format!("#{id}={ty}: a scale of 0"));
    }
    let target = reference(args.get(1).copied())
        .ok_or_else(|| format!("#{id}={ty}: its TargetCRS is not a reference"))?;
    let (crs_ty, crs) = step
        .entity(target)
        .ok_or_else(|| format!("#{id}={ty}: its TargetCRS #{target} is not in the file"))?;
    if crs_ty != "IFCPROJECTEDCRS" {
        return Err(format!(
            "#{id}={ty}: its TargetCRS #{target} is an {crs_ty}, not an IfcProjectedCRS"
        ));
    }
    conv.crs_name = crs.first().map(|n| string(n)).unwrap_or_default();
    if let Some(unit) = reference(crs.get(6).copied()) {
        conv.map_unit = Some(
            length_unit(step, unit)
                .map_err(|e| format!("#{target}=IFCPROJECTEDCRS: its MapUnit #{unit}: {e}"))?,
        );
    }
    Ok(Some(conv))
}

/// The LongName of a spatial element (IfcSite, IfcBuilding, IfcBuildingStorey,
/// IfcSpace and the other IfcSpatialElements: attribute 8), decoded; `None` when
/// unset or empty.
pub(crate) fn long_name(step: &StepText<'_>, id: u32, class: &str) -> Option<String> {
    const SPATIAL: [&str; 8] = [
        "IfcSite",
        "IfcBuilding",
        "IfcBuildingStorey",
        "IfcSpace",
        "IfcFacility",
        "IfcFacilityPart",
        "IfcSpatialZone",
        "IfcExternalSpatialElement",
    ];
    if !SPATIAL.contains(&class) {
        return None;
    }
    let (_, args) = step.entity(id)?;
    let text = decode(&string(args.get(7)?));
    (!text.trim().is_empty()).then_some(text)
}

/// STEP string escapes to text: `\X2\00E4\X0\` (UTF-16 hex) → ä, `\X\E4` (ISO
/// 8859-1) → ä, `\S\d` → ä (the upper half of 8859-1), `\\` → `\`. Anything else
/// is kept as written.
pub(crate) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(body) = rest.strip_prefix("\\X2\\") {
            let end = body.find("\\X0\\").unwrap_or(body.len());
            let units: Vec<u16> = body.as_bytes()[..end]
                .chunks(4)
                .filter_map(|c| u16::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
                .collect();
            out.push_str(&String::from_utf16_lossy(&units));
            rest = body.get(end + 4..).unwrap_or("");
        } else if let Some(body) = rest.strip_prefix("\\X\\")
            && let Some(b) = body.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(char::from(b));
            rest = &body[2..];
        } else if let Some(body) = rest.strip_prefix("\\S\\")
            && let Some(c) = body.chars().next()
            && c.is_ascii()
        {
            out.push(char::from(c as u8 + 128));
            rest = &body[1..];
        } else if let Some(body) = rest.strip_prefix("\\\\") {
            out.push('\\');
            rest = body;
        } else {
            out.push('\\');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// `#n` → n.
pub(crate) fn reference(arg: Option<&str>) -> Option<u32> {
    arg?.strip_prefix('#')?.trim().parse().ok()
}

/// A STEP string's text (`'EPSG:4549'` → `EPSG:4549`; `''` inside → `'`).
pub(crate) fn string(arg: &str) -> String {
    arg.trim()
        .strip_prefix('\'')
        .and_then(|a| a.strip_suffix('\''))
        .map_or_else(String::new, |a| a.replace("''", "'"))
}

/// Metres per unit of a length unit: an IfcSIUnit (METRE with its prefix) or an
/// IfcConversionBasedUnit (its IfcMeasureWithUnit's value times that unit).
fn length_unit(step: &StepText<'_>, id: u32) -> Result<f64, String> {
    let (ty, args) = step.entity(id).ok_or("not in the file")?;
    match ty.as_str() {
        "IFCSIUNIT" => {
            if args.get(3).copied() != Some(".METRE.") {
                return Err(format!(
                    "an IfcSIUnit of {}, not a length",
                    args.get(3).unwrap_or(&"?")
                ));
            }
            let prefix = match args.get(2).copied().unwrap_or("$") {
                "$" => 1.0,
                ".KILO." => 1e3,
                ".HECTO." => 1e2,
                ".DECA." => 1e1,
                ".DECI." => 1e-1,
                ".CENTI." => 1e-2,
                ".MILLI." => 1e-3,
                ".MICRO." => 1e-6,
                other => return Err(format!("the prefix {other} is not one of a length")),
            };
            Ok(prefix)
        }
        "IFCCONVERSIONBASEDUNIT" => {
            let m = reference(args.get(3).copied()).ok_or("no ConversionFactor")?;
            let (mty, margs) = step
                .entity(m)
                .ok_or("its ConversionFactor is not in the file")?;
            if mty != "IFCMEASUREWITHUNIT" {
                return Err(format!("its ConversionFactor is an {mty}"));
            }
            let value = margs
                .first()
                .and_then(|v| {
                    let inner = v.split_once('(')?.1.trim_end_matches(')');
                    inner.trim().parse::<f64>().ok()
                })
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or("its ConversionFactor's value is not a positive number")?;
            let base =
                reference(margs.get(1).copied()).ok_or("its ConversionFactor has no unit")?;
            if base == id {
                return Err("its ConversionFactor refers to itself".into());
            }
            // One level: the unit of a conversion factor is an SI unit.
            let (bty, _) = step.entity(base).ok_or("its unit is not in the file")?;
            if bty != "IFCSIUNIT" {
                return Err(format!("its ConversionFactor's unit is an {bty}"));
            }
            Ok(value * length_unit(step, base)?)
        }
        other => Err(format!("an {other}, not a length unit")),
    }
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
    fn a_map_conversion_is_read_with_its_crs_and_unit() {
        let file = "ISO-10303-21;HEADER;ENDSEC;DATA;\n\
            #2=IFCSIUNIT(*,.LENGTHUNIT.,$,.METRE.);\n\
            #3=IFCMEASUREWITHUNIT(IFCLENGTHMEASURE(0.3048),#2);\n\
            #4=IFCCONVERSIONBASEDUNIT(#9,.LENGTHUNIT.,'foot',#3);\n\
            #292=IFCPROJECTEDCRS('EPSG:4549',$,$,$,$,$,#4);\n\
            #293=IFCMAPCONVERSION(#14,#292,15000.,-2.5,3.,0.866025403784439,-0.5,$);\n\
            ENDSEC;END-ISO-10303-21;";
        let step = StepText::new(file);
        let m = map_conversion(&step).unwrap().unwrap();
        assert_eq!((m.eastings, m.northings, m.height), (15000.0, -2.5, 3.0));
        assert_eq!(
            (m.abscissa, m.ordinate, m.scale),
            (0.866025403784439, -0.5, 1.0)
        );
        assert_eq!(m.crs_name, "EPSG:4549");
        assert_eq!(m.map_unit, Some(0.3048));
        // A unit that is not a length is named.
        let bad = file.replace("#4);", "#5);").replace(
            "#4=IFCCONVERSIONBASEDUNIT",
            "#5=IFCSIUNIT(*,.TIMEUNIT.,$,.SECOND.);#4=IFCCONVERSIONBASEDUNIT",
        );
        let e = map_conversion(&StepText::new(&bad)).unwrap_err();
        assert!(e.contains("#5") && e.contains("SECOND"), "{e}");
        assert_eq!(map_conversion(&StepText::new(FILE)), Ok(None));
    }

    #[test]
    fn step_strings_are_decoded() {
        assert_eq!(decode("Gel\\X2\\00E4\\X0\\nde"), "Gel\u{e4}nde");
        assert_eq!(decode("K\\X2\\00FC\\X0\\che"), "Küche");
        assert_eq!(decode("\\X2\\5367623F\\X0\\"), "卧房");
        assert_eq!(decode("Stra\\S\\_e"), "Straße");
        assert_eq!(decode("a\\X\\E4b"), "aäb");
        assert_eq!(decode("c:\\\\d"), "c:\\d");
        assert_eq!(decode("plain"), "plain");
    }

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
