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

use crate::frame::{Frame, PixelFormat};
use crate::model::{Calibration, CameraModel, RingModel};
use crate::{Error, Result};

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

    /// Sets the heading imaged straight above the centre (radians).
    #[must_use]
    pub fn with_heading_at_top(mut self, heading: f64) -> Self {
        self.heading_at_top = heading;
        self
    }

    /// Sets whether the frame is seen through a mirror.
    #[must_use]
    pub fn with_mirrored(mut self, mirrored: bool) -> Self {
        self.mirrored = mirrored;
        self
    }

    /// Sets the confidence below which a frame is refused.
    #[must_use]
    pub fn with_min_confidence(mut self, min_confidence: f64) -> Self {
        self.min_confidence = min_confidence;
        self
    }

    /// Sets the long side of the analysis image.
    #[must_use]
    pub fn with_working_size(mut self, working_size: u32) -> Self {
        self.working_size = working_size;
        self
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

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

/// Something that can be sampled bilinearly at a continuous pixel position.
trait Sampler {
    /// Width and height.
    fn size(&self) -> (usize, usize);
    /// Value at integer pixel `(x, y)` (in range).
    fn at(&self, x: usize, y: usize) -> f32;

    /// Bilinear value at `(x, y)`, `None` outside `[0, w−1] × [0, h−1]`.
    #[inline]
    fn bilinear(&self, x: f64, y: f64) -> Option<f32> {
        let (w, h) = self.size();
        if !(x >= 0.0 && y >= 0.0 && x <= (w - 1) as f64 && y <= (h - 1) as f64) {
            return None;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
        let (x0, y0) = (x0 as usize, y0 as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }
}

/// The luma of a frame, read in place.
struct Luma<'a> {
    data: &'a [u8],
    stride: usize,
    channels: usize,
    width: usize,
    height: usize,
}

impl<'a> Luma<'a> {
    fn new(frame: &Frame<'a>) -> Self {
        let plane = frame.plane(0);
        let channels = match frame.format() {
            PixelFormat::Rgba8 => 4,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Gray8 | PixelFormat::I420 | PixelFormat::Nv12 => 1,
        };
        Self {
            data: plane.data,
            stride: plane.stride,
            channels,
            width: frame.width() as usize,
            height: frame.height() as usize,
        }
    }
}

impl Sampler for Luma<'_> {
    fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        let i = y * self.stride + x * self.channels;
        if self.channels == 1 {
            f32::from(self.data[i])
        } else {
            0.299 * f32::from(self.data[i])
                + 0.587 * f32::from(self.data[i + 1])
                + 0.114 * f32::from(self.data[i + 2])
        }
    }
}

/// A float grey image.
#[derive(Debug, Clone)]
struct Gray {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Sampler for Gray {
    fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        self.px[y * self.w + x]
    }
}

impl Gray {
    /// Separable [1 4 6 4 1]/16 blur, edges clamped.
    fn blurred(&self) -> Self {
        const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
        let (w, h) = (self.w, self.h);
        let mut tmp = vec![0.0f32; w * h];
        for y in 0..h {
            let row = &self.px[y * w..(y + 1) * w];
            for x in 0..w {
                let mut s = 0.0;
                for (k, &kv) in K.iter().enumerate() {
                    let xx = (x + k).saturating_sub(2).min(w - 1);
                    s += kv * row[xx];
                }
                tmp[y * w + x] = s;
            }
        }
        let mut px = vec![0.0f32; w * h];
        for y in 0..h {
            for (k, &kv) in K.iter().enumerate() {
                let yy = (y + k).saturating_sub(2).min(h - 1);
                let src = &tmp[yy * w..(yy + 1) * w];
                let dst = &mut px[y * w..(y + 1) * w];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += kv * s;
                }
            }
        }
        Self { w, h, px }
    }
}

/// Box-averages the luma by an integer `factor`: analysis pixel `i` covers frame pixels
/// `i·factor .. (i+1)·factor`, so its centre is frame `x = (i + 0.5)·factor − 0.5`.
fn downscale(luma: &Luma<'_>, factor: usize) -> Gray {
    let (w, h) = (luma.width / factor, luma.height / factor);
    let mut px = vec![0.0f32; w * h];
    let norm = 1.0 / (factor * factor) as f32;
    for y in 0..h {
        let out = &mut px[y * w..(y + 1) * w];
        for sy in y * factor..(y + 1) * factor {
            for (x, o) in out.iter_mut().enumerate() {
                let mut s = 0.0;
                for sx in x * factor..(x + 1) * factor {
                    s += luma.at(sx, sy);
                }
                *o += s;
            }
        }
        out.iter_mut().for_each(|o| *o *= norm);
    }
    Gray { w, h, px }
}

