//! Calibration without a chessboard: find the mirror ring in a frame.
//!
//! A catadioptric frame shows the mirror as a disc: the **rim** (outer radius) where the
//! mirror ends, and in its middle the camera's own reflection, a **blind spot** (inner
//! radius). [`detect_ring`] estimates the common centre and both radii from the luma of one
//! frame; [`RingDetector`] (or [`detect_ring_frames`]) combines several frames of a video.
//! [`DetectedRing::to_calibration`] turns the result into a ring [`Calibration`] with an
//! assumed elevation range ([`DetectOptions`]).
//!
//! # Algorithm
//!
//! 1. **Analysis image.** The luma (grey, the Y plane, or BT.601 luma of RGB) is box-averaged
//!    down to at most [`DetectOptions::working_size`] pixels on its long side and blurred.
//! 2. **Centre candidates.** Gradient edges (Sobel, non-maximum suppressed) vote along their
//!    gradient direction, both ways, into a coarse (x, y, r) Hough accumulator: the gradient
//!    across a circle's edge points at its centre. The rim, the blind spot and the scene's
//!    own horizontal structures are concentric, so the mirror centre collects their votes.
//!    The few best peaks (after subtracting each radius' background) are candidates.
//! 3. **Radii.** Around a candidate, the luma is resampled along rays; the radial derivative's
//!    median magnitude over all angles, `M(r)`, peaks at circles centred there. Medians over
//!    angles ignore a mount bar or a bright window covering part of the circle, and rays
//!    that leave the frame are dropped, so a circle cut by the frame edge still counts. The
//!    rim is the outermost significant peak (beyond it there is no mirror content). The
//!    blind spot is the innermost peak with a *plain inside and a busy outside*: the luma's
//!    spread over angles just inside it is much lower than just outside. The camera's
//!    reflection is nearly rotationally symmetric, the scene is not, so this skips rings of
//!    the lens inside the reflection (plain on both sides) and horizons (busy on both).
//! 4. **Refinement.** On each ray the strongest edge near the circle is located to a
//!    sub-pixel (parabola through the derivative peak) and a circle is fitted by
//!    iteratively reweighted least squares (Tukey weights, scale from the median absolute
//!    residual), so edges from the bar or the scene are outliers. This runs on the analysis
//!    image and finally on the full-resolution luma.
//! 5. **Confidence.** The *support* of a circle is the fraction of its in-frame angles with a
//!    significant edge within tolerance of the fit. Confidence is
//!    `rim support × (0.6 + 0.4 × blind spot support)`; below
//!    [`DetectOptions::min_confidence`] (default 0.4) the frame is refused with
//!    [`Error::NoRingFound`]. Mirror frames score 0.6–1 (the OpenCV sample 0.72), photos
//!    without a mirror 0.1–0.3.
//!
//! The steps live in `image.rs` (1), `hough.rs` (2), `polar.rs` (the rays of 3 and 4),
//! `fit.rs` (4) and `search.rs` (3 to 5 put together); `mod.rs` holds the API.
//!
//! Pixel coordinates follow the crate's convention: `(0, 0)` is the centre of the top-left
//! pixel.
//!
//! # Limits
//!
//! - The rim's centre must lie in the frame, its radius be at least 20 % of the frame's
//!   short side, and at least 30 % of its angles fall inside the frame.
//! - The blind spot needs some contrast with the scene around it; when none is found its
//!   radius is guessed (a quarter of the rim's) and the confidence drops by 40 %.
//! - A mirror that is not round in the image (tilted mirror, non-square pixels) is fitted
//!   with the best circle.
//!
//! ```
//! use omnidewarp::detect::{DetectOptions, detect_ring};
//! use omnidewarp::{Frame, PixelFormat};
//! // A bright annulus (centre (100, 90), radii 25..80) on black, 200×180 grey.
//! let (w, h) = (200u32, 180u32);
//! let data: Vec<u8> = (0..w * h)
//!     .map(|i| {
//!         let (x, y) = (f64::from(i % w) - 100.0, f64::from(i / w) - 90.0);
//!         let r = x.hypot(y);
//!         if (25.0..=80.0).contains(&r) { 200 } else { 0 }
//!     })
//!     .collect();
//! let frame = Frame::packed(PixelFormat::Gray8, w, h, &data)?;
//! let ring = detect_ring(&frame, &DetectOptions::default())?;
//! assert!((ring.center - glam::DVec2::new(100.0, 90.0)).length() < 1.0);
//! assert!((ring.radius_outer - 80.0).abs() < 1.5);
//! let calibration = ring.to_calibration(&DetectOptions::default())?;
//! assert_eq!(calibration.image_size, (200, 180));
//! # Ok::<(), omnidewarp::Error>(())
//! ```

