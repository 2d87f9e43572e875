//! Anti-aliasing on the GPU: a zoomed-out perspective view of a fine grating (period ~3 frame
//! pixels, several times above the output's Nyquist rate). The ideal output is flat grey;
//! whatever varies is aliasing. With anti-aliasing the energy that reaches the output is a
//! small fraction of the grating's; without it, most of it folds into the view.
#![cfg(feature = "gpu")]

mod gpu_common;

use std::f64::consts::TAU;

use omnidewarp::model::{Orientation, Projection, View};
use omnidewarp::{DewarpOptions, Frame, FrameMut, GpuDewarper, PixelFormat};

const AMPLITUDE: f64 = 100.0;

/// A grey grating `128 + A sin(2πx/3.1) sin(2πy/3.3)` of the ring's native size.
fn grating(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let v = 128.0
                + AMPLITUDE * (TAU * f64::from(x) / 3.1).sin() * (TAU * f64::from(y) / 3.3).sin();
            v.round() as u8
        })
        .collect()
}

/// Energy per pixel of `img` (w × h, grey) at spatial frequencies above half the output's
/// Nyquist rate (|f| > 1/4 cycle per pixel on either axis), by a direct 2-D DFT.
fn high_frequency_energy(img: &[f64], w: usize, h: usize) -> f64 {
    let mut energy = 0.0;
    for ky in 0..h {
        for kx in 0..w {
            let fx = (kx.min(w - kx)) as f64 / w as f64;
            let fy = (ky.min(h - ky)) as f64 / h as f64;
            if fx <= 0.25 && fy <= 0.25 {
                continue;
            }
            let (mut re, mut im) = (0.0, 0.0);
            for y in 0..h {
                for x in 0..w {
                    let phase = TAU * ((kx * x) as f64 / w as f64 + (ky * y) as f64 / h as f64);
                    re += img[y * w + x] * phase.cos();
                    im -= img[y * w + x] * phase.sin();
                }
            }
            energy += re * re + im * im;
        }
    }
    // Parseval: Σ|F|² = N Σ|x|².
    energy / (w * h) as f64 / (w * h) as f64
}

#[test]
fn antialiasing_removes_the_grating() {
    let Some((device, queue)) = gpu_common::device() else {
        return;
    };
    let case = gpu_common::ring();
    let (w, h) = case.calibration.image_size;
    let data = grating(w, h);
    let frame = Frame::packed(PixelFormat::Gray8, w, h, &data).unwrap();
    let view = View::new(
        Projection::Perspective {
            fov: 100f64.to_radians(),
        },
        Orientation {
            yaw: 0.4,
            pitch: (-10f64).to_radians(),
            roll: 0.0,
        },
        64,
        40,
    )
    .unwrap();
    let mut gpu = GpuDewarper::with_device(
        &device,
        &queue,
        case.calibration.clone(),
        view,
        DewarpOptions::default(),
    )
    .unwrap();
    // The grating's own energy (variance of a product of two unit sines: 1/4).
    let pattern = AMPLITUDE * AMPLITUDE / 4.0;
    let mut energies = Vec::new();
    for antialias in [true, false] {
        let options = DewarpOptions::default().with_antialias(antialias);
        gpu.set_options(options);
        let mut out = vec![0u8; (view.width * view.height * 4) as usize];
        gpu.dewarp(
            &frame,
            &mut FrameMut::packed(PixelFormat::Rgba8, view.width, view.height, &mut out).unwrap(),
        )
        .unwrap();
        assert!(
            out.chunks(4).all(|p| p[3] == 255),
            "the view must lie inside the content"
        );
        let grey: Vec<f64> = out.chunks(4).map(|p| f64::from(p[0])).collect();
        let mean = grey.iter().sum::<f64>() / grey.len() as f64;
        let variance = grey.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / grey.len() as f64;
        let high = high_frequency_energy(&grey, view.width as usize, view.height as usize);
        let cpu = gpu_common::reference(&case, &view, &options, &frame);
        let vs_cpu = gpu_common::diff(&out, &cpu, 4).psnr;
        eprintln!(
            "aa={antialias}: energy above Nyquist/2 {high:.2} ({:.2} % of the grating's), \
             all AC {variance:.2}, mean {mean:.1}; GPU vs CPU {vs_cpu:.1} dB",
            100.0 * high / pattern
        );
        assert!(vs_cpu >= 40.0);
        energies.push((high, variance));
    }
    let ((on_high, on_all), (off_high, off_all)) = (energies[0], energies[1]);
    assert!(on_high < 0.01 * pattern, "with anti-aliasing: {on_high:.2}");
    assert!(on_all < 0.05 * pattern, "with anti-aliasing: {on_all:.2}");
    assert!(
        off_high > 0.1 * pattern,
        "without anti-aliasing: {off_high:.2}"
    );
    assert!(off_high > 20.0 * on_high && off_all > 10.0 * on_all);
}
