//! Our calibration format, TOML version 1 (schema in DESIGN.md).
//!
//! Read through a [`::toml::Table`] rather than `#[derive(Deserialize)]` so that every
//! message names the full key (`model.radius_inner`) and the file, and so that the
//! `version` check runs before the unknown-key check (a newer file is refused as newer, not
//! as malformed).

use std::fmt::Write as _;
use std::path::Path;

use ::toml::{Table, Value};
use glam::DVec2;

use super::{file_error, in_file};
use crate::model::{
    Calibration, CameraModel, ElevationBand, MeiModel, Mount, MountAxis, OcamModel, RadialProfile,
    RingModel,
};
use crate::{Error, Result};

/// The value of the top-level `format` key.
pub(crate) const FORMAT: &str = "omnidewarp-calibration";
/// The newest `version` this crate reads and the one it writes.
pub(crate) const VERSION: i64 = 1;

/// One TOML table being read: keys are removed as they are used, what is left is unknown.
struct Section<'p> {
    path: &'p Path,
    /// Dotted name of the table (`""` for the top level).
    prefix: &'static str,
    table: Table,
}

impl<'p> Section<'p> {
    fn key(&self, k: &str) -> String {
        if self.prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{}.{k}", self.prefix)
        }
    }

    fn err(&self, k: &str, reason: impl Into<String>) -> Error {
        file_error(self.path, Some(&self.key(k)), reason)
    }

    fn take(&mut self, k: &str) -> Result<Value> {
        self.table
            .remove(k)
            .ok_or_else(|| self.err(k, "missing key"))
    }

    fn number(&self, k: &str, v: &Value) -> Result<f64> {
        let x = match v {
            Value::Float(x) => *x,
            // Whole numbers are written without a fraction by hand; accept them.
            Value::Integer(i) => *i as f64,
            other => {
                return Err(self.err(k, format!("expected a number, got {}", other.type_str())));
            }
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.err(k, format!("must be a finite number, got {x}")))
        }
    }

    fn f64(&mut self, k: &str) -> Result<f64> {
        let v = self.take(k)?;
        self.number(k, &v)
    }

    fn f64_or(&mut self, k: &str, default: f64) -> Result<f64> {
        match self.table.remove(k) {
            Some(v) => self.number(k, &v),
            None => Ok(default),
        }
    }

    fn angle(&mut self, k: &str) -> Result<f64> {
        Ok(self.f64(k)?.to_radians())
    }

    fn bool_or(&mut self, k: &str, default: bool) -> Result<bool> {
        match self.table.remove(k) {
            Some(Value::Boolean(b)) => Ok(b),
            Some(other) => Err(self.err(
                k,
                format!("expected true or false, got {}", other.type_str()),
            )),
            None => Ok(default),
        }
    }

    fn string(&mut self, k: &str) -> Result<String> {
        match self.take(k)? {
            Value::String(s) => Ok(s),
            other => Err(self.err(k, format!("expected a string, got {}", other.type_str()))),
        }
    }

    fn array(&self, k: &str, v: Value) -> Result<Vec<Value>> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(self.err(k, format!("expected an array, got {}", other.type_str()))),
        }
    }

    /// An array of numbers.
    fn numbers(&mut self, k: &str) -> Result<Vec<f64>> {
        let v = self.take(k)?;
        let items = self.array(k, v)?;
        items.iter().map(|v| self.number(k, v)).collect()
    }

    /// An array of exactly `N` numbers.
    fn fixed<const N: usize>(&mut self, k: &str) -> Result<[f64; N]> {
        let numbers = self.numbers(k)?;
        let len = numbers.len();
        numbers
            .try_into()
            .map_err(|_| self.err(k, format!("expected {N} numbers, got {len}")))
    }

    fn table(&mut self, k: &str, prefix: &'static str) -> Result<Option<Section<'p>>> {
        match self.table.remove(k) {
            Some(Value::Table(table)) => Ok(Some(Section {
                path: self.path,
                prefix,
                table,
            })),
            Some(other) => Err(self.err(k, format!("expected a table, got {}", other.type_str()))),
            None => Ok(None),
        }
    }

    /// Fails on the first key nobody asked for.
    fn finish(self) -> Result<()> {
        match self.table.keys().next() {
            Some(k) => Err(self.err(k, "unknown key")),
            None => Ok(()),
        }
    }
}

