//! Remembering, per source, the last view, mode and calibration edit, in the platform's
//! config directory (`~/.config/omniview/state.toml` on Linux); `--reset` forgets.
//! Sources are keyed by their redacted location: credentials never reach the file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use omnidewarp::model::Calibration;

use crate::state::calib_edit::CalibEdit;
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
    /// The calibration edited by eye, in the calibration file's TOML (numbers only).
    edited_calibration: Option<String>,
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
        // An edit that no longer reads (another version's, or changed by hand) is dropped.
        source.edit = saved
            .edited_calibration
            .and_then(|text| Calibration::from_str_detect(&text, std::path::Path::new(key)).ok())
            .and_then(|c| CalibEdit::from_calibration(&c))
            .map(|e| CalibEdit { dirty: true, ..e });
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
            // An edit that does not describe a calibration (mid-drag) is not kept.
            edited_calibration: source
                .edit
                .as_ref()
                .and_then(|e| e.to_calibration().ok())
                .map(|c| c.to_toml_string()),
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
        let mut edit = CalibEdit::from_calibration(&crate::state::ring_sample_calibration())
            .expect("a straight ring is editable");
        edit.center.x += 5.0;
        edit.heading_at_top = 0.25;
        source.edit = Some(edit.clone());
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
        let back = restored.edit.expect("the edit was kept");
        assert_eq!(back.to_calibration().ok(), edit.to_calibration().ok());
        assert!(back.dirty, "a kept edit is not saved to its file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
