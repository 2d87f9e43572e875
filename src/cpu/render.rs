//! The forward renderer: a synthetic mirror frame from an equirectangular panorama.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use glam::{DVec2, DVec3};

use super::dewarp::{for_each_row, packed_fill, plane_ref, planes_of};
use super::sample::{MipChain, PlaneRef, WrapX, sample_lod, to_u8};
use crate::frame::{Frame, FrameMut, PixelFormat};
use crate::model::{Calibration, heading_elevation};
use crate::options::DewarpOptions;
use crate::{Error, Result};

/// Renders the frame a camera with `calibration` would see of the world in `panorama`, a
/// full-sphere equirectangular image (left edge heading −180°, top +90°), into `dst`
/// (same packed format as the panorama, any size: the calibration is scaled to it).
/// Pixels without content get `options.fill`. With `options.antialias`, the panorama is
/// sampled from its mip pyramid at each pixel's footprint, as the dewarper does.
pub fn render_mirror(
    panorama: &Frame<'_>,
    calibration: &Calibration,
    dst: &mut FrameMut<'_>,
    options: &DewarpOptions,
) -> Result<()> {
    let format = panorama.format();
    if format.is_yuv() || dst.format() != format {
        return Err(Error::OutputLayout(format!(
            "render_mirror needs the same packed format in and out, got {format:?} → {:?}",
            dst.format()
        )));
    }
    let calibration = calibration.scaled_to(dst.width(), dst.height())?;
    let band = calibration.elevation_range();
    let pano = plane_ref(panorama, 0);
    let mut mips = MipChain::default();
    if options.antialias {
        mips.rebuild(pano, format.plane_shape(0, 1, 1).2);
    }
    let (pw, ph) = (f64::from(pano.width), f64::from(pano.height));
    let to_pano = |d: DVec3| -> DVec2 {
        let (h, e) = heading_elevation(d);
        DVec2::new((h + PI) / TAU * pw - 0.5, (FRAC_PI_2 - e) / PI * ph - 0.5)
    };
    let model = &calibration.model;
    let locate = |x: f64, y: f64| -> Option<(f32, f32, f32)> {
        let d = model.unproject(DVec2::new(x, y))?;
        if !band.contains(d.z.clamp(-1.0, 1.0).asin()) {
            return None;
        }
        let p = to_pano(d);
        let step = |dx: f64, dy: f64| -> f64 {
            model
                .unproject(DVec2::new(x + dx, y + dy))
                .or_else(|| model.unproject(DVec2::new(x - dx, y - dy)))
                .map_or(0.0, |q| {
                    let v = to_pano(q) - p;
                    v.x.abs().min(pw - v.x.abs()).hypot(v.y)
                })
        };
        let footprint = step(1.0, 0.0).max(step(0.0, 1.0));
        let lod = if footprint > 0.0 {
            footprint.log2() as f32
        } else {
            -16.0
        };
        Some((p.x as f32, p.y as f32, lod))
    };
    let mips = options.antialias.then_some(&mips);
    let (w, h) = (dst.width(), dst.height());
    match format {
        PixelFormat::Rgba8 => fill_rows::<4>(pano, mips, dst, w, h, options, locate),
        PixelFormat::Rgb8 => fill_rows::<3>(pano, mips, dst, w, h, options, locate),
        _ => fill_rows::<1>(pano, mips, dst, w, h, options, locate),
    }
}

fn fill_rows<const C: usize>(
    pano: PlaneRef<'_>,
    mips: Option<&MipChain>,
    dst: &mut FrameMut<'_>,
    w: u32,
    h: u32,
    options: &DewarpOptions,
    locate: impl Fn(f64, f64) -> Option<(f32, f32, f32)> + Sync,
) -> Result<()> {
    let fill = packed_fill(options.fill, C);
    let [plane] = planes_of(dst)?;
    for_each_row(plane, w as usize * C, h, |j, row, _| {
        for (i, out) in row.chunks_exact_mut(C).enumerate() {
            match locate(i as f64, j as f64) {
                Some((x, y, lod)) => {
                    let v: [f32; C] =
                        sample_lod(pano, mips, x, y, lod, options.interpolation, WrapX::Repeat);
                    out.iter_mut().zip(v).for_each(|(o, c)| *o = to_u8(c));
                }
                None => out.iter_mut().zip(fill).for_each(|(o, f)| *o = f),
            }
        }
    });
    Ok(())
}
