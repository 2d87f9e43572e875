//! The analysis image: a frame's luma read in place ([`Luma`]), box-averaged and blurred
//! into a small grey image ([`Gray`]); both sampled through [`Sampler`].

use crate::frame::{Frame, PixelFormat};

/// Something that can be sampled bilinearly at a continuous pixel position.
pub(super) trait Sampler {
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
pub(super) struct Luma<'a> {
    pub(super) data: &'a [u8],
    pub(super) stride: usize,
    pub(super) channels: usize,
    pub(super) width: usize,
    pub(super) height: usize,
}

impl<'a> Luma<'a> {
    pub(super) fn new(frame: &Frame<'a>) -> Self {
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
        // Samplers read inside `size()`, which the frame's checked plane holds.
        let i = y * self.stride + x * self.channels;
        if self.channels == 1 {
            self.data.get(i).map_or(0.0, |&v| f32::from(v))
        } else {
            match self.data.get(i..i + 3) {
                Some(&[r, g, b]) => {
                    0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
                }
                _ => 0.0,
            }
        }
    }
}

/// A float grey image.
#[derive(Debug, Clone)]
pub(super) struct Gray {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) px: Vec<f32>,
}

impl Sampler for Gray {
    fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    #[inline]
    fn at(&self, x: usize, y: usize) -> f32 {
        self.px.get(y * self.w + x).copied().unwrap_or(0.0)
    }
}

impl Gray {
    /// Separable [1 4 6 4 1]/16 blur, edges clamped.
    pub(super) fn blurred(&self) -> Self {
        const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
        let (w, h) = (self.w, self.h);
        let mut tmp = vec![0.0f32; w * h];
        for (row, out) in self
            .px
            .chunks_exact(w.max(1))
            .zip(tmp.chunks_exact_mut(w.max(1)))
        {
            for (x, o) in out.iter_mut().enumerate() {
                let mut s = 0.0;
                for (k, &kv) in K.iter().enumerate() {
                    let xx = (x + k).saturating_sub(2).min(w - 1);
                    s += kv * row.get(xx).copied().unwrap_or(0.0);
                }
                *o = s;
            }
        }
        let mut px = vec![0.0f32; w * h];
        for (y, dst) in px.chunks_exact_mut(w.max(1)).enumerate() {
            for (k, &kv) in K.iter().enumerate() {
                let yy = (y + k).saturating_sub(2).min(h - 1);
                let src = tmp.get(yy * w..(yy + 1) * w).unwrap_or_default();
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
pub(super) fn downscale(luma: &Luma<'_>, factor: usize) -> Gray {
    let (w, h) = (luma.width / factor, luma.height / factor);
    let mut px = vec![0.0f32; w * h];
    let norm = 1.0 / (factor * factor) as f32;
    for (y, out) in px.chunks_exact_mut(w.max(1)).enumerate() {
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
