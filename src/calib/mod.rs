//! Calibration files: read ours (TOML), OpenCV `omnidir` (FileStorage YAML/XML) and
//! OCamCalib (`calib_results.txt`); write ours; and [`resolve`] the calibration of an input
//! (the file named, else `NAME.omnidewarp.toml` beside it, else the ring detected in it).
//!
//! The format is recognised by content, never by the file name:
//!
//! | format | recognised by |
//! |---|---|
//! | omnidewarp TOML | anything else that parses as TOML (`format = "omnidewarp-calibration"`) |
//! | OpenCV FileStorage YAML | a `%YAML` header or an `!!opencv-matrix` tag |
//! | OpenCV FileStorage XML | an `<opencv_storage>` element |
//! | OCamCalib `calib_results.txt` | after `#` comment lines, the first line holds only numbers; or a `#` line naming `ocam_model` |
//!
//! Every problem with a file is an [`Error::CalibrationFile`] naming the file and, where one
//! is to blame, the key (`model.radius_inner`, `camera_matrix`, `invpol`, …). Every reader
//! ends in [`Calibration::new`], so every file passes the one validation of
//! [`Calibration::validate`] (finite, in-domain parameters that show a usable part of the
//! band inside the frame).
//!
//! Limits (input beyond them is an error, never a hang, an abort or a huge allocation):
//!
//! | what | limit |
//! |---|---|
//! | file size ([`Calibration::load`]) | [`MAX_FILE_BYTES`] = 1 MiB, read through `take(limit + 1)` |
//! | image size | 1 to [`crate::model::MAX_IMAGE_SIDE`] = 32768 px a side |
//! | TOML nesting | the `toml` crate's recursion limit (about 80 levels; the schema needs 3) |
//! | XML nesting | 64 elements (FileStorage calibrations use 3) |
//! | YAML nesting | none needed: nested entries are skipped line by line, never descended into |
//! | OCamCalib polynomials | `pol` 2 to [`crate::model::OcamModel::MAX_POL`] = 16 coefficients, `invpol` 1 to [`crate::model::OcamModel::MAX_INVPOL`] = 32 |
//! | ring profile | 2 to 16 knots |
//!
//! Every reader is one forward pass over the text, linear in its length.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::model::{Calibration, CameraModel, MountAxis};
use crate::{Error, Result};

mod ocamcalib;
mod opencv;
mod resolve;
mod toml;

pub use resolve::{CalibrationOrigin, ResolvedCalibration, SIDECAR_SUFFIX, resolve, sidecar_path};

/// Which kind of file a calibration text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    OpenCvYaml,
    OpenCvXml,
    OcamCalib,
}

fn detect(text: &str) -> Format {
    let mut content = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let first = content.next().unwrap_or("");
    if first.starts_with("%YAML") || text.contains("!!opencv-matrix") {
        Format::OpenCvYaml
    } else if text.contains("<opencv_storage") {
        Format::OpenCvXml
    } else if (!first.is_empty() && first.split_whitespace().all(|t| t.parse::<f64>().is_ok()))
        // OCamCalib's own comments name its MATLAB struct: a damaged file is still one.
        || text.lines().any(|l| l.starts_with('#') && l.contains("ocam_model"))
    {
        Format::OcamCalib
    } else {
        Format::Toml
    }
}

/// An [`Error::CalibrationFile`].
pub(crate) fn file_error(path: &Path, key: Option<&str>, reason: impl Into<String>) -> Error {
    Error::CalibrationFile {
        path: path.to_owned(),
        key: key.map(str::to_owned),
        reason: reason.into(),
    }
}

/// Turns an [`Error::InvalidParameter`] from a model's `validate()` into an
/// [`Error::CalibrationFile`] for `path`, naming the file's key for the parameter.
pub(crate) fn in_file(err: Error, path: &Path, key_of: impl Fn(&str) -> String) -> Error {
    match err {
        Error::InvalidParameter { name, reason } => Error::CalibrationFile {
            path: path.to_owned(),
            key: Some(key_of(&name)),
            reason,
        },
        other => other,
    }
}

