//! Which calibration serves an input: the file the caller names, else the sidecar file
//! beside the input, else the mirror ring detected in one of its frames. The CLI and the
//! viewer both follow this rule.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::detect::{DetectOptions, DetectedRing, detect_ring};
use crate::frame::Frame;
use crate::model::Calibration;

/// What a sidecar calibration's file name ends with: `DIR/NAME.omnidewarp.toml` serves
/// `DIR/NAME.EXT`.
pub const SIDECAR_SUFFIX: &str = ".omnidewarp.toml";

/// The sidecar calibration of `input`: `DIR/NAME.omnidewarp.toml` for `DIR/NAME.EXT`
/// (`NAME` is the file name without its last extension). Where a viewer saves a
/// calibration made by eye, and where [`resolve`] looks for one.
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     omnidewarp::calib::sidecar_path(Path::new("clips/roof.cam.mp4")),
///     Path::new("clips/roof.cam.omnidewarp.toml"),
/// );
/// ```
#[must_use]
pub fn sidecar_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    input.with_file_name(format!("{stem}{SIDECAR_SUFFIX}"))
}

/// Where a [`ResolvedCalibration`] came from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CalibrationOrigin {
    /// The file the caller named.
    File(PathBuf),
    /// The sidecar file beside the input ([`sidecar_path`]).
    Sidecar(PathBuf),
    /// The ring detected in a frame of the input, made a ring calibration with the
    /// elevations of the [`DetectOptions`] used.
    Detected(DetectedRing),
}

impl fmt::Display for CalibrationOrigin {
    /// One line: `PATH`, `PATH (beside the input)`, or `the detected ring centre (…), …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Sidecar(path) => write!(f, "{} (beside the input)", path.display()),
            Self::Detected(ring) => write!(f, "the detected {ring}"),
        }
    }
}

/// A calibration and where it came from (for a log line or a viewer's status bar).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCalibration {
    /// The calibration.
    pub calibration: Calibration,
    /// Where it came from.
    pub origin: CalibrationOrigin,
}

impl ResolvedCalibration {
    /// The calibration file at `path` (any format [`Calibration::load`] reads).
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self {
            calibration: Calibration::load(path)?,
            origin: CalibrationOrigin::File(path.to_owned()),
        })
    }

    /// The ring calibration detected in `frame` ([`detect_ring`], then
    /// [`DetectedRing::to_calibration`] with the same `options`).
    pub fn detect(frame: &Frame<'_>, options: &DetectOptions) -> Result<Self> {
        let ring = detect_ring(frame, options)?;
        Ok(Self {
            calibration: ring.to_calibration(options)?,
            origin: CalibrationOrigin::Detected(ring),
        })
    }
}