use std::fmt;

use glam::DVec2;

use crate::frame::Frame;
use crate::model::{Calibration, CameraModel, RingModel};
use crate::{Error, Result};

mod fit;
mod hough;
mod image;
mod polar;
mod search;

use fit::median;
use hough::{centre_candidates, edges, hough_cell};
use image::{Luma, downscale};
use search::{Estimate, refine_candidate, refine_full};

/// How [`detect_ring`] searches, and what [`DetectedRing::to_calibration`] assumes.
///
/// The elevation defaults describe a "0-360"-type equiangular panoramic optic (the common
/// add-on mirrors for phones and action cameras, about 115° of vertical field of view):
/// −55° at the blind spot's edge, +60° at the rim, the values DESIGN.md uses for its example
/// calibration. Elevation cannot be measured from one frame without a target; override these
/// when the optic's data sheet says otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DetectOptions {
    /// Elevation imaged at the inner radius (blind spot edge), radians. Default −55°.
    pub elevation_inner: f64,
    /// Elevation imaged at the outer radius (rim), radians. Default +60°.
    pub elevation_outer: f64,
    /// Heading of the ray imaged straight above the centre, radians. Default 0.
    pub heading_at_top: f64,
    /// `true` for a mirror (heading grows counter-clockwise on the image). Default `true`.
    pub mirrored: bool,
    /// Frames whose detection confidence is below this are refused. Default 0.4.
    pub min_confidence: f64,
    /// Long side, in pixels, of the downscaled image the search runs on (the final fit uses
    /// full resolution). Default 400; 200..=2000 is sensible, 64..=8192 is accepted.
    pub working_size: u32,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            elevation_inner: (-55f64).to_radians(),
            elevation_outer: 60f64.to_radians(),
            heading_at_top: 0.0,
            mirrored: true,
            min_confidence: 0.4,
            working_size: 400,
        }
    }
}

impl DetectOptions {
    /// Sets the elevations at the inner and outer radius (radians).
    #[must_use]
    pub fn with_elevations(mut self, inner: f64, outer: f64) -> Self {
        self.elevation_inner = inner;
        self.elevation_outer = outer;
        self
    }

    with_setters! {
        /// Sets the heading imaged straight above the centre (radians).
        with_heading_at_top(heading_at_top: f64);
        /// Sets whether the frame is seen through a mirror.
        with_mirrored(mirrored: bool);
        /// Sets the confidence below which a frame is refused.
        with_min_confidence(min_confidence: f64);
        /// Sets the long side of the analysis image.
        with_working_size(working_size: u32);
    }
}

/// A mirror ring found in a frame, in that frame's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedRing {
    /// Width and height of the frame it was found in.
    pub image_size: (u32, u32),
    /// Centre of the rim, pixels.
    pub center: DVec2,
    /// Radius of the camera's reflection (blind spot), pixels. When no blind spot edge was
    /// found (`inner_support == 0`) it is a guess: a quarter of `radius_outer`.
    pub radius_inner: f64,
    /// Radius of the mirror's rim, pixels.
    pub radius_outer: f64,
    /// Overall confidence in `[0, 1]`.
    pub confidence: f64,
    /// Fraction of the rim's in-frame angles with an edge on the fitted circle.
    pub outer_support: f64,
    /// Fraction of the blind spot's angles with an edge on its circle (0 when not found).
    pub inner_support: f64,
}

