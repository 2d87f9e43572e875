//! Step 2: gradient edges (Sobel, non-maximum suppressed) and the mirror-centre candidates
//! they vote for in a coarse (x, y, r) Hough accumulator.

use glam::DVec2;

use super::image::Gray;

/// An edge pixel: position and unit gradient direction.
#[derive(Debug, Clone, Copy)]
pub(super) struct Edge {
    pub(super) x: f32,
    pub(super) y: f32,
    pub(super) nx: f32,
    pub(super) ny: f32,
}

/// Most edges that vote; more are thinned evenly.
pub(super) const MAX_EDGES: usize = 40_000;

/// Sobel edges, thinned by non-maximum suppression along the gradient and thresholded at
/// twice the median gradient magnitude (at least 1 grey level per pixel).
pub(super) fn edges(img: &Gray) -> Vec<Edge> {
    let (w, h) = (img.w, img.h);
    let mut gx = vec![0.0f32; w * h];
    let mut gy = vec![0.0f32; w * h];
    let mut mag = vec![0.0f32; w * h];
    // Every index below is within the image (x, y stay a pixel or two off the border).
    let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let p = |dx: isize, dy: isize| {
                at(
                    &img.px,
                    (y as isize + dy) as usize * w + (x as isize + dx) as usize,
                )
            };
            let sx =
                (p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1)) / 8.0;
            let sy =
                (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1)) / 8.0;
            let i = y * w + x;
            if let (Some(gx), Some(gy), Some(m)) = (gx.get_mut(i), gy.get_mut(i), mag.get_mut(i)) {
                (*gx, *gy, *m) = (sx, sy, sx.hypot(sy));
            }
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
            let m = at(&mag, i);
            if m < threshold {
                continue;
            }
            let (nx, ny) = (at(&gx, i) / m, at(&gy, i) / m);
            // Neighbour along the gradient, quantised to 8 directions.
            let (dx, dy) = (nx.round() as isize, ny.round() as isize);
            let a = at(
                &mag,
                (y as isize + dy) as usize * w + (x as isize + dx) as usize,
            );
            let b = at(
                &mag,
                (y as isize - dy) as usize * w + (x as isize - dx) as usize,
            );
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
pub(super) struct Candidate {
    pub(super) center: DVec2,
}

/// How many centre candidates are refined.
pub(super) const MAX_CANDIDATES: usize = 4;

/// Centre candidates from a coarse (x, y, r) Hough transform of the edges.
pub(super) fn centre_candidates(img: &Gray, edges: &[Edge]) -> Vec<Candidate> {
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
                        if let Some(votes) = acc.get_mut(b * plane + iy * nx + ix) {
                            *votes += 1.0;
                        }
                    }
                }
            }
        }
    }
    let acc = box3(&acc, nx, ny, nr);
    // Score of each (x, y): the best radius' votes above that radius' typical level.
    let mut score = vec![f32::MIN; plane];
    for layer in acc.chunks_exact(plane.max(1)) {
        let step = (layer.len() / 2048).max(1);
        let mut sorted: Vec<f32> = layer.iter().step_by(step).copied().collect();
        let mid = sorted.len() / 2;
        let (_, &mut typical, _) = sorted.select_nth_unstable_by(mid, f32::total_cmp);
        for (s, &v) in score.iter_mut().zip(layer) {
            *s = s.max(v - typical);
        }
    }
    let score_at = |i: usize| score.get(i).copied().unwrap_or(f32::MIN);
    let mut order: Vec<usize> = (0..plane).filter(|&i| score_at(i) > 0.0).collect();
    order.sort_unstable_by(|&a, &b| score_at(b).total_cmp(&score_at(a)));
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
                    let s = f64::from(score_at(y as usize * nx + x as usize).max(0.0));
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
pub(super) fn hough_cell(img: &Gray) -> f32 {
    (img.w.min(img.h) as f32 / 75.0).round().max(2.0)
}

/// 3×3×3 box sum of an `nx × ny × nr` volume (x fastest), zero outside.
pub(super) fn box3(v: &[f32], nx: usize, ny: usize, nr: usize) -> Vec<f32> {
    let mut a = v.to_vec();
    let mut b = vec![0.0f32; v.len()];
    // Along x, within each row.
    for (src, dst) in a.chunks_exact(nx).zip(b.chunks_exact_mut(nx)) {
        for (x, d) in dst.iter_mut().enumerate() {
            let lo = x.saturating_sub(1);
            let hi = (x + 2).min(nx);
            *d = src.get(lo..hi).unwrap_or_default().iter().sum();
        }
    }
    // Along y and r: whole rows (planes) at a time.
    for (stride, n) in [(nx, ny), (nx * ny, nr)] {
        a.iter_mut().for_each(|v| *v = 0.0);
        let block = stride * n;
        for (src, dst) in b.chunks_exact(block).zip(a.chunks_exact_mut(block)) {
            for (k, out) in dst.chunks_exact_mut(stride).enumerate() {
                let near = src
                    .chunks_exact(stride)
                    .take(k + 2)
                    .skip(k.saturating_sub(1));
                for src_row in near {
                    for (o, s) in out.iter_mut().zip(src_row) {
                        *o += s;
                    }
                }
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    b
}
