//! The shader's mapping held against the CPU's exact one, pixel by pixel (positions, lod,
//! validity), for every model and projection. Runs on a real adapter (lavapipe in CI).

#[path = "../../tests/common/mod.rs"]
mod common;

use super::GpuDewarper;
use crate::cpu::map::ExactMap;
use crate::options::DewarpOptions;

#[test]
fn shader_mapping_matches_exact_map() {
    let Some((device, queue)) = common::device() else {
        return;
    };
    let mut worst_position = 0f64;
    let mut worst_lod = 0f64;
    for case in common::all_models() {
        let scaled = case
            .calibration
            .scaled_to(case.frame.0, case.frame.1)
            .unwrap();
        let map = ExactMap::new(&scaled);
        let frame = vec![0u8; (case.frame.0 * case.frame.1 * 4) as usize];
        let frame = crate::Frame::packed(
            crate::PixelFormat::Rgba8,
            case.frame.0,
            case.frame.1,
            &frame,
        )
        .unwrap();
        for (name, view) in common::views(&case) {
            let mut gpu = GpuDewarper::with_device(
                &device,
                &queue,
                case.calibration.clone(),
                view,
                DewarpOptions::default(),
            )
            .unwrap();
            gpu.upload(&frame).unwrap();
            let probe = gpu.probe().unwrap();
            let tiles = view.tiles();
            let (mut position, mut lod, mut disagree, mut valid) = (0f64, 0f64, 0usize, 0usize);
            for j in 0..view.height {
                for i in 0..view.width {
                    let g = probe[(j * view.width + i) as usize];
                    let tile = tiles
                        .iter()
                        .find(|t| {
                            i >= t.x0 && j >= t.y0 && i < t.x0 + t.width && j < t.y0 + t.height
                        })
                        .unwrap();
                    let c = map.point(tile, f64::from(i - tile.x0), f64::from(j - tile.y0));
                    match (c, g[3] == 1.0) {
                        (Some(c), true) => {
                            valid += 1;
                            let d = f64::from(c.x - g[0]).hypot(f64::from(c.y - g[1]));
                            position = position.max(d);
                            if c.lod > -10.0 {
                                lod = lod.max(f64::from((c.lod - g[2]).abs()));
                            }
                        }
                        (None, false) => {}
                        (c, _) => {
                            disagree += 1;
                            eprintln!("  {name} ({i}, {j}): cpu {c:?}, gpu {g:?}");
                        }
                    }
                }
            }
            eprintln!(
                "{:>13} {name:>13}: {valid} valid, {disagree} disagree, max |Δp| {position:.2e} px, \
                 max |Δlod| {lod:.2e}",
                case.name
            );
            assert!(
                disagree <= 1,
                "{} {name}: {disagree} pixels disagree on validity",
                case.name
            );
            worst_position = worst_position.max(position);
            worst_lod = worst_lod.max(lod);
        }
    }
    assert!(
        worst_position < 5e-4,
        "max position error {worst_position} px"
    );
    assert!(worst_lod < 1e-3, "max lod error {worst_lod}");
}
