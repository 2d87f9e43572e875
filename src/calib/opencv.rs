//! OpenCV `omnidir` calibrations in `cv::FileStorage` YAML or XML.
//!
//! A small parser for the subset such files use: top-level scalars and matrices
//! (`!!opencv-matrix` in YAML, `type_id="opencv-matrix"` in XML, with `rows`, `cols`, `dt`,
//! `data`). Other top-level entries (nested maps, sequences) are skipped. Read:
//! `camera_matrix` (`[fx s cx; 0 fy cy; 0 0 1]`), `distortion_coefficients` (k1 k2 p1 p2),
//! `xi`, and optionally `image_width` / `image_height`. The mount is the default (nadir,
//! reflected, heading 0) and there is no band.
//!
//! A key given twice (top level or inside a matrix) is an error, and so is a `model`,
//! `model_type` or `camera_model` key naming another model than Mei. Both readers are one
//! forward pass (linear time); the YAML reader does not descend into nested entries, the XML
//! reader refuses elements nested deeper than 64 levels.

use std::collections::HashSet;
use std::path::Path;

use super::{file_error, in_file};
use crate::Result;
use crate::model::{Calibration, CameraModel, MAX_IMAGE_SIDE, MeiModel, Mount};

mod xml;

/// One top-level FileStorage entry.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A scalar, unquoted.
    Scalar(String),
    /// An `opencv-matrix`, `data` checked to hold `rows × cols` numbers.
    Matrix {
        rows: usize,
        cols: usize,
        data: Vec<f64>,
    },
    /// Anything else (nested maps, sequences): not used.
    Other,
}

/// Keys that name the camera model in files other tools write (`model_type: MEI` in
/// camodocal, `camera_model: omni` in Kalibr).
const MODEL_KEYS: [&str; 3] = ["model", "model_type", "camera_model"];
/// Words in their values that mean the Mei unified sphere model (any case), as in
/// `mei_unified_cv_omnidir`, `MEI` or `omni`.
const MEI_NAMES: [&str; 5] = ["mei", "omnidir", "omni", "unified", "cmei"];

/// Whether a model name has one of the [`MEI_NAMES`] among its words.
fn names_mei(name: &str) -> bool {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| MEI_NAMES.contains(&word.to_ascii_lowercase().as_str()))
}

/// What went wrong, and with which key.
type ParseError = (Option<String>, String);

fn bad(key: &str, reason: impl Into<String>) -> ParseError {
    (Some(key.to_owned()), reason.into())
}

/// Builds a matrix node from its fields, checking them.
fn matrix(key: &str, fields: &[(String, String)]) -> Result<Node, ParseError> {
    let mut names = HashSet::new();
    if let Some((twice, _)) = fields.iter().find(|(k, _)| !names.insert(k.as_str())) {
        return Err(bad(key, format!("matrix field `{twice}` appears twice")));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .ok_or_else(|| bad(key, format!("matrix without `{name}`")))
    };
    let dim = |name: &str| -> Result<usize, ParseError> {
        field(name)?
            .parse::<usize>()
            .map_err(|_| bad(key, format!("matrix `{name}` is not a whole number")))
    };
    let (rows, cols) = (dim("rows")?, dim("cols")?);
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| bad(key, format!("matrix of {rows} × {cols} is too large")))?;
    let dt = field("dt")?;
    if dt.len() != 1 || !"ucwsifd".contains(dt) {
        return Err(bad(
            key,
            format!("matrix type `dt: {dt}` is not a single-channel number type"),
        ));
    }
    let text = field("data")?;
    let text = text.trim_start_matches('[').trim_end_matches(']');
    let data = text
        .split([',', ' ', '\t', '\n', '\r'])
        .filter(|t| !t.is_empty())
        .map(|t| {
            parse_number(t).ok_or_else(|| bad(key, format!("matrix data `{t}` is not a number")))
        })
        .collect::<Result<Vec<f64>, _>>()?;
    if data.len() != count {
        return Err(bad(
            key,
            format!(
                "matrix data has {} numbers, rows × cols = {rows} × {cols} = {count}",
                data.len()
            ),
        ));
    }
    Ok(Node::Matrix { rows, cols, data })
}