/// Blind spot radius, as a fraction of the rim's, assumed when none is seen.
const FALLBACK_INNER_FRACTION: f64 = 0.25;

impl DetectedRing {
    /// The ring model: this centre and these radii, the elevations, heading and handedness
    /// of `options`.
    pub fn ring_model(&self, options: &DetectOptions) -> Result<RingModel> {
        RingModel::builder()
            .center(self.center)
            .radii(self.radius_inner, self.radius_outer)
            .elevations(options.elevation_inner, options.elevation_outer)
            .heading_at_top(options.heading_at_top)
            .mirrored(options.mirrored)
            .build()
    }

    /// A ring calibration made at this frame's size (see [`DetectedRing::ring_model`]).
    pub fn to_calibration(&self, options: &DetectOptions) -> Result<Calibration> {
        Calibration::new(
            self.image_size,
            CameraModel::Ring(self.ring_model(options)?),
            None,
        )
    }
}

impl fmt::Display for DetectedRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ring centre ({:.1}, {:.1}), radii {:.1}..{:.1} px in {}×{}, confidence {:.2} \
             (rim edge on {:.0} % of angles, blind spot {})",
            self.center.x,
            self.center.y,
            self.radius_inner,
            self.radius_outer,
            self.image_size.0,
            self.image_size.1,
            self.confidence,
            self.outer_support * 100.0,
            if self.inner_support > 0.0 {
                format!("on {:.0} %", self.inner_support * 100.0)
            } else {
                "not seen, radius guessed".to_owned()
            }
        )
    }
}

/// Finds the mirror ring in one frame (any pixel format; only luma is used).
///
/// Errors: [`Error::NoRingFound`] when no circle is supported well enough (plain photos,
/// uniform or noise frames, a frame too small to analyse).
pub fn detect_ring(frame: &Frame<'_>, options: &DetectOptions) -> Result<DetectedRing> {
    check_options(options)?;
    let luma = Luma::new(frame);
    if luma.width < 32 || luma.height < 32 {
        return Err(no_ring(format!(
            "frame {}×{} is too small to analyse (at least 32×32)",
            luma.width, luma.height
        )));
    }
    let factor = luma
        .width
        .max(luma.height)
        .div_ceil(options.working_size as usize)
        .max(1);
    let work = downscale(&luma, factor);
    let blurred = work.blurred();
    let edges = edges(&blurred);
    if edges.len() < 16 {
        return Err(no_ring("the frame has no edges".to_owned()));
    }
    let candidates = centre_candidates(&blurred, &edges);
    if candidates.is_empty() {
        return Err(no_ring("no circular edges".to_owned()));
    }
    // The Hough cell size bounds the candidates' error.
    let window = (1.5 * f64::from(hough_cell(&work))).ceil() as usize;
    let mut best: Option<Estimate> = None;
    let mut last_reason = String::from("no circular edge around any candidate centre");
    // Candidates come best first; stop at one that is clearly a mirror.
    for c in candidates {
        match refine_candidate(&work, c, window) {
            Ok(e) => {
                let good = e.score() >= 0.8;
                if best.as_ref().is_none_or(|b| e.score() > b.score()) {
                    best = Some(e);
                }
                if good {
                    break;
                }
            }
            Err(reason) => last_reason = reason,
        }
    }
    let Some(coarse) = best else {
        return Err(no_ring(last_reason));
    };
    let ring = refine_full(&luma, &coarse, factor);
    if ring.confidence < options.min_confidence {
        return Err(no_ring(format!(
            "best circle has confidence {:.2} < {:.2} (rim edge on {:.0} % of angles)",
            ring.confidence,
            options.min_confidence,
            ring.outer_support * 100.0
        )));
    }
    Ok(ring)
}