/// The calibration for an input: `explicit` when given; else the sidecar beside `input`
/// ([`sidecar_path`]) when `input` is a file and the sidecar exists; else what `detect`
/// returns (typically [`ResolvedCalibration::detect`] on the input's first frame, which the
/// caller reads only when it is needed).
///
/// A named or sidecar file that cannot be read is an error, never a silent fall back to
/// detection. `input` is `None` for inputs that are not files (URLs, devices).
pub fn resolve(
    explicit: Option<&Path>,
    input: Option<&Path>,
    detect: impl FnOnce() -> Result<ResolvedCalibration>,
) -> Result<ResolvedCalibration> {
    if let Some(path) = explicit {
        return ResolvedCalibration::load(path);
    }
    if let Some(input) = input.filter(|p| p.is_file()) {
        let sidecar = sidecar_path(input);
        if sidecar.is_file() {
            return Ok(ResolvedCalibration {
                calibration: Calibration::load(&sidecar)?,
                origin: CalibrationOrigin::Sidecar(sidecar),
            });
        }
    }
    detect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::model::{CameraModel, RingModel};

    fn ring_calibration(size: u32) -> Calibration {
        let c = f64::from(size) / 2.0 - 0.5;
        let ring = RingModel::builder()
            .center(glam::DVec2::new(c, c))
            .radii(20.0, 60.0)
            .elevations(-0.9, 0.6)
            .build()
            .unwrap();
        Calibration::new((size, size), CameraModel::Ring(ring), None).unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("omnidewarp-resolve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn never() -> Result<ResolvedCalibration> {
        panic!("detection must not run when a file serves")
    }

    #[test]
    fn sidecar_names_drop_only_the_last_extension() {
        assert_eq!(
            sidecar_path(Path::new("/a/b/clip.mp4")),
            Path::new("/a/b/clip.omnidewarp.toml")
        );
        assert_eq!(
            sidecar_path(Path::new("frame")),
            Path::new("frame.omnidewarp.toml")
        );
    }

    #[test]
    fn explicit_then_sidecar_then_detection() {
        let dir = temp_dir("order");
        let input = dir.join("clip.mp4");
        std::fs::write(&input, b"not read").unwrap();
        let named = dir.join("named.toml");
        ring_calibration(128).save_toml(&named).unwrap();

        // No file given, no sidecar: detection runs.
        let detected = ResolvedCalibration {
            calibration: ring_calibration(64),
            origin: CalibrationOrigin::File(PathBuf::from("stand-in")),
        };
        let got = resolve(None, Some(&input), || Ok(detected.clone())).unwrap();
        assert_eq!(got, detected);

        // A sidecar serves, and says where it came from.
        let sidecar = dir.join("clip.omnidewarp.toml");
        ring_calibration(256).save_toml(&sidecar).unwrap();
        let got = resolve(None, Some(&input), never).unwrap();
        assert_eq!(got.calibration.image_size, (256, 256));
        assert_eq!(got.origin, CalibrationOrigin::Sidecar(sidecar.clone()));
        assert!(got.origin.to_string().ends_with("(beside the input)"));

        // The named file wins over the sidecar.
        let got = resolve(Some(&named), Some(&input), never).unwrap();
        assert_eq!(got.calibration.image_size, (128, 128));
        assert_eq!(got.origin, CalibrationOrigin::File(named));

        // Not a file (a URL): the sidecar rule does not apply.
        let url = Path::new("http://127.0.0.1:9/clip.mp4");
        let got = resolve(None, Some(url), || Ok(detected.clone())).unwrap();
        assert_eq!(got, detected);

        // A broken sidecar is an error naming it, not a silent detection.
        std::fs::write(
            &sidecar,
            "format = \"omnidewarp-calibration\"\nversion = 99\n",
        )
        .unwrap();
        let err = resolve(None, Some(&input), never).unwrap_err();
        assert!(
            matches!(&err, Error::CalibrationFile { path, .. } if *path == sidecar),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn detection_reports_the_ring_it_found() {
        // A textured bright annulus on black, centred, radii 30 and 90.
        let size = 200u32;
        let c = f64::from(size) / 2.0 - 0.5;
        let mut pixels = vec![0u8; (size * size) as usize];
        for y in 0..size {
            for x in 0..size {
                let r = (f64::from(x) - c).hypot(f64::from(y) - c);
                if (30.0..=90.0).contains(&r) {
                    // Texture, so the ring is not a flat disc.
                    pixels[(y * size + x) as usize] = 120 + ((x / 7 + y / 5) % 3 * 40) as u8;
                }
            }
        }
        let frame = Frame::packed(crate::PixelFormat::Gray8, size, size, &pixels).unwrap();
        let got = ResolvedCalibration::detect(&frame, &DetectOptions::default()).unwrap();
        let CalibrationOrigin::Detected(found) = &got.origin else {
            panic!("{:?}", got.origin)
        };
        assert!((found.radius_outer - 90.0).abs() < 2.0, "{found}");
        assert!(
            got.origin
                .to_string()
                .starts_with("the detected ring centre")
        );
        assert_eq!(got.calibration.image_size, (size, size));
    }
}