// ---------------------------------------------------------------------------------------
// Edges and centre candidates
// ---------------------------------------------------------------------------------------

/// An edge pixel: position and unit gradient direction.
#[derive(Debug, Clone, Copy)]
struct Edge {
    x: f32,
    y: f32,
    nx: f32,
    ny: f32,
}

/// Most edges that vote; more are thinned evenly.
const MAX_EDGES: usize = 40_000;

/// Sobel edges, thinned by non-maximum suppression along the gradient and thresholded at
/// twice the median gradient magnitude (at least 1 grey level per pixel).
fn edges(img: &Gray) -> Vec<Edge> {
    let (w, h) = (img.w, img.h);
    let mut gx = vec![0.0f32; w * h];
    let mut gy = vec![0.0f32; w * h];
    let mut mag = vec![0.0f32; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let p = |dx: isize, dy: isize| {
                img.px[(y as isize + dy) as usize * w + (x as isize + dx) as usize]
            };
            let sx =
                (p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1)) / 8.0;
            let sy =
                (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1)) / 8.0;
            let i = y * w + x;
            gx[i] = sx;
            gy[i] = sy;
            mag[i] = sx.hypot(sy);
        }
    }
    let mut sorted: Vec<f32> = mag.iter().copied().filter(|&m| m > 0.0).collect();
    if sorted.is_empty() {
        return Vec::new();
    }
    let mid = sorted.len() / 2;
    let (_, &mut med, _) = sorted.select_nth_unstable_by(mid, f32::total_cmp);
    let threshold = (2.0 * med).max(1.0);
    let mut out = Vec::new();
    for y in 2..h - 2 {
        for x in 2..w - 2 {
            let i = y * w + x;
            let m = mag[i];
            if m < threshold {
                continue;
            }
            let (nx, ny) = (gx[i] / m, gy[i] / m);
            // Neighbour along the gradient, quantised to 8 directions.
            let (dx, dy) = (nx.round() as isize, ny.round() as isize);
            let a = mag[(y as isize + dy) as usize * w + (x as isize + dx) as usize];
            let b = mag[(y as isize - dy) as usize * w + (x as isize - dx) as usize];
            if m >= a && m > b {
                out.push(Edge {
                    x: x as f32,
                    y: y as f32,
                    nx,
                    ny,
                });
            }
        }
    }
    if out.len() > MAX_EDGES {
        let step = out.len().div_ceil(MAX_EDGES);
        out = out.into_iter().step_by(step).collect();
    }
    out
}

/// A candidate ring centre on the analysis image.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    center: DVec2,
}

/// How many centre candidates are refined.
const MAX_CANDIDATES: usize = 4;

/// Centre candidates from a coarse (x, y, r) Hough transform of the edges.
fn centre_candidates(img: &Gray, edges: &[Edge]) -> Vec<Candidate> {
    let (w, h) = (img.w as f32, img.h as f32);
    let cell = hough_cell(img);
    let nx = (w / cell).ceil() as usize;
    let ny = (h / cell).ceil() as usize;
    let r_min = 0.04 * w.min(h);
    let r_max = 0.5 * w.hypot(h);
    // Radius bins twice as coarse as the position cells: a circle's votes land within one
    // cell of its centre, while the exact radius is found later on the profile.
    let r_step = 2.0 * cell;
    let nr = ((r_max - r_min) / r_step).ceil().max(1.0) as usize;
    let plane = nx * ny;
    let mut acc = vec![0.0f32; plane * nr];
    for e in edges {
        for b in 0..nr {
            let r = r_min + (b as f32 + 0.5) * r_step;
            for s in [-r, r] {
                let cx = (e.x + s * e.nx + 0.5) / cell;
                let cy = (e.y + s * e.ny + 0.5) / cell;
                if cx >= 0.0 && cy >= 0.0 {
                    let (ix, iy) = (cx as usize, cy as usize);
                    if ix < nx && iy < ny {
                        acc[b * plane + iy * nx + ix] += 1.0;
                    }
                }
            }
        }
    }
    let acc = box3(&acc, nx, ny, nr);
    // Score of each (x, y): the best radius' votes above that radius' typical level.
    let mut score = vec![f32::MIN; plane];
    for b in 0..nr {
        let layer = &acc[b * plane..(b + 1) * plane];
        let step = (layer.len() / 2048).max(1);
        let mut sorted: Vec<f32> = layer.iter().step_by(step).copied().collect();
        let mid = sorted.len() / 2;
        let (_, &mut typical, _) = sorted.select_nth_unstable_by(mid, f32::total_cmp);
        for (s, &v) in score.iter_mut().zip(layer) {
            *s = s.max(v - typical);
        }
    }
    let mut order: Vec<usize> = (0..plane).filter(|&i| score[i] > 0.0).collect();
    order.sort_unstable_by(|&a, &b| score[b].total_cmp(&score[a]));
    let suppress = (0.08 * w.min(h) / cell).max(1.5);
    let mut picked: Vec<(usize, usize)> = Vec::new();
    for i in order {
        let (ix, iy) = (i % nx, i / nx);
        if picked
            .iter()
            .all(|&(px, py)| (px as f32 - ix as f32).hypot(py as f32 - iy as f32) > suppress)
        {
            picked.push((ix, iy));
            if picked.len() == MAX_CANDIDATES {
                break;
            }
        }
    }
    picked
        .into_iter()
        .map(|(ix, iy)| {
            // Centre of the cell, refined by the centroid of its 3×3 neighbourhood.
            let (mut sx, mut sy, mut sw) = (0.0f64, 0.0f64, 0.0f64);
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let (x, y) = (ix as isize + dx, iy as isize + dy);
                    if x < 0 || y < 0 || x >= nx as isize || y >= ny as isize {
                        continue;
                    }
                    let s = f64::from(score[y as usize * nx + x as usize].max(0.0));
                    sx += s * x as f64;
                    sy += s * y as f64;
                    sw += s;
                }
            }
            let (cx, cy) = if sw > 0.0 {
                (sx / sw, sy / sw)
            } else {
                (ix as f64, iy as f64)
            };
            let cell = f64::from(cell);
            Candidate {
                center: DVec2::new((cx + 0.5) * cell - 0.5, (cy + 0.5) * cell - 0.5),
            }
        })
        .collect()
}

