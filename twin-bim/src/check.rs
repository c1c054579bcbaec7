//! Checks of an IFC (STEP, ISO 10303-21) file before it is handed to ifc-lite, which
//! reads what it can of a broken file and says nothing: a truncated file, an
//! unknown schema or a reference to an entity that is not there gave a partial model
//! without an error (docs/bim-plan.md, section 1). Here each is refused with the
//! entity and what is wrong.

use std::collections::HashSet;

/// The most entities a model may have (a 100,000-element building has ~1M).
pub const MAX_ENTITIES: usize = 20_000_000;

/// What the header says and what the data section holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The schema named by `FILE_SCHEMA` (`IFC2X3`, `IFC4`, `IFC4X3_ADD2`, …).
    pub schema: String,
    /// Entity instances in the data section.
    pub entities: usize,
}

/// Checks the header, the schema, the terminator and that every `#n` referred to is
/// defined. `Err` says what is wrong, naming the entity where there is one.
pub fn check(bytes: &[u8]) -> Result<Checked, String> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    if !text[start..].starts_with(b"ISO-10303-21;") {
        return Err("not a STEP file (it does not begin with ISO-10303-21;)".into());
    }
    let end = text
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    if !text[..end].ends_with(b"END-ISO-10303-21;") {
        return Err("truncated: the file does not end with END-ISO-10303-21;".into());
    }
    let schema = file_schema(text).ok_or("the header has no FILE_SCHEMA")?;
    // ifc-lite's own table of the schemas it reads (a label it does not know, such
    // as IFC2X3_FINAL, left every entity outside IfcProduct: an empty model).
    if ifc_lite_core::SchemaVersion::from_file_schema(&schema).is_none() {
        return Err(format!(
            "schema {schema} is not one twin reads (IFC2X3, IFC4, IFC4X1, IFC4X2, IFC4X3 and their addenda)"
        ));
    }
    let data = find(text, b"DATA;").ok_or("no DATA section")?;
    let (defined, forward) = scan(&text[data..])?;
    for (from, to) in forward {
        if !defined.contains(&to) {
            return Err(format!(
                "entity #{from} refers to #{to}, which is not in the file"
            ));
        }
    }
    Ok(Checked {
        schema,
        entities: defined.len(),
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first schema name of `FILE_SCHEMA(('…'))`, upper case.
fn file_schema(text: &[u8]) -> Option<String> {
    let at = find(text, b"FILE_SCHEMA")?;
    let rest = &text[at..text.len().min(at + 200)];
    let open = rest.iter().position(|b| *b == b'\'')? + 1;
    let close = open + rest[open..].iter().position(|b| *b == b'\'')?;
    Some(
        String::from_utf8_lossy(&rest[open..close])
            .trim()
            .to_ascii_uppercase(),
    )
}

/// The entities defined (`#n=`) and the references (`#m` inside an entity's
/// attributes, with the entity they are in) to entities not defined before them —
/// only those need a second look, so memory follows the entities, not the
/// references. Strings (`'…'`, `''` an escaped quote) and comments are skipped; a
/// string left open, a number past u32 (ifc-lite's limit) or more than
/// [`MAX_ENTITIES`] is an error.
type Scanned = (HashSet<u32>, Vec<(u32, u32)>);

fn scan(data: &[u8]) -> Result<Scanned, String> {
    let mut defined = HashSet::new();
    let mut forward = Vec::new();
    let mut current: Option<u32> = None;
    let mut i = 0;
    let n = data.len();
    while i < n {
        match data[i] {
            b'\'' => {
                i += 1;
                loop {
                    match data.get(i) {
                        None => {
                            return Err(format!(
                                "entity #{}: a string is not closed",
                                current.unwrap_or(0)
                            ));
                        }
                        Some(b'\'') if data.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            b'/' if data.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < n && !(data[i] == b'*' && data[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'#' => {
                let s = i + 1;
                let mut e = s;
                while e < n && data[e].is_ascii_digit() {
                    e += 1;
                }
                if e == s {
                    i += 1;
                    continue;
                }
                let Some(id) = std::str::from_utf8(&data[s..e])
                    .ok()
                    .and_then(|t| t.parse::<u32>().ok())
                else {
                    return Err(format!(
                        "entity #{}: #{} is past the largest entity number twin reads",
                        current.unwrap_or(0),
                        String::from_utf8_lossy(&data[s..e])
                    ));
                };
                let mut k = e;
                while k < n && data[k].is_ascii_whitespace() {
                    k += 1;
                }
                if current.is_none() && data.get(k) == Some(&b'=') {
                    if !defined.insert(id) {
                        return Err(format!("entity #{id} is defined twice"));
                    }
                    if defined.len() > MAX_ENTITIES {
                        return Err(format!("more than the {MAX_ENTITIES} entities twin reads"));
                    }
                    current = Some(id);
                    i = k + 1;
                } else {
                    if let Some(c) = current
                        && !defined.contains(&id)
                    {
                        forward.push((c, id));
                    }
                    i = e;
                }
            }
            b';' => {
                current = None;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok((defined, forward))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &str) -> String {
        format!(
            "ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n{data}\nENDSEC;\nEND-ISO-10303-21;\n"
        )
    }

    #[test]
    fn a_small_file_passes_and_counts_its_entities() {
        let ok = file("#1=IFCPERSON($,'O''Neil #9',$);\n#2=IFCORGANIZATION($,'a',$,(#1),$);");
        assert_eq!(
            check(ok.as_bytes()),
            Ok(Checked {
                schema: "IFC4".into(),
                entities: 2
            })
        );
    }

    #[test]
    fn broken_files_are_refused_with_what_is_wrong() {
        let dangling = file("#1=IFCORGANIZATION($,'a',$,(#999999),$);");
        assert_eq!(
            check(dangling.as_bytes()).unwrap_err(),
            "entity #1 refers to #999999, which is not in the file"
        );
        let twice = file("#1=IFCPERSON($,$,$);#1=IFCPERSON($,$,$);");
        assert!(
            check(twice.as_bytes())
                .unwrap_err()
                .contains("#1 is defined twice")
        );
        let truncated = &file("#1=IFCPERSON($,$,$);")[..60];
        assert!(
            check(truncated.as_bytes())
                .unwrap_err()
                .starts_with("truncated")
        );
        let schema = file("").replace("IFC4", "IFC9");
        assert!(check(schema.as_bytes()).unwrap_err().contains("IFC9"));
        assert!(
            check(b"\x00\x01 random")
                .unwrap_err()
                .contains("not a STEP file")
        );
        let open = file("#1=IFCPERSON($,'never closed,$);");
        assert!(check(open.as_bytes()).is_err());
    }
}
