//! Helpers shared by the integration tests: procedural scenes, f64 references, metrics.
#![allow(dead_code)]

use glam::{DVec2, DVec3};
use omnidewarp::model::{Calibration, View, heading_elevation};

/// A smooth, textured scene: RGB in 0..255 as a function of direction.
pub fn scene(d: DVec3) -> [f64; 3] {
    let (h, e) = heading_elevation(d);
    [
        128.0 + 90.0 * (3.0 * h).sin() * (2.0 * e).cos(),
        128.0 + 80.0 * (5.0 * e + h).sin(),
        128.0 + 70.0 * (2.0 * h - 4.0 * e).cos() * (h).cos(),
    ]
}

/// The scene as a full-sphere equirectangular RGBA image.
pub fn scene_panorama(width: u32, height: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(width, height, |i, j| {
        let h =
            -std::f64::consts::PI + std::f64::consts::TAU * (f64::from(i) + 0.5) / f64::from(width);
        let e = std::f64::consts::FRAC_PI_2
            - std::f64::consts::PI * (f64::from(j) + 0.5) / f64::from(height);
        let [r, g, b] = scene(omnidewarp::model::direction(h, e));
        image::Rgba([r.round() as u8, g.round() as u8, b.round() as u8, 255])
    })
}

/// A frame of `calibration` at its size, every pixel the scene seen there (black outside).
pub fn analytic_frame(calibration: &Calibration) -> image::RgbaImage {
    let band = calibration.elevation_range();
    let (w, h) = calibration.image_size;
    image::RgbaImage::from_fn(w, h, |i, j| {
        match calibration
            .model
            .unproject(DVec2::new(f64::from(i), f64::from(j)))
        {
            Some(d) if band.contains(d.z.asin()) => {
                let [r, g, b] = scene(d);
                image::Rgba([r.round() as u8, g.round() as u8, b.round() as u8, 255])
            }
            _ => image::Rgba([0, 0, 0, 255]),
        }
    })
}

/// Exact f64 source position of every output pixel (`None` outside the content).
pub fn exact_positions(calibration: &Calibration, view: &View) -> Vec<Option<(DVec2, DVec3)>> {
    let band = calibration.elevation_range();
    let (fw, fh) = (
        f64::from(calibration.image_size.0),
        f64::from(calibration.image_size.1),
    );
    let mut out = vec![None; (view.width * view.height) as usize];
    for tile in view.tiles() {
        for y in 0..tile.height {
            for x in 0..tile.width {
                let k = ((tile.y0 + y) * view.width + tile.x0 + x) as usize;
                out[k] = tile.ray(f64::from(x), f64::from(y)).and_then(|d| {
                    if !band.contains(d.z.asin()) {
                        return None;
                    }
                    let p = calibration.model.project(d)?;
                    (p.x >= -0.5 && p.y >= -0.5 && p.x <= fw - 0.5 && p.y <= fh - 0.5)
                        .then_some((p, d))
                });
            }
        }
    }
    out
}

/// f64 bilinear (clamp to edge) of an RGBA image.
pub fn bilinear_f64(img: &image::RgbaImage, p: DVec2) -> [f64; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (p.x.floor(), p.y.floor());
    let (tx, ty) = (p.x - x0, p.y - y0);
    let px = |x: i64, y: i64| {
        img.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)
            .0
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (a, b, c, d) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    std::array::from_fn(|k| {
        let top = f64::from(a[k]) * (1.0 - tx) + f64::from(b[k]) * tx;
        let bottom = f64::from(c[k]) * (1.0 - tx) + f64::from(d[k]) * tx;
        top * (1.0 - ty) + bottom * ty
    })
}

/// `mask` eroded by `radius` pixels (a pixel stays only if its whole square neighbourhood is in).
pub fn erode(mask: &[bool], width: u32, height: u32, radius: i64) -> Vec<bool> {
    let (w, h) = (i64::from(width), i64::from(height));
    (0..w * h)
        .map(|k| {
            let (x, y) = (k % w, k / w);
            (-radius..=radius).all(|dy| {
                (-radius..=radius).all(|dx| {
                    let (u, v) = (x + dx, y + dy);
                    u >= 0 && v >= 0 && u < w && v < h && mask[(v * w + u) as usize]
                })
            })
        })
        .collect()
}

/// PSNR (dB) and max absolute error over the RGB channels of the masked pixels.
pub fn compare(actual: &[u8], expected: &[[f64; 3]], mask: &[bool]) -> (f64, f64, usize) {
    let (mut sum, mut max, mut n) = (0.0, 0.0f64, 0usize);
    for (k, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        for c in 0..3 {
            let e = f64::from(actual[k * 4 + c]) - expected[k][c];
            sum += e * e;
            max = max.max(e.abs());
        }
        n += 1;
    }
    let mse = sum / (3 * n.max(1)) as f64;
    (10.0 * (255.0 * 255.0 / mse.max(1e-12)).log10(), max, n)
}