/// Side of a Hough position cell, analysis pixels: about 1/75 of the short side.
fn hough_cell(img: &Gray) -> f32 {
    (img.w.min(img.h) as f32 / 75.0).round().max(2.0)
}

/// 3×3×3 box sum of an `nx × ny × nr` volume (x fastest), zero outside.
fn box3(v: &[f32], nx: usize, ny: usize, nr: usize) -> Vec<f32> {
    let mut a = v.to_vec();
    let mut b = vec![0.0f32; v.len()];
    // Along x, within each row.
    for (src, dst) in a.chunks_exact(nx).zip(b.chunks_exact_mut(nx)) {
        for (x, d) in dst.iter_mut().enumerate() {
            let lo = x.saturating_sub(1);
            let hi = (x + 2).min(nx);
            *d = src[lo..hi].iter().sum();
        }
    }
    // Along y and r: whole rows (planes) at a time.
    for (stride, n) in [(nx, ny), (nx * ny, nr)] {
        a.iter_mut().for_each(|v| *v = 0.0);
        let block = stride * n;
        for (src, dst) in b.chunks_exact(block).zip(a.chunks_exact_mut(block)) {
            for k in 0..n {
                let out = &mut dst[k * stride..(k + 1) * stride];
                for j in k.saturating_sub(1)..(k + 2).min(n) {
                    for (o, s) in out.iter_mut().zip(&src[j * stride..(j + 1) * stride]) {
                        *o += s;
                    }
                }
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    b
}

// ---------------------------------------------------------------------------------------
// Radial profiles and circle fits
// ---------------------------------------------------------------------------------------

/// Luma resampled along `angles` rays from `center` at radii `r0 + i` (i < `n`), with the
/// radial derivative of its Gaussian-smoothed version. `None` where the ray left the frame.
struct Polar {
    angles: usize,
    n: usize,
    r0: f64,
    /// `angles × n` derivatives (NaN where undefined).
    deriv: Vec<f32>,
    /// `angles × n` smoothed values (NaN where undefined).
    value: Vec<f32>,
}

impl Polar {
    fn new(
        img: &impl Sampler,
        center: DVec2,
        angles: usize,
        r0: f64,
        n: usize,
        sigma: f64,
    ) -> Self {
        let radius = (3.0 * sigma).ceil() as usize + 1;
        let kernel: Vec<f32> = (0..=2 * radius)
            .map(|k| {
                let d = k as f64 - radius as f64;
                (-0.5 * d * d / (sigma * sigma)).exp() as f32
            })
            .collect();
        let ksum: f32 = kernel.iter().sum();
        let total = n + 2 * radius + 2;
        let start = r0 - (radius + 1) as f64;
        let mut raw = vec![f32::NAN; total];
        let mut smooth = vec![f32::NAN; total];
        let mut deriv = vec![f32::NAN; angles * n];
        let mut value = vec![f32::NAN; angles * n];
        for a in 0..angles {
            let t = std::f64::consts::TAU * a as f64 / angles as f64;
            let (s, c) = t.sin_cos();
            for (i, v) in raw.iter_mut().enumerate() {
                let r = start + i as f64;
                *v = if r < 0.0 {
                    f32::NAN
                } else {
                    img.bilinear(center.x + r * c, center.y + r * s)
                        .unwrap_or(f32::NAN)
                };
            }
            for i in radius..total - radius {
                let mut acc = 0.0;
                for (k, &kv) in kernel.iter().enumerate() {
                    acc += kv * raw[i + k - radius];
                }
                smooth[i] = acc / ksum;
            }
            let row = &mut deriv[a * n..(a + 1) * n];
            for (i, d) in row.iter_mut().enumerate() {
                let j = i + radius + 1;
                *d = 0.5 * (smooth[j + 1] - smooth[j - 1]);
            }
            value[a * n..(a + 1) * n].copy_from_slice(&smooth[radius + 1..radius + 1 + n]);
        }
        Self {
            angles,
            n,
            r0,
            deriv,
            value,
        }
    }

    /// Angular spread at each radius: the median over angles of the absolute deviation from
    /// the median value (0 where too few angles are in the frame). Low inside the camera's
    /// nearly rotationally symmetric reflection, high in the scene.
    fn angular_spread(&self, min_fraction: f64) -> Vec<f32> {
        let mut column = Vec::with_capacity(self.angles);
        (0..self.n)
            .map(|i| {
                column.clear();
                column.extend(
                    (0..self.angles)
                        .map(|a| self.value[a * self.n + i])
                        .filter(|v| !v.is_nan()),
                );
                if column.is_empty() || (column.len() as f64) < min_fraction * self.angles as f64 {
                    return 0.0;
                }
                let mid = column.len() / 2;
                let (_, &mut m, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                column.iter_mut().for_each(|v| *v = (*v - m).abs());
                let (_, &mut spread, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                spread
            })
            .collect()
    }

    fn row(&self, a: usize) -> &[f32] {
        &self.deriv[a * self.n..(a + 1) * self.n]
    }

    /// `M(r)`: median over angles of `|d|` at each radius, where each angle's `|d|` is first
    /// maxed over `±window` samples (so a centre that is a few pixels off still lines its
    /// circle's edges up); `None` where fewer than `min_fraction` of the angles are in the
    /// frame.
    fn median_profile(&self, min_fraction: f64, window: usize) -> Vec<Option<f32>> {
        let n = self.n;
        let mut widened = vec![f32::NAN; self.angles * n];
        for a in 0..self.angles {
            let row = &self.deriv[a * n..(a + 1) * n];
            let out = &mut widened[a * n..(a + 1) * n];
            for (i, o) in out.iter_mut().enumerate() {
                if row[i].is_nan() {
                    continue;
                }
                let lo = i.saturating_sub(window);
                let hi = (i + window + 1).min(n);
                *o = row[lo..hi]
                    .iter()
                    .filter(|d| !d.is_nan())
                    .fold(0.0f32, |m, d| m.max(d.abs()));
            }
        }
        let mut column = Vec::with_capacity(self.angles);
        (0..n)
            .map(|i| {
                column.clear();
                column.extend(
                    (0..self.angles)
                        .map(|a| widened[a * n + i])
                        .filter(|d| !d.is_nan()),
                );
                if (column.len() as f64) < min_fraction * self.angles as f64 {
                    return None;
                }
                let mid = column.len() / 2;
                let (_, &mut m, _) = column.select_nth_unstable_by(mid, f32::total_cmp);
                Some(m)
            })
            .collect()
    }

    /// Median `|d|` over every defined sample: the level of texture and noise.
    fn typical(&self) -> f32 {
        let mut all: Vec<f32> = self
            .deriv
            .iter()
            .filter(|d| !d.is_nan())
            .map(|d| d.abs())
            .collect();
        if all.is_empty() {
            return 0.0;
        }
        let mid = all.len() / 2;
        let (_, &mut m, _) = all.select_nth_unstable_by(mid, f32::total_cmp);
        m
    }
}

/// The edges along one ray of a polar window: local maxima of `|d|`, located to a
/// sub-sample by a parabola, as (radius, strength), strongest first.
#[derive(Debug, Clone)]
struct Ray {
    angle: f64,
    edges: Vec<(f64, f32)>,
}

impl Ray {
    /// Strength of the strongest edge.
    fn strength(&self) -> f32 {
        self.edges.first().map_or(0.0, |e| e.1)
    }
}

/// Most edges kept per ray.
const EDGES_PER_RAY: usize = 4;

/// The edges on every ray of the polar window; rays with an undefined sample are out of
/// the frame: `None`.
fn ray_edges(polar: &Polar) -> Vec<Option<Ray>> {
    (0..polar.angles)
        .map(|a| {
            let row = polar.row(a);
            if row.iter().any(|d| d.is_nan()) {
                return None;
            }
            let m = |i: usize| row[i].abs();
            let n = row.len();
            let mut edges: Vec<(f64, f32)> = (0..n)
                .filter(|&i| (i == 0 || m(i) >= m(i - 1)) && (i + 1 == n || m(i) > m(i + 1)))
                .map(|i| {
                    let mut offset = 0.0;
                    if i > 0 && i + 1 < n {
                        let (l, c, r) = (m(i - 1), m(i), m(i + 1));
                        let den = l - 2.0 * c + r;
                        if den < 0.0 {
                            offset = f64::from((0.5 * (l - r) / den).clamp(-0.5, 0.5));
                        }
                    }
                    (polar.r0 + i as f64 + offset, m(i))
                })
                .collect();
            edges.sort_unstable_by(|x, y| y.1.total_cmp(&x.1));
            edges.truncate(EDGES_PER_RAY);
            Some(Ray {
                angle: std::f64::consts::TAU * a as f64 / polar.angles as f64,
                edges,
            })
        })
        .collect()
}

/// A fitted circle and how well the edges support it.
#[derive(Debug, Clone, Copy)]
struct CircleFit {
    center: DVec2,
    radius: f64,
    /// Fraction of in-frame angles with a significant edge within tolerance.
    support: f64,
    /// Fraction of all angles that were in the frame.
    coverage: f64,
}

/// The rays of one circle, sampled around the fit's starting centre, the strength an edge
/// needs to count, and the circle's starting radius.
#[derive(Debug, Clone, Copy)]
struct CircleRays<'a> {
    rays: &'a [Option<Ray>],
    threshold: f32,
    radius: f64,
}

/// Robust geometric fit of concentric circles, a common centre and one radius each, to the
/// significant ray edges sampled around `center`: on each ray the edge nearest the current
/// circle is used (so a stronger scene edge next to the rim does not pull it; support,
/// though, only counts rays whose strongest edge is on the circle), weighted by
/// Tukey's biweight with each circle's scale from its median absolute residual, and the
/// fit iterated (IRLS, Gauss-Newton steps). With `fixed_center` only the radii move.
/// `None` when a circle has fewer than 8 significant edges or the fit degenerates.
fn fit_concentric(
    center: DVec2,
    circles: &[CircleRays<'_>],
    tolerance: f64,
    fixed_center: bool,
) -> Option<Vec<CircleFit>> {
    // Per circle, per in-frame ray: the significant edge points.
    let groups: Vec<Vec<Vec<DVec2>>> = circles
        .iter()
        .map(|circle| {
            circle
                .rays
                .iter()
                .flatten()
                .map(|ray| {
                    let dir = DVec2::new(ray.angle.cos(), ray.angle.sin());
                    ray.edges
                        .iter()
                        .filter(|e| e.1 >= circle.threshold)
                        .map(|e| center + e.0 * dir)
                        .collect::<Vec<_>>()
                })
                .filter(|pts| !pts.is_empty())
                .collect()
        })
        .collect();
    if groups.iter().any(|g| g.len() < 8) {
        return None;
    }
    let mut radii: Vec<f64> = circles.iter().map(|c| c.radius).collect();
    let n = 2 + groups.len();
    let mut c = center;
    // The point of each ray nearest the circle (c, r), and its signed residual.
    let nearest = |pts: &[DVec2], c: DVec2, r: f64| -> (DVec2, f64) {
        pts.iter()
            .map(|p| (*p, p.distance(c) - r))
            .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap_or((c, f64::INFINITY))
    };
    for _ in 0..12 {
        let mut jtj = [[0.0f64; 4]; 4];
        let mut jtr = [0.0f64; 4];
        for (g, rays) in groups.iter().enumerate() {
            let chosen: Vec<(DVec2, f64)> =
                rays.iter().map(|pts| nearest(pts, c, radii[g])).collect();
            let mut abs: Vec<f64> = chosen.iter().map(|(_, e)| e.abs()).collect();
            let k = 4.685 * (1.4826 * median(&mut abs)).max(0.25 * tolerance);
            for (p, e) in &chosen {
                let u = e / k;
                if u.abs() >= 1.0 {
                    continue;
                }
                let wgt = (1.0 - u * u).powi(2);
                let v = *p - c;
                let d = v.length().max(1e-9);
                let mut j = [0.0f64; 4];
                j[0] = -v.x / d;
                j[1] = -v.y / d;
                j[2 + g] = -1.0;
                for a in 0..n {
                    jtr[a] += wgt * j[a] * e;
                    for b in 0..n {
                        jtj[a][b] += wgt * j[a] * j[b];
                    }
                }
            }
        }
        let step = if fixed_center {
            // Radii only: each is its own 1×1 system.
            let mut step = [0.0f64; 4];
            for g in 0..groups.len() {
                if jtj[2 + g][2 + g] <= 0.0 {
                    return None;
                }
                step[2 + g] = jtr[2 + g] / jtj[2 + g][2 + g];
            }
            step
        } else {
            solve(jtj, jtr, n)?
        };
        c -= DVec2::new(step[0], step[1]);
        for (g, r) in radii.iter_mut().enumerate() {
            *r -= step[2 + g];
            if !(r.is_finite() && *r > 0.0) {
                return None;
            }
        }
        if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-4 {
            break;
        }
    }
    Some(
        circles
            .iter()
            .zip(&groups)
            .zip(&radii)
            .map(|((circle, rays), &r)| {
                let in_frame = circle.rays.iter().flatten().count();
                // Support counts a ray only when its strongest significant edge is on the
                // circle: choosing among several edges would find one by chance.
                let inliers = rays
                    .iter()
                    .filter(|pts| (pts[0].distance(c) - r).abs() <= tolerance)
                    .count();
                CircleFit {
                    center: c,
                    radius: r,
                    support: inliers as f64 / in_frame.max(1) as f64,
                    coverage: in_frame as f64 / circle.rays.len().max(1) as f64,
                }
            })
            .collect(),
    )
}

/// Solves the `n × n` (n ≤ 4) system `a · x = b` by Gaussian elimination with partial
/// pivoting, `None` when singular.
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4], n: usize) -> Option<[f64; 4]> {
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (v, p) in a[row][col..n].iter_mut().zip(&pivot_row[col..n]) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0f64; 4];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// The `q` quantile (nearest rank) of `v`, NaN when empty.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = ((v.len() - 1) as f64 * q).round() as usize;
    let (_, &mut m, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    m
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    let (_, &mut m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    m
}

// ---------------------------------------------------------------------------------------
// The search
// ---------------------------------------------------------------------------------------

/// A ring on the analysis image.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    center: DVec2,
    radius_outer: f64,
    outer: CircleFit,
    inner: Option<CircleFit>,
}

impl Estimate {
    fn score(&self) -> f64 {
        confidence(self.outer.support, self.inner.map_or(0.0, |f| f.support))
    }
}

/// Confidence from the rim's and the blind spot's support: the rim's support, discounted
/// by up to 40 % when the blind spot is not seen (a plain circle in a photo has no plain
/// camera reflection in its middle).
fn confidence(outer: f64, inner: f64) -> f64 {
    (outer * (0.6 + 0.4 * inner)).clamp(0.0, 1.0)
}

/// Angles sampled on the analysis image.
const WORK_ANGLES: usize = 360;
/// Largest blind spot radius, as a fraction of the rim's: a camera reflection covering more
/// of the mirror would leave little to see (typical optics: 0.1–0.4).
const MAX_INNER_FRACTION: f64 = 0.55;
/// Angles of the whole-radius profiles `M(r)` (a median needs fewer).
const PROFILE_ANGLES: usize = 180;
/// Smallest rim radius searched, as a fraction of the frame's short side: the mirror is
/// assumed to fill a good part of the frame (this keeps balls, plates and the sun out).
const MIN_RIM_FRACTION: f64 = 0.2;
/// Least fraction of a circle's angles that must lie in the frame.
const MIN_COVERAGE: f64 = 0.3;

/// Local maxima of `M(r)` at least `floor`, as (radius, value). A maximum must be the
/// largest within `±reach` samples (the first of equal values wins); its radius is the
/// middle of the run of samples within 5 % of it, since a profile maxed over a window has
/// flat tops.
fn profile_peaks(profile: &[Option<f32>], r0: f64, floor: f32, reach: usize) -> Vec<(f64, f32)> {
    let mut peaks = Vec::new();
    for i in 0..profile.len() {
        let Some(v) = profile[i] else { continue };
        if v < floor {
            continue;
        }
        let lo = i.saturating_sub(reach);
        let hi = (i + reach + 1).min(profile.len());
        let is_max =
            (lo..hi).all(|j| j == i || profile[j].is_none_or(|u| u < v || (u == v && j > i)));
        if is_max {
            let near = |j: usize| profile[j].is_some_and(|u| u >= 0.95 * v);
            let mut a = i;
            while a > 0 && near(a - 1) {
                a -= 1;
            }
            let mut b = i;
            while b + 1 < profile.len() && near(b + 1) {
                b += 1;
            }
            peaks.push((r0 + 0.5 * (a + b) as f64, v));
        }
    }
    peaks
}

/// Finds and fits the rim and blind spot around a centre candidate on the analysis image.
fn refine_candidate(
    img: &Gray,
    candidate: Candidate,
    window: usize,
) -> std::result::Result<Estimate, String> {
    let (w, h) = (img.w as f64, img.h as f64);
    let short = w.min(h);
    let mut center = candidate.center;
    let r_far = [
        (0.0, 0.0),
        (w - 1.0, 0.0),
        (0.0, h - 1.0),
        (w - 1.0, h - 1.0),
    ]
    .iter()
    .map(|&(x, y)| center.distance(DVec2::new(x, y)))
    .fold(0.0, f64::max);
    let r_start = (0.03 * short).max(3.0);
    let n = (r_far - r_start).max(1.0) as usize;
    let polar = Polar::new(img, center, PROFILE_ANGLES, r_start, n, 2.0);
    let profile = polar.median_profile(MIN_COVERAGE, window);
    let typical = polar.typical();
    let top = profile.iter().flatten().copied().fold(0.0f32, f32::max);
    let floor = (3.0 * typical).max(0.25 * top).max(0.3);
    let peaks = profile_peaks(&profile, r_start, floor, window + 2);
    let Some(&(r_rim, m_rim)) = peaks
        .iter()
        .rev()
        .find(|&&(r, _)| r >= MIN_RIM_FRACTION * short)
    else {
        return Err("no circular edge stands out around the candidate centres".to_owned());
    };
    // Edges weaker than this do not count: a third of the rim's median edge, and well above
    // the texture and noise level.
    let threshold = (0.33 * m_rim).max(2.5 * typical).max(0.3);
    let mut radius = r_rim;
    let mut fit = None;
    for (half, sigma) in [(6.0, 1.5), (3.0, 1.0), (2.0, 1.0)] {
        let rays = rays_near(img, center, WORK_ANGLES, radius, half, sigma);
        let rim = CircleRays {
            rays: &rays,
            threshold,
            radius,
        };
        let Some(&[f]) = fit_concentric(center, &[rim], 1.0, false).as_deref() else {
            return Err("too few rim edges".to_owned());
        };
        if f.coverage < MIN_COVERAGE || f.center.distance(center) > 3.0 * half {
            return Err("rim fit diverged or left the frame".to_owned());
        }
        center = f.center;
        radius = f.radius;
        fit = Some(f);
    }
    let Some(mut outer) = fit else {
        return Err("no rim fit".to_owned());
    };
    // The blind spot: the circle edge with the camera's plain reflection inside and the
    // scene outside, told apart by their angular spread (a lens ring inside the reflection
    // has plain on both sides, a horizon has scene on both sides).
    let n_in = (0.85 * radius - r_start).max(1.0) as usize;
    let polar_in = Polar::new(img, center, PROFILE_ANGLES, r_start, n_in, 1.5);
    let profile_in = polar_in.median_profile(MIN_COVERAGE, 1);
    let spread = polar_in.angular_spread(MIN_COVERAGE);
    let inner_floor = (3.0 * typical).max(0.15 * m_rim).max(0.3);
    // Bands of radii just inside and just outside a candidate edge, and the scene's own
    // typical angular spread (well inside the ring) to judge them by.
    let band = (0.05 * radius).max(3.0) as usize;
    let scene_spread = quantile(
        spread
            .iter()
            .enumerate()
            .filter(|&(i, _)| r_start + i as f64 >= 0.5 * radius)
            .map(|(_, &v)| f64::from(v))
            .collect(),
        0.5,
    );
    if scene_spread.is_nan() || scene_spread <= 0.0 {
        // A featureless ring: there is no way to tell the camera from the scene.
        return Ok(Estimate {
            center,
            radius_outer: radius,
            outer,
            inner: None,
        });
    }
    let mut inner: Option<(CircleFit, f32)> = None;
    for (r_in, m_in) in profile_peaks(&profile_in, r_start, inner_floor, 2)
        .into_iter()
        .filter(|&(r, _)| r <= MAX_INNER_FRACTION * radius)
    {
        let i = (r_in - r_start).round() as usize;
        let inside_end = i.saturating_sub(2).max(1);
        let inside: Vec<f64> = spread[inside_end.saturating_sub(band)..inside_end]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let outside: Vec<f64> = spread[(i + 2).min(spread.len())..(i + 2 + band).min(spread.len())]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        if outside.is_empty() {
            continue;
        }
        let a_in = quantile(inside, 0.5);
        let a_out = quantile(outside, 0.5);
        let contrast = a_out / (a_in + 0.02 * scene_spread + 0.3);
        // Plain inside, busy outside: edges inside the camera's reflection score below 1
        // (rarely up to 1.8), the scene around it 2 (plain ground in a dark scene) or more.
        if contrast < 2.0 {
            continue;
        }
        let rays = rays_near(img, center, WORK_ANGLES, r_in, 3.0, 1.0);
        let t = (0.33 * m_in).max(2.5 * typical).max(0.3);
        let circle = CircleRays {
            rays: &rays,
            threshold: t,
            radius: r_in,
        };
        if let Some(&[f]) = fit_concentric(center, &[circle], 1.0, true).as_deref() {
            if f.support >= 0.4 {
                // The innermost such circle: further out come scene circles (a horizon
                // between plain ground and busy sky passes the test too).
                inner = Some((f, t));
                break;
            }
        }
    }
    // Both circles together pin the centre down better than the rim alone, which may be
    // mostly outside the frame.
    if let Some((mut fin, t_in)) = inner {
        for half in [3.0, 2.0] {
            let rim = rays_near(img, center, WORK_ANGLES, radius, half, 1.0);
            let blind = rays_near(img, center, WORK_ANGLES, fin.radius, half, 1.0);
            let circles = [
                CircleRays {
                    rays: &rim,
                    threshold,
                    radius,
                },
                CircleRays {
                    rays: &blind,
                    threshold: t_in,
                    radius: fin.radius,
                },
            ];
            match fit_concentric(center, &circles, 1.0, false).as_deref() {
                Some(&[o, i])
                    if o.center.distance(center) < half
                        && o.support + i.support >= outer.support + fin.support - 0.05 =>
                {
                    center = o.center;
                    radius = o.radius;
                    outer = o;
                    fin = i;
                }
                _ => break,
            }
        }
        inner = Some((fin, t_in));
    }
    let inner = inner.map(|(f, _)| f);
    Ok(Estimate {
        center,
        radius_outer: radius,
        outer,
        inner,
    })
}

/// Ray edges within `±half` of `radius` around `center`, the luma smoothed along the rays
/// by `sigma`.
fn rays_near(
    img: &impl Sampler,
    center: DVec2,
    angles: usize,
    radius: f64,
    half: f64,
    sigma: f64,
) -> Vec<Option<Ray>> {
    let polar = Polar::new(
        img,
        center,
        angles,
        radius - half,
        (2.0 * half) as usize + 1,
        sigma,
    );
    ray_edges(&polar)
}

/// Ray edges near `radius` on the full-resolution luma (about one angle per 2 px of
/// circumference), and a threshold of a third of their median strength.
fn full_rays(luma: &Luma<'_>, center: DVec2, radius: f64, half: f64) -> (Vec<Option<Ray>>, f32) {
    let angles = ((std::f64::consts::TAU * radius / 2.0) as usize).clamp(90, 1440);
    let rays = rays_near(luma, center, angles, radius, half, 1.0);
    let mut strengths: Vec<f64> = rays
        .iter()
        .flatten()
        .map(|ray| f64::from(ray.strength()))
        .collect();
    let threshold = (0.33 * median(&mut strengths)).max(0.5) as f32;
    (rays, threshold)
}

/// Refits the analysis-image estimate on the full-resolution luma: rim and blind spot
/// together when both were found, the rim alone otherwise.
fn refine_full(luma: &Luma<'_>, coarse: &Estimate, factor: usize) -> DetectedRing {
    let f = factor as f64;
    let mut center = (coarse.center + 0.5) * f - 0.5;
    let mut radius = coarse.radius_outer * f;
    let half = (1.5 * f).max(2.0);
    let tolerance = (0.5 * f).max(1.0) + 0.002 * radius;
    let mut outer = coarse.outer;
    let mut inner = coarse.inner.map(|i| (i.radius * f, i.support));
    for _ in 0..2 {
        let (rim, t_rim) = full_rays(luma, center, radius, half);
        let rim = CircleRays {
            rays: &rim,
            threshold: t_rim,
            radius,
        };
        let joint = inner.and_then(|(r_in, _)| {
            let (blind, t_in) = full_rays(luma, center, r_in, half);
            let blind = CircleRays {
                rays: &blind,
                threshold: t_in,
                radius: r_in,
            };
            fit_concentric(center, &[rim, blind], tolerance, false)
        });
        let fits = joint.or_else(|| fit_concentric(center, &[rim], tolerance, false));
        match fits.as_deref() {
            Some([o, rest @ ..])
                if o.center.distance(center) < half && o.support >= 0.5 * outer.support =>
            {
                center = o.center;
                radius = o.radius;
                outer = *o;
                if let Some(i) = rest.first() {
                    inner = Some((i.radius, i.support));
                }
            }
            _ => break,
        }
    }
    let (radius_inner, inner_support) = inner.unwrap_or((FALLBACK_INNER_FRACTION * radius, 0.0));
    DetectedRing {
        image_size: (luma.width as u32, luma.height as u32),
        center,
        radius_inner,
        radius_outer: radius,
        confidence: confidence(outer.support, inner_support),
        outer_support: outer.support,
        inner_support,
    }
}