/// A FileStorage number (`1.`, `-2.5e-3`, `.Inf`, `.NaN` all parse; the caller checks
/// finiteness).
fn parse_number(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        ".inf" | "+.inf" => Some(f64::INFINITY),
        "-.inf" => Some(f64::NEG_INFINITY),
        ".nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Removes a `# comment` (outside quotes) and surrounding blanks.
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || s[..i].ends_with([' ', '\t']) => return s[..i].trim(),
            _ => {}
        }
    }
    s.trim()
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Top-level entries of a FileStorage YAML text.
fn yaml_nodes(text: &str) -> Result<Vec<(String, Node)>, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut i = 0;
    while let Some(&line) = lines.get(i) {
        let content = strip_comment(line);
        i += 1;
        if content.is_empty() || content.starts_with('%') || content == "---" || content == "..." {
            continue;
        }
        if indent(line) > 0 {
            // Belongs to an entry we skip (a nested map or sequence).
            continue;
        }
        let Some((key, rest)) = content.split_once(':') else {
            return Err((None, format!("line {i}: expected `key: value`")));
        };
        let key = unquote(key.trim()).to_owned();
        let rest = rest.trim();
        // The entry's indented continuation lines.
        let start = i;
        while let Some(&l) = lines.get(i) {
            if !strip_comment(l).is_empty() && indent(l) == 0 && !l.trim_start().starts_with('#') {
                break;
            }
            i += 1;
        }
        let body = lines.get(start..i).unwrap_or_default();
        let node = if rest.starts_with("!!opencv-matrix")
            || rest.starts_with("!<tag:yaml.org,2002:opencv-matrix>")
        {
            let mut fields = Vec::new();
            let mut open: Option<(String, String)> = None;
            for l in body {
                let c = strip_comment(l);
                if c.is_empty() {
                    continue;
                }
                if let Some((k, v)) = open.as_mut() {
                    v.push(' ');
                    v.push_str(c);
                    if c.contains(']') {
                        fields.push((std::mem::take(k), std::mem::take(v)));
                        open = None;
                    }
                    continue;
                }
                let Some((k, v)) = c.split_once(':') else {
                    return Err(bad(&key, format!("cannot read matrix line `{c}`")));
                };
                let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
                if v.starts_with('[') && !v.contains(']') {
                    open = Some((k, v));
                } else {
                    fields.push((k, v));
                }
            }
            if open.is_some() {
                return Err(bad(&key, "matrix data has no closing `]`"));
            }
            matrix(&key, &fields)?
        } else if rest.is_empty() || rest.starts_with(['[', '{', '!', '|', '>']) {
            Node::Other
        } else {
            Node::Scalar(unquote(rest).to_owned())
        };
        if !seen.insert(key.clone()) {
            return Err(bad(&key, format!("appears twice (again on line {start})")));
        }
        out.push((key, node));
    }
    Ok(out)
}

pub(crate) fn parse_yaml(text: &str, path: &Path) -> Result<Calibration> {
    let nodes = yaml_nodes(text).map_err(|(k, r)| file_error(path, k.as_deref(), r))?;
    build(&nodes, path)
}

pub(crate) fn parse_xml(text: &str, path: &Path) -> Result<Calibration> {
    let nodes = xml::nodes(text).map_err(|(k, r)| file_error(path, k.as_deref(), r))?;
    build(&nodes, path)
}