/// Largest calibration file [`Calibration::load`] reads: 1 MiB (real ones are a few KB;
/// an OpenCV file with the extrinsics of hundreds of views stays far below).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads at most `limit` bytes of `path`: a longer file (or an endless one, `/dev/zero`) is
/// refused with `too_large` after reading `limit + 1` bytes, never read whole.
pub(crate) fn read_limited(
    path: &Path,
    limit: u64,
    too_large: impl FnOnce() -> Error,
) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A byte count for people: `1 MiB`, `16 MiB`, `512 KiB`, `100 bytes`.
pub(crate) fn byte_size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl Calibration {
    /// Reads a calibration file of any supported format (see [`crate::calib`]), of at most
    /// [`MAX_FILE_BYTES`].
    pub fn load(path: &Path) -> Result<Calibration> {
        let bytes = read_limited(path, MAX_FILE_BYTES, || {
            file_error(
                path,
                None,
                format!(
                    "larger than {}, the limit for calibration files (not a calibration?)",
                    byte_size(MAX_FILE_BYTES)
                ),
            )
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| file_error(path, None, "not a text file (not valid UTF-8)"))?;
        Self::from_str_detect(&text, path)
    }

    /// Parses calibration `text`, recognising the format by content; `path` is only used
    /// in error messages.
    pub fn from_str_detect(text: &str, path: &Path) -> Result<Calibration> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        match detect(text) {
            Format::Toml => toml::parse(text, path),
            Format::OpenCvYaml => opencv::parse_yaml(text, path),
            Format::OpenCvXml => opencv::parse_xml(text, path),
            Format::OcamCalib => ocamcalib::parse(text, path),
        }
    }

    /// This calibration in our TOML format (version 1, angles in degrees). Parsing the text
    /// gives back an equal calibration.
    #[must_use]
    pub fn to_toml_string(&self) -> String {
        toml::write(self)
    }

    /// Writes [`Self::to_toml_string`] to `path` atomically: a temporary file in the same
    /// folder, synced, then renamed over `path` ([`crate::output::AtomicFile`]); on failure
    /// an existing file at `path` is untouched and nothing is left.
    pub fn save_toml(&self, path: &Path) -> Result<()> {
        let mut file = crate::output::AtomicFile::create(path)?;
        file.write_all(self.to_toml_string().as_bytes())
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
        file.commit()
    }

    /// A multi-line human summary: model, parameters (angles in degrees), image size, band.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let (w, h) = self.image_size;
        // Writing into a String cannot fail.
        let _ = self.describe_into(&mut s, w, h);
        s
    }

    fn describe_into(&self, s: &mut String, w: u32, h: u32) -> std::fmt::Result {
        let model = match &self.model {
            CameraModel::Ring(_) => "ring (equiangular mirror)",
            CameraModel::Mei { .. } => "mei (unified sphere, OpenCV omnidir)",
            CameraModel::Ocam { .. } => "ocam (OCamCalib polynomial)",
        };
        writeln!(s, "model:        {model}")?;
        writeln!(s, "image size:   {w} × {h} px")?;
        match &self.model {
            CameraModel::Ring(ring) => {
                writeln!(
                    s,
                    "centre:       ({}, {}) px",
                    num(ring.center.x),
                    num(ring.center.y)
                )?;
                let (r_in, r_out) = ring.profile.radius_range();
                let (e_in, e_out) = ring.profile.elevation_ends();
                writeln!(
                    s,
                    "radius:       {} px (elevation {}°) .. {} px (elevation {}°)",
                    num(r_in),
                    num(e_in.to_degrees()),
                    num(r_out),
                    num(e_out.to_degrees())
                )?;
                let interior = ring.profile.interior_knots();
                if !interior.is_empty() {
                    write!(s, "profile:     ")?;
                    for &(r, e) in interior {
                        write!(s, " {} px → {}°;", num(r), num(e.to_degrees()))?;
                    }
                    writeln!(s)?;
                }
                writeln!(
                    s,
                    "heading:      {}° at the top, {}",
                    num(ring.heading_at_top.to_degrees()),
                    if ring.mirrored {
                        "mirrored (heading grows counter-clockwise)"
                    } else {
                        "direct view (heading grows clockwise)"
                    }
                )?;
            }
            CameraModel::Mei { lens, mount } => {
                writeln!(
                    s,
                    "focal:        fx {} px, fy {} px, skew {}",
                    num(lens.fx),
                    num(lens.fy),
                    num(lens.skew)
                )?;
                writeln!(s, "principal pt: ({}, {}) px", num(lens.cx), num(lens.cy))?;
                writeln!(s, "xi:           {}", num(lens.xi))?;
                writeln!(
                    s,
                    "distortion:   k1 {}, k2 {}, p1 {}, p2 {}",
                    num(lens.k1),
                    num(lens.k2),
                    num(lens.p1),
                    num(lens.p2)
                )?;
                describe_mount(s, mount)?;
            }
            CameraModel::Ocam { lens, mount } => {
                writeln!(
                    s,
                    "centre:       ({}, {}) px (x = column, y = row)",
                    num(lens.center_col),
                    num(lens.center_row)
                )?;
                writeln!(
                    s,
                    "affine:       c {}, d {}, e {}",
                    num(lens.c),
                    num(lens.d),
                    num(lens.e)
                )?;
                writeln!(s, "pol:          {}", nums(&lens.pol))?;
                writeln!(s, "invpol:       {}", nums(&lens.invpol))?;
                describe_mount(s, mount)?;
            }
        }
        match self.band {
            Some(b) => writeln!(
                s,
                "band:         elevation {}° .. {}°",
                num(b.min.to_degrees()),
                num(b.max.to_degrees())
            ),
            None => writeln!(
                s,
                "band:         not set (wherever the model lands in the frame)"
            ),
        }
    }
}

