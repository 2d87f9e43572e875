//! OCamCalib's `calib_results.txt` (Scaramuzza's OCamCalib toolbox, `ocam_functions.cpp`
//! reads the same layout).
//!
//! After `#` comment lines, five blocks of whitespace-separated numbers:
//!
//! 1. `n` and the `n` coefficients of the direct polynomial `pol` (lowest degree first),
//! 2. `m` and the `m` coefficients of the inverse polynomial `invpol`,
//! 3. the centre: row, column,
//! 4. the affine parameters `c d e`,
//! 5. the image size: height, width.
//!
//! OCamCalib writes the centre "starting from 0 (C convention)", i.e. the top-left pixel's
//! centre is `(0, 0)` — our convention too — so the numbers are kept as they are, with no
//! 1-based shift; only the axes are renamed: row → y, column → x, and "height width" →
//! `(width, height)`. The mount is the default (nadir, reflected, heading 0), no band.

use std::path::Path;

use super::{file_error, in_file};
use crate::Result;
use crate::model::{Calibration, CameraModel, Mount, OcamModel};

/// The numbers of the file, one block at a time.
struct Tokens<'a, 'p> {
    tokens: std::iter::Peekable<std::vec::IntoIter<&'a str>>,
    path: &'p Path,
}

impl Tokens<'_, '_> {
    fn number(&mut self, key: &str, what: &str) -> Result<f64> {
        let t = self.tokens.next().ok_or_else(|| {
            file_error(
                self.path,
                Some(key),
                format!("the file ends before {what} (truncated?)"),
            )
        })?;
        let v: f64 = t.parse().map_err(|_| {
            file_error(
                self.path,
                Some(key),
                format!("`{t}` is not a number ({what})"),
            )
        })?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(file_error(
                self.path,
                Some(key),
                format!("{what} must be finite, got {v}"),
            ))
        }
    }

    fn count(&mut self, key: &str, what: &str, max: usize) -> Result<usize> {
        let v = self.number(key, &format!("the number of {what}"))?;
        if v.fract() != 0.0 || v < 1.0 || v > max as f64 {
            return Err(file_error(
                self.path,
                Some(key),
                format!("the number of {what} must be a whole number from 1 to {max}, got {v}"),
            ));
        }
        Ok(v as usize)
    }

    fn coefficients(&mut self, key: &str, what: &str, max: usize) -> Result<Vec<f64>> {
        let n = self.count(key, what, max)?;
        (0..n)
            .map(|i| self.number(key, &format!("{what} {} of {n}", i + 1)))
            .collect()
    }

    fn dimension(&mut self, what: &str) -> Result<u32> {
        let v = self.number("image_size", what)?;
        if v.fract() != 0.0 || v < 1.0 || v > f64::from(u32::MAX) {
            return Err(file_error(
                self.path,
                Some("image_size"),
                format!("{what} must be a positive whole number, got {v}"),
            ));
        }
        Ok(v as u32)
    }
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<Calibration> {
    let tokens: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect();
    let mut t = Tokens {
        tokens: tokens.into_iter().peekable(),
        path,
    };
    let pol = t.coefficients("pol", "direct polynomial coefficients", OcamModel::MAX_POL)?;
    let invpol = t.coefficients(
        "invpol",
        "inverse polynomial coefficients",
        OcamModel::MAX_INVPOL,
    )?;
    let center_row = t.number("center", "the centre row")?;
    let center_col = t.number("center", "the centre column")?;
    let c = t.number("affine", "affine c")?;
    let d = t.number("affine", "affine d")?;
    let e = t.number("affine", "affine e")?;
    let height = t.dimension("the image height")?;
    let width = t.dimension("the image width")?;
    if t.tokens.peek().is_some() {
        log::warn!(
            "{}: ignoring {} numbers after the image size",
            path.display(),
            t.tokens.count()
        );
    }
    let lens = OcamModel {
        pol,
        invpol,
        center_row,
        center_col,
        c,
        d,
        e,
    };
    let model = CameraModel::Ocam {
        lens,
        mount: Mount::default(),
    };
    Calibration::new((width, height), model, None).map_err(|err| {
        in_file(err, path, |name| {
            match name {
                "center_row" | "center_col" => "center",
                "c" | "d" | "e" => "affine",
                "polynomial" => "pol",
                other => other,
            }
            .to_owned()
        })
    })
}