/// The Mei calibration in a file's entries.
fn build(nodes: &[(String, Node)], path: &Path) -> Result<Calibration> {
    let get = |key: &str| nodes.iter().find(|(k, _)| k == key).map(|(_, n)| n);
    let err = |key: &str, reason: String| file_error(path, Some(key), reason);
    let finite = |key: &str, v: f64| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(err(key, format!("must be a finite number, got {v}")))
        }
    };
    let matrix = |key: &str, shapes: &[(usize, usize)], what: &str| -> Result<Vec<f64>> {
        match get(key) {
            Some(Node::Matrix { rows, cols, data }) => {
                if !shapes.contains(&(*rows, *cols)) {
                    return Err(err(
                        key,
                        format!("expected {what}, got a {rows}×{cols} matrix"),
                    ));
                }
                data.iter().map(|&v| finite(key, v)).collect()
            }
            Some(_) => Err(err(key, format!("expected {what} (an opencv-matrix)"))),
            None => Err(err(key, "missing key".to_owned())),
        }
    };
    let scalar = |key: &str| -> Result<Option<f64>> {
        match get(key) {
            None => Ok(None),
            Some(Node::Scalar(s)) => parse_number(s)
                .ok_or_else(|| err(key, format!("`{s}` is not a number")))
                .and_then(|v| finite(key, v))
                .map(Some),
            Some(Node::Matrix {
                rows: 1,
                cols: 1,
                data,
            }) => match data.as_slice() {
                [v] => finite(key, *v).map(Some),
                _ => Err(err(key, "expected a number".to_owned())),
            },
            Some(_) => Err(err(key, "expected a number".to_owned())),
        }
    };

    for key in MODEL_KEYS {
        match get(key) {
            None => {}
            Some(Node::Scalar(name)) if names_mei(name) => {}
            Some(Node::Scalar(name)) => {
                return Err(err(
                    key,
                    format!(
                        "names the camera model \"{name}\"; OpenCV files are read as the Mei \
                         (omnidir) model only (a name with one of the words {})",
                        MEI_NAMES.join(", ")
                    ),
                ));
            }
            Some(_) => return Err(err(key, "expected the name of a camera model".to_owned())),
        }
    }
    let k = matrix("camera_matrix", &[(3, 3)], "a 3×3 camera matrix")?;
    let &[fx, skew, cx, 0.0, fy, cy, 0.0, 0.0, 1.0] = k.as_slice() else {
        return Err(err(
            "camera_matrix",
            "expected [fx s cx; 0 fy cy; 0 0 1]".to_owned(),
        ));
    };
    let d = matrix(
        "distortion_coefficients",
        &[(1, 4), (4, 1)],
        "4 distortion coefficients (k1 k2 p1 p2) as a 1×4 or 4×1 matrix",
    )?;
    let &[k1, k2, p1, p2] = d.as_slice() else {
        return Err(err(
            "distortion_coefficients",
            "expected 4 coefficients (k1 k2 p1 p2)".to_owned(),
        ));
    };
    let xi = scalar("xi")?.ok_or_else(|| err("xi", "missing key".to_owned()))?;
    let lens = MeiModel {
        fx,
        fy,
        cx,
        cy,
        skew,
        xi,
        k1,
        k2,
        p1,
        p2,
    };

    let dim = |key: &str| -> Result<Option<u32>> {
        scalar(key)?
            .map(|v| {
                if v.fract() == 0.0 && v >= 1.0 && v <= f64::from(u32::MAX) {
                    Ok(v as u32)
                } else {
                    Err(err(
                        key,
                        format!("must be a positive whole number, got {v}"),
                    ))
                }
            })
            .transpose()
    };
    let mut size_from_principal_point = false;
    let image_size = match (dim("image_width")?, dim("image_height")?) {
        (Some(w), Some(h)) => (w, h),
        (None, None) => {
            size_from_principal_point = true;
            // An omnidir calibration does not record its frame size; the principal point is
            // near the centre, so this is a fair guess.
            let w = (2.0 * lens.cx + 1.0).round().max(1.0) as u32;
            let h = (2.0 * lens.cy + 1.0).round().max(1.0) as u32;
            if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
                return Err(err(
                    "camera_matrix",
                    format!(
                        "no image_width/image_height, and the principal point ({}, {}) implies \
                         a {w}×{h} frame, larger than {MAX_IMAGE_SIDE} pixels a side",
                        lens.cx, lens.cy
                    ),
                ));
            }
            log::warn!(
                "{}: no image_width/image_height; assuming {w}×{h} from the principal point",
                path.display()
            );
            (w, h)
        }
        (Some(_), None) => {
            return Err(err(
                "image_height",
                "missing key (image_width is given)".to_owned(),
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "image_width",
                "missing key (image_height is given)".to_owned(),
            ));
        }
    };

    let model = CameraModel::Mei {
        lens,
        mount: Mount::default(),
    };
    Calibration::new(image_size, model, None).map_err(|e| {
        in_file(e, path, |name| {
            match name {
                "fx" | "fy" | "cx" | "cy" | "skew" => "camera_matrix",
                "k1" | "k2" | "p1" | "p2" => "distortion_coefficients",
                "image_size" if size_from_principal_point => "camera_matrix",
                "image_size" => "image_width",
                other => other,
            }
            .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_subset() {
        let text = "%YAML:1.0\n---\n# a comment\nname: \"x # y\"  # trailing\nm: !!opencv-matrix\n   rows: 1\n   cols: 3\n   dt: d\n   data: [ 1., -2.5e-3,\n       3 ]\nnested:\n   a: 1\nseq: [ 1, 2 ]\nlast: 7\n";
        let nodes = yaml_nodes(text).unwrap();
        assert_eq!(
            nodes,
            vec![
                ("name".to_owned(), Node::Scalar("x # y".to_owned())),
                (
                    "m".to_owned(),
                    Node::Matrix {
                        rows: 1,
                        cols: 3,
                        data: vec![1.0, -2.5e-3, 3.0]
                    }
                ),
                ("nested".to_owned(), Node::Other),
                ("seq".to_owned(), Node::Other),
                ("last".to_owned(), Node::Scalar("7".to_owned())),
            ]
        );
    }

    #[test]
    fn xml_subset() {
        let text = "<?xml version=\"1.0\"?>\n<opencv_storage>\n<!-- c -->\n<m type_id=\"opencv-matrix\">\n  <rows>2</rows>\n  <cols>1</cols>\n  <dt>d</dt>\n  <data>\n    1. 2.</data></m>\n<xi>1.5</xi>\n<n><_>1</_><_><_>2</_></_></n>\n<e/>\n</opencv_storage>\n";
        let nodes = xml::nodes(text).unwrap();
        assert_eq!(
            nodes,
            vec![
                (
                    "m".to_owned(),
                    Node::Matrix {
                        rows: 2,
                        cols: 1,
                        data: vec![1.0, 2.0]
                    }
                ),
                ("xi".to_owned(), Node::Scalar("1.5".to_owned())),
                ("n".to_owned(), Node::Other),
                ("e".to_owned(), Node::Scalar(String::new())),
            ]
        );
    }

    #[test]
    fn matrix_size_is_checked() {
        let text = "%YAML:1.0\nm: !!opencv-matrix\n   rows: 2\n   cols: 2\n   dt: d\n   data: [ 1, 2, 3 ]\n";
        let (key, reason) = yaml_nodes(text).unwrap_err();
        assert_eq!(key.as_deref(), Some("m"));
        assert!(reason.contains("3 numbers"), "{reason}");
    }
}