fn describe_mount(s: &mut String, mount: &crate::model::Mount) -> std::fmt::Result {
    writeln!(
        s,
        "mount:        {}, {}, heading {}° at the top",
        match mount.axis {
            MountAxis::Nadir => "nadir",
            MountAxis::Zenith => "zenith",
        },
        if mount.reflected {
            "reflected"
        } else {
            "direct"
        },
        num(mount.heading_at_top.to_degrees())
    )
}

/// A number for people: 6 significant digits, no trailing zeros.
fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    if !(1e-4..1e9).contains(&v.abs()) {
        let s = format!("{v:.5e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let digits = (5 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

fn nums(vs: &[f64]) -> String {
    vs.iter().map(|&v| num(v)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect("%YAML:1.0\n---\nxi: 1\n"), Format::OpenCvYaml);
        assert_eq!(detect("a: !!opencv-matrix\n"), Format::OpenCvYaml);
        assert_eq!(
            detect("<?xml version=\"1.0\"?>\n<opencv_storage>\n</opencv_storage>\n"),
            Format::OpenCvXml
        );
        assert_eq!(detect("#pol\n\n5 -1.0 0 1e-3 2 3\n"), Format::OcamCalib);
        assert_eq!(
            detect("#polynomial coefficients (ocam_model.ss in MATLAB)\nfive\n"),
            Format::OcamCalib
        );
        assert_eq!(detect("# comment\nformat = \"x\"\n"), Format::Toml);
        assert_eq!(detect(""), Format::Toml);
    }

    #[test]
    fn human_numbers() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1439.5), "1439.5");
        assert_eq!(num(408.9031773951029), "408.903");
        assert_eq!(num(-0.008304384099715515), "-0.00830438");
        assert_eq!(num(-55.0), "-55");
        assert_eq!(num(123456789.0), "123456789");
        assert_eq!(num(2.017491e-7), "2.01749e-7");
        assert_eq!(num(-2.2189e-10), "-2.2189e-10");
        assert_eq!(num(3e12), "3e12");
    }
}
