//! Remembering, per source, the last view, mode and calibration edit, in the platform's
//! config directory (`~/.config/omniview/state.toml` on Linux); `--reset` forgets.
//! Sources are keyed by their redacted location: credentials never reach the file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::state::calib_edit::RingEdit;
use crate::state::camera::Aim;
use crate::state::{Mode, SourceState};

/// What is kept of one source (angles in degrees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    mode: u8,
    yaw: f64,
    /// (pitch, fov) per projection kind.
    aims: Vec<(f64, f64)>,
    clamp: bool,
    edit: Option<SavedEdit>,
}

/// A ring calibration edited by eye (pixels, degrees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedEdit {
    image_size: (u32, u32),
    center: (f64, f64),
    radii: (f64, f64),
    elevations: (f64, f64),
    heading_at_top: f64,
    mirrored: bool,
}

/// The settings file and what it holds.
pub struct Store {
    path: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Saved>>,
}

impl Store {
    /// Reads the settings (nothing with `reset`, which also removes the file). A file that
    /// cannot be read is ignored with a warning.
    pub fn open(reset: bool) -> Self {
        let path = std::env::var_os("OMNIVIEW_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "omniview")
                    .map(|d| d.config_dir().to_owned())
            })
            .map(|dir| dir.join("state.toml"));
        let mut entries = BTreeMap::new();
        if let Some(path) = &path {
            if reset {
                if path.exists() {
                    if let Err(e) = std::fs::remove_file(path) {
                        eprintln!("omniview: cannot forget {}: {e}", path.display());
                    }
                }
            } else if let Ok(text) = std::fs::read_to_string(path) {
                match toml::from_str::<BTreeMap<String, Saved>>(&text) {
                    Ok(read) => entries = read,
                    Err(e) => eprintln!("omniview: ignoring {}: {e}", path.display()),
                }
            }
        }
        Self {
            path,
            entries: Mutex::new(entries),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Saved>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Restores what was kept of `key` into `source`.
    pub fn restore(&self, key: &str, source: &mut SourceState) {
        let Some(saved) = self.entries().get(key).cloned() else {
            return;
        };
        if let Some(mode) = Mode::from_number(saved.mode) {
            source.set_mode(mode);
        }
        source.camera.yaw = saved.yaw.to_radians();
        source.camera.clamp = saved.clamp;
        for (aim, (pitch, fov)) in source.camera.aims.iter_mut().zip(saved.aims) {
            if pitch.is_finite() && fov.is_finite() && fov > 0.0 {
                *aim = Aim {
                    pitch: pitch.to_radians(),
                    fov: fov.to_radians(),
                };
            }
        }
        source.edit = saved.edit.map(|e| RingEdit {
            image_size: e.image_size,
            center: e.center.into(),
            radius_inner: e.radii.0,
            radius_outer: e.radii.1,
            elevation_inner: e.elevations.0.to_radians(),
            elevation_outer: e.elevations.1.to_radians(),
            heading_at_top: e.heading_at_top.to_radians(),
            mirrored: e.mirrored,
            active: None,
            dirty: true,
        });
    }

    /// Keeps `source` under `key` (written by [`Store::save`]).
    pub fn remember(&self, key: &str, source: &SourceState) {
        let saved = Saved {
            mode: source.mode.number(),
            yaw: source.camera.yaw.to_degrees(),
            aims: source
                .camera
                .aims
                .iter()
                .map(|a| (a.pitch.to_degrees(), a.fov.to_degrees()))
                .collect(),
            clamp: source.camera.clamp,
            edit: source.edit.as_ref().map(|e| SavedEdit {
                image_size: e.image_size,
                center: (e.center.x, e.center.y),
                radii: (e.radius_inner, e.radius_outer),
                elevations: (
                    e.elevation_inner.to_degrees(),
                    e.elevation_outer.to_degrees(),
                ),
                heading_at_top: e.heading_at_top.to_degrees(),
                mirrored: e.mirrored,
            }),
        };
        self.entries().insert(key.to_owned(), saved);
    }

    /// Writes the settings file (atomically).
    pub fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let text = toml::to_string(&*self.entries()).map_err(|e| failed(&e))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        }
        let mut file = omnidewarp::output::AtomicFile::create(path).map_err(|e| failed(&e))?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| failed(&e))?;
        file.commit().map_err(|e| failed(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnidewarp::model::ProjectionKind;

    #[test]
    fn a_source_round_trips_through_the_file() {
        let dir = std::env::temp_dir().join(format!("omniview-persist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store {
            path: Some(dir.join("state.toml")),
            entries: Mutex::new(BTreeMap::new()),
        };
        let mut source = SourceState::new();
        source.set_mode(Mode::View(ProjectionKind::Stereographic));
        source.camera.yaw = 0.5;
        source.camera.clamp = false;
        store.remember("http://***@cam/live", &source);
        store.save().unwrap();
        let text = std::fs::read_to_string(dir.join("state.toml")).unwrap();
        assert!(text.contains("***@cam"), "{text}");
        let read: BTreeMap<String, Saved> = toml::from_str(&text).unwrap();
        let again = Store {
            path: None,
            entries: Mutex::new(read),
        };
        let mut restored = SourceState::new();
        again.restore("http://***@cam/live", &mut restored);
        assert_eq!(restored.mode, source.mode);
        assert!((restored.camera.yaw - 0.5).abs() < 1e-12);
        assert!(!restored.camera.clamp);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
