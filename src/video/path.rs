//! Camera path files: [`CameraPath::load`] reads one; the path itself (its keyframes,
//! interpolation and text formats) is pure geometry, [`crate::model::CameraPath`].

use std::path::Path;

use crate::model::CameraPath;
use crate::{Error, Result};

impl CameraPath {
    /// Reads a CSV or JSON path file (JSON when it starts with `[`).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let named = |reason: String| Error::InvalidParameter {
            name: "path".into(),
            reason: format!("{}: {reason}", path.display()),
        };
        if text.trim_start().starts_with('[') {
            Self::from_json(&text).map_err(|e| named(strip(e)))
        } else {
            Self::from_csv(&text).map_err(|e| named(strip(e)))
        }
    }
}

/// The reason of an `InvalidParameter` error (to re-wrap it with a file name).
fn strip(e: Error) -> String {
    match e {
        Error::InvalidParameter { reason, .. } => reason,
        other => other.to_string(),
    }
}