/// Line and column (1-based) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, col)
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<Calibration> {
    let table: Table = text.parse().map_err(|e: ::toml::de::Error| {
        let at = e
            .span()
            .map(|s| {
                let (l, c) = line_col(text, s.start);
                format!(" (line {l}, column {c})")
            })
            .unwrap_or_default();
        file_error(
            path,
            None,
            format!(
                "not valid TOML{at}: {} (expected an omnidewarp TOML, OpenCV YAML/XML or \
                 OCamCalib calibration)",
                e.message().trim()
            ),
        )
    })?;
    let mut top = Section {
        path,
        prefix: "",
        table,
    };

    let format = top.string("format").map_err(|e| match e {
        Error::CalibrationFile { key, reason, .. } if reason == "missing key" => file_error(
            path,
            key.as_deref(),
            format!(
                "missing key (not an omnidewarp calibration? expected `format = \"{FORMAT}\"` \
                 or an OpenCV / OCamCalib file)"
            ),
        ),
        other => other,
    })?;
    if format != FORMAT {
        return Err(top.err("format", format!("expected \"{FORMAT}\", got \"{format}\"")));
    }
    let version = match top.take("version")? {
        Value::Integer(v) => v,
        other => {
            return Err(top.err(
                "version",
                format!("expected an integer, got {}", other.type_str()),
            ));
        }
    };
    if version > VERSION {
        return Err(top.err(
            "version",
            format!("written by a newer omnidewarp (version {version}; this one reads {VERSION})"),
        ));
    }
    if version < 1 {
        return Err(top.err("version", format!("must be 1 or more, got {version}")));
    }

    let size = top.take("image_size")?;
    let size = top.array("image_size", size)?;
    let dims: Vec<u32> = size
        .iter()
        .filter_map(|v| v.as_integer())
        .filter_map(|i| u32::try_from(i).ok())
        .filter(|&i| i > 0)
        .collect();
    let image_size = match (size.len(), dims.as_slice()) {
        (2, &[w, h]) => (w, h),
        _ => {
            return Err(top.err(
                "image_size",
                "expected [width, height], two positive whole numbers",
            ));
        }
    };

    let mut model = top
        .table("model", "model")?
        .ok_or_else(|| top.err("model", "missing table [model]"))?;
    let kind = model.string("type")?;
    let mount_table = top.table("mount", "mount")?;
    let band_table = top.table("band", "band")?;

    let camera = match kind.as_str() {
        "ring" => {
            if mount_table.is_some() {
                return Err(top.err(
                    "mount",
                    "a ring takes no [mount] table (its heading_at_top_deg and mirrored \
                     keys live in [model])",
                ));
            }
            CameraModel::Ring(read_ring(&mut model)?)
        }
        "mei" => CameraModel::Mei {
            lens: read_mei(&mut model)?,
            mount: read_mount(mount_table)?,
        },
        "ocam" => CameraModel::Ocam {
            lens: read_ocam(&mut model)?,
            mount: read_mount(mount_table)?,
        },
        other => {
            return Err(model.err(
                "type",
                format!("unknown model type \"{other}\" (expected \"ring\", \"mei\" or \"ocam\")"),
            ));
        }
    };
    model.finish()?;

    let band = match band_table {
        Some(mut b) => {
            let min = b.angle("elevation_min_deg")?;
            let max = b.angle("elevation_max_deg")?;
            b.finish()?;
            Some(ElevationBand::new(min, max).map_err(|e| {
                in_file(e, path, |name| match name {
                    "elevation_min_deg" | "elevation_max_deg" => format!("band.{name}"),
                    _ => "band".to_owned(),
                })
            })?)
        }
        None => None,
    };
    top.finish()?;

    Calibration::new(image_size, camera, band).map_err(|e| {
        in_file(e, path, |name| match name {
            "image_size" | "band" => name.to_owned(),
            "heading_at_top_deg" if kind != "ring" => "mount.heading_at_top_deg".to_owned(),
            "center_row" | "center_col" => "model.center".to_owned(),
            "c" | "d" | "e" => "model.affine".to_owned(),
            "polynomial" => "model.pol".to_owned(),
            _ => format!("model.{name}"),
        })
    })
}