/// Finds the ring in several frames of one camera and combines them (see [`RingDetector`]).
pub fn detect_ring_frames(frames: &[Frame<'_>], options: &DetectOptions) -> Result<DetectedRing> {
    let mut detector = RingDetector::new(*options);
    for frame in frames {
        // A frame without a visible ring (dark, blurred) is simply not counted.
        match detector.push(frame) {
            Ok(_) | Err(Error::NoRingFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    detector.estimate()
}

/// Combines ring detections over a stream of frames from one camera (live video).
///
/// Each pushed frame is analysed on its own; [`RingDetector::estimate`] takes the median
/// centre and radii of the frames where a ring was found. Medians shrug off the occasional
/// frame where a moving object fooled the detector, and scene content that changes between
/// frames cannot bias them, while the mirror stays put.
#[derive(Debug, Clone)]
pub struct RingDetector {
    options: DetectOptions,
    size: Option<(u32, u32)>,
    found: Vec<DetectedRing>,
    frames: usize,
}

impl RingDetector {
    /// An empty detector.
    #[must_use]
    pub fn new(options: DetectOptions) -> Self {
        Self {
            options,
            size: None,
            found: Vec::new(),
            frames: 0,
        }
    }

    /// Analyses one more frame and returns its own detection. Frames must all have the size
    /// of the first one.
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<DetectedRing> {
        let size = (frame.width(), frame.height());
        let first = *self.size.get_or_insert(size);
        if size != first {
            return Err(Error::FrameLayout(format!(
                "ring detection: frame {}×{} differs from the first frame's {}×{}",
                size.0, size.1, first.0, first.1
            )));
        }
        self.frames += 1;
        let ring = detect_ring(frame, &self.options)?;
        self.found.push(ring);
        Ok(ring)
    }

    /// Number of frames pushed, and in how many a ring was found.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        (self.frames, self.found.len())
    }

    /// The combined ring: per-parameter medians over the frames where one was found, with a
    /// confidence scaled by the fraction of frames that found it.
    pub fn estimate(&self) -> Result<DetectedRing> {
        let Some(first) = self.found.first() else {
            return Err(no_ring(format!(
                "no ring in any of {} frame(s)",
                self.frames
            )));
        };
        let median_of = |f: fn(&DetectedRing) -> f64| {
            let mut v: Vec<f64> = self.found.iter().map(f).collect();
            median(&mut v)
        };
        let hit_rate = self.found.len() as f64 / self.frames.max(1) as f64;
        let ring = DetectedRing {
            image_size: first.image_size,
            center: DVec2::new(median_of(|r| r.center.x), median_of(|r| r.center.y)),
            radius_inner: median_of(|r| r.radius_inner),
            radius_outer: median_of(|r| r.radius_outer),
            confidence: median_of(|r| r.confidence) * hit_rate,
            outer_support: median_of(|r| r.outer_support),
            inner_support: median_of(|r| r.inner_support),
        };
        if ring.confidence < self.options.min_confidence {
            return Err(no_ring(format!(
                "ring found in only {} of {} frames",
                self.found.len(),
                self.frames
            )));
        }
        Ok(ring)
    }
}

fn no_ring(reason: String) -> Error {
    Error::NoRingFound { reason }
}

fn check_options(options: &DetectOptions) -> Result<()> {
    if !(64..=8192).contains(&options.working_size) {
        return Err(crate::error::invalid(
            "working_size",
            format!("must be in 64..=8192, got {}", options.working_size),
        ));
    }
    if !(0.0..=1.0).contains(&options.min_confidence) {
        return Err(crate::error::invalid(
            "min_confidence",
            format!("must be in [0, 1], got {}", options.min_confidence),
        ));
    }
    Ok(())
}