fn read_ring(m: &mut Section<'_>) -> Result<RingModel> {
    let [center_x, center_y] = m.fixed("center")?;
    let r_in = m.f64("radius_inner")?;
    let r_out = m.f64("radius_outer")?;
    let e_in = m.angle("elevation_inner_deg")?;
    let e_out = m.angle("elevation_outer_deg")?;
    let heading_at_top = m.f64_or("heading_at_top_deg", 0.0)?.to_radians();
    let mirrored = m.bool_or("mirrored", true)?;
    if r_in < 0.0 {
        return Err(m.err("radius_inner", format!("must not be negative, got {r_in}")));
    }
    if r_out <= 0.0 {
        return Err(m.err("radius_outer", format!("must be positive, got {r_out}")));
    }
    if r_in >= r_out {
        return Err(m.err(
            "radius_inner",
            format!("must be less than radius_outer ({r_in} ≥ {r_out})"),
        ));
    }
    for (k, e) in [
        ("elevation_inner_deg", e_in),
        ("elevation_outer_deg", e_out),
    ] {
        if e.abs() > std::f64::consts::FRAC_PI_2 {
            return Err(m.err(k, "must lie in [-90, 90]"));
        }
    }
    if e_in == e_out {
        return Err(m.err(
            "elevation_outer_deg",
            "must differ from elevation_inner_deg",
        ));
    }
    let mut knots = vec![(r_in, e_in)];
    if let Some(v) = m.table.remove("profile") {
        for (i, knot) in m.array("profile", v)?.into_iter().enumerate() {
            let pair = m.array("profile", knot)?;
            let [radius, elevation] = pair.as_slice() else {
                return Err(m.err(
                    "profile",
                    format!(
                        "knot {i}: expected [radius, elevation_deg], got {} numbers",
                        pair.len()
                    ),
                ));
            };
            knots.push((
                m.number("profile", radius)?,
                m.number("profile", elevation)?.to_radians(),
            ));
        }
    }
    knots.push((r_out, e_out));
    let profile = RadialProfile::new(knots)
        .map_err(|e| in_file(e, m.path, |_| "model.profile".to_owned()))?;
    Ok(RingModel {
        center: DVec2::new(center_x, center_y),
        profile,
        heading_at_top,
        mirrored,
    })
}

fn read_mei(m: &mut Section<'_>) -> Result<MeiModel> {
    Ok(MeiModel {
        fx: m.f64("fx")?,
        fy: m.f64("fy")?,
        cx: m.f64("cx")?,
        cy: m.f64("cy")?,
        skew: m.f64_or("skew", 0.0)?,
        xi: m.f64("xi")?,
        k1: m.f64_or("k1", 0.0)?,
        k2: m.f64_or("k2", 0.0)?,
        p1: m.f64_or("p1", 0.0)?,
        p2: m.f64_or("p2", 0.0)?,
    })
}

fn read_ocam(m: &mut Section<'_>) -> Result<OcamModel> {
    let pol = m.numbers("pol")?;
    let invpol = m.numbers("invpol")?;
    let [center_col, center_row] = m.fixed("center")?;
    let [c, d, e] = m.fixed("affine")?;
    Ok(OcamModel {
        pol,
        invpol,
        center_row,
        center_col,
        c,
        d,
        e,
    })
}

fn read_mount(table: Option<Section<'_>>) -> Result<Mount> {
    let Some(mut t) = table else {
        return Ok(Mount::default());
    };
    let axis = match t.table.remove("axis") {
        None => MountAxis::Nadir,
        Some(Value::String(s)) if s == "nadir" => MountAxis::Nadir,
        Some(Value::String(s)) if s == "zenith" => MountAxis::Zenith,
        Some(other) => {
            return Err(t.err(
                "axis",
                format!("expected \"nadir\" or \"zenith\", got {other}"),
            ));
        }
    };
    let mount = Mount {
        axis,
        reflected: t.bool_or("reflected", true)?,
        heading_at_top: t.f64_or("heading_at_top_deg", 0.0)?.to_radians(),
    };
    t.finish()?;
    Ok(mount)
}

/// A float as TOML: shortest text that reads back as the same `f64`.
fn float(v: f64) -> String {
    // `{:?}` is the shortest round-trip form and always has a `.` or an exponent, so TOML
    // reads it as a float ("1.0", "1e-7", "-0.008304384099715515").
    format!("{v:?}")
}

/// An angle (radians) as degrees, chosen so that reading it back (`to_radians`) gives the
/// same `f64` whenever some `f64` number of degrees does; the shortest such text.
fn degrees(rad: f64) -> String {
    let d = rad.to_degrees();
    let mut best: Option<String> = None;
    // The four floats either side of `d` (next_up/next_down step across zero and the sign,
    // where raw bit arithmetic would overflow at -0.0).
    let mut cand = (0..4).fold(d, |c, _| c.next_down());
    for _ in 0..9 {
        // Also try the candidate shortened to 12 significant digits ("30", not
        // "29.999999999999996").
        for c in [cand, format!("{cand:.12e}").parse().unwrap_or(cand)] {
            if c.is_finite() && c.to_radians() == rad {
                let text = float(c);
                if best.as_ref().is_none_or(|b| text.len() < b.len()) {
                    best = Some(text);
                }
            }
        }
        cand = cand.next_up();
    }
    best.unwrap_or_else(|| float(d))
}

fn floats(vs: &[f64]) -> String {
    let items: Vec<String> = vs.iter().map(|&v| float(v)).collect();
    format!("[{}]", items.join(", "))
}

pub(crate) fn write(cal: &Calibration) -> String {
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = write_into(&mut s, cal);
    s
}

fn write_into(s: &mut String, cal: &Calibration) -> std::fmt::Result {
    writeln!(s, "format = \"{FORMAT}\"")?;
    writeln!(s, "version = {VERSION}")?;
    writeln!(
        s,
        "image_size = [{}, {}]  # width, height the model was made at",
        cal.image_size.0, cal.image_size.1
    )?;
    writeln!(s)?;
    writeln!(s, "[model]")?;
    let mut band = cal.band;
    match &cal.model {
        CameraModel::Ring(ring) => {
            writeln!(s, "type = \"ring\"")?;
            writeln!(s, "center = {}", floats(&[ring.center.x, ring.center.y]))?;
            let ((r_in, r_out), (e_in, e_out)) =
                (ring.profile.radius_range(), ring.profile.elevation_ends());
            writeln!(s, "radius_inner = {}", float(r_in))?;
            writeln!(s, "radius_outer = {}", float(r_out))?;
            writeln!(s, "elevation_inner_deg = {}", degrees(e_in))?;
            writeln!(s, "elevation_outer_deg = {}", degrees(e_out))?;
            writeln!(s, "heading_at_top_deg = {}", degrees(ring.heading_at_top))?;
            writeln!(s, "mirrored = {}", ring.mirrored)?;
            let interior = ring.profile.interior_knots();
            if !interior.is_empty() {
                writeln!(
                    s,
                    "# interior knots [radius, elevation_deg], inner to outer"
                )?;
                writeln!(s, "profile = [")?;
                for &(r, e) in interior {
                    writeln!(s, "    [{}, {}],", float(r), degrees(e))?;
                }
                writeln!(s, "]")?;
            }
            // The ring's own range is the default band: leave it implicit.
            if band == ElevationBand::new(e_in.min(e_out), e_in.max(e_out)).ok() {
                band = None;
            }
        }
        CameraModel::Mei { lens, mount } => {
            writeln!(s, "type = \"mei\"")?;
            for (k, v) in lens.parameters() {
                writeln!(s, "{k} = {}", float(v))?;
            }
            write_mount(s, mount)?;
        }
        CameraModel::Ocam { lens, mount } => {
            writeln!(s, "type = \"ocam\"")?;
            writeln!(s, "# polynomials lowest degree first")?;
            writeln!(s, "pol = {}", floats(&lens.pol))?;
            writeln!(s, "invpol = {}", floats(&lens.invpol))?;
            writeln!(
                s,
                "# x = column, y = row (OCamCalib's file says row, column)"
            )?;
            writeln!(
                s,
                "center = {}",
                floats(&[lens.center_col, lens.center_row])
            )?;
            writeln!(
                s,
                "affine = {}  # c, d, e",
                floats(&[lens.c, lens.d, lens.e])
            )?;
            write_mount(s, mount)?;
        }
    }
    if let Some(b) = band {
        writeln!(s)?;
        writeln!(s, "[band]")?;
        writeln!(s, "elevation_min_deg = {}", degrees(b.min))?;
        writeln!(s, "elevation_max_deg = {}", degrees(b.max))?;
    }
    Ok(())
}

fn write_mount(s: &mut String, mount: &Mount) -> std::fmt::Result {
    writeln!(s)?;
    writeln!(s, "[mount]")?;
    let axis = match mount.axis {
        MountAxis::Nadir => "nadir",
        MountAxis::Zenith => "zenith",
    };
    writeln!(s, "axis = \"{axis}\"")?;
    writeln!(s, "reflected = {}", mount.reflected)?;
    writeln!(s, "heading_at_top_deg = {}", degrees(mount.heading_at_top))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_read_back_exactly() {
        for deg in [30.0, -55.0, 60.0, 0.1, 17.3, -89.99, 90.0, 1e-9] {
            let rad = f64::to_radians(deg);
            let text = degrees(rad);
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_radians(), rad, "{deg} → {text}");
            assert_eq!(back, deg, "{deg} → {text}");
        }
    }

    #[test]
    fn degrees_of_signed_zero_and_tiny_angles() {
        // -0.0 once overflowed the search for neighbouring floats (CI, proptest).
        for rad in [-0.0, 0.0, 1e-300, -1e-300] {
            let back: f64 = degrees(rad).parse().unwrap();
            assert_eq!(back.to_radians(), rad, "{rad:e}");
        }
    }

    #[test]
    fn floats_are_toml_floats() {
        for v in [1.0, -0.0, 1e-7, 1e22, 408.9031773951029] {
            let t: Table = format!("a = {}", float(v)).parse().unwrap();
            assert_eq!(t["a"].as_float(), Some(v));
        }
    }
}
