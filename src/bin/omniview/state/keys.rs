//! The key map: keys (as plain values, not the window system's) to commands, and the help
//! text listing every binding.

/// A key as the state sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A character key, lower case (`'a'`, `'1'`, `'+'`, `','`).
    Char(char),
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Tab.
    Tab,
    /// Space bar.
    Space,
    /// Escape.
    Escape,
    /// F1.
    F1,
    /// F11.
    F11,
}

/// Modifier keys held with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modifiers {
    /// Shift.
    pub shift: bool,
    /// Control.
    pub ctrl: bool,
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Pan by this many fields of view (yaw, pitch): the arrow keys.
    Pan(f64, f64),
    /// Zoom by steps (positive: in).
    Zoom(f64),
    /// Show mode 0–6.
    Mode(u8),
    /// Next (+1) or previous (−1) source.
    Source(i32),
    /// Auto-rotation on/off.
    AutoRotate,
    /// Fullscreen on/off.
    Fullscreen,
    /// Save a screenshot.
    Screenshot,
    /// Play/pause.
    PlayPause,
    /// Seek by seconds.
    Seek(f64),
    /// Help overlay on/off.
    Help,
    /// HUD on/off.
    Hud,
    /// Band clamp on/off.
    Clamp,
    /// Calibration editor on/off (mode 0).
    Calibrate,
    /// Save the calibration.
    SaveCalibration,
    /// Start/stop recording.
    Record,
    /// Close the help, or quit.
    Escape,
    /// Quit.
    Quit,
}

/// Share of the field of view one arrow press pans.
const ARROW_STEP: f64 = 1.0 / 18.0;

/// The command bound to `key` with `mods`, if any.
#[must_use]
pub fn command(key: Key, mods: Modifiers) -> Option<Command> {
    use Command as C;
    Some(match key {
        Key::Left if mods.shift => C::Seek(-5.0),
        Key::Right if mods.shift => C::Seek(5.0),
        Key::Left => C::Pan(-ARROW_STEP, 0.0),
        Key::Right => C::Pan(ARROW_STEP, 0.0),
        Key::Up => C::Pan(0.0, ARROW_STEP),
        Key::Down => C::Pan(0.0, -ARROW_STEP),
        Key::PageUp => C::Zoom(1.0),
        Key::PageDown => C::Zoom(-1.0),
        Key::Tab => C::Source(if mods.shift { -1 } else { 1 }),
        Key::Space => C::PlayPause,
        Key::Escape => C::Escape,
        Key::F1 => C::Help,
        Key::F11 => C::Fullscreen,
        Key::Char('s') if mods.ctrl => C::SaveCalibration,
        Key::Char('q') if mods.ctrl => C::Quit,
        Key::Char(_) if mods.ctrl => return None,
        Key::Char(c @ '0'..='6') => C::Mode(c as u8 - b'0'),
        Key::Char('+' | '=') => C::Zoom(1.0),
        Key::Char('-' | '_') => C::Zoom(-1.0),
        Key::Char(',' | '<') => C::Seek(-5.0),
        Key::Char('.' | '>') => C::Seek(5.0),
        Key::Char('a') => C::AutoRotate,
        Key::Char('f') => C::Fullscreen,
        Key::Char('s') => C::Screenshot,
        Key::Char('h') => C::Help,
        Key::Char('i') => C::Hud,
        Key::Char('b') => C::Clamp,
        Key::Char('c') => C::Calibrate,
        Key::Char('r') => C::Record,
        Key::Char('q') => C::Quit,
        Key::Char(_) => return None,
    })
}

/// Every binding, as (keys, what) rows for the help overlay and the README.
pub const HELP: [(&str, &str); 22] = [
    (
        "drag",
        "look around (the scene follows the pointer; release while moving to coast)",
    ),
    ("wheel, + / -, PgUp / PgDn", "zoom in / out"),
    ("arrow keys", "pan and tilt"),
    ("double-click", "centre the point clicked"),
    ("1", "PTZ (perspective) view"),
    ("2", "panorama (band equirectangular)"),
    ("3", "cylinder panorama"),
    ("4", "little planet"),
    ("5", "double panorama"),
    (
        "6",
        "quad: four PTZ panes (drag pans the pane under the pointer)",
    ),
    ("0", "raw frame with the calibration drawn over it"),
    (
        "c",
        "calibrate by eye (mode 0): drag centre and circles, the panorama below follows; Ctrl+S saves",
    ),
    ("b", "band clamp on/off (look past the mirror's edge)"),
    ("a", "auto-rotate on/off (resumes after 3 s idle)"),
    ("Tab / Shift+Tab", "next / previous source"),
    ("space", "play / pause"),
    (", / .  or Shift+← / →", "seek −5 s / +5 s"),
    ("s", "screenshot (PNG at the window's size)"),
    (
        "r",
        "record the camera path (CSV) [and the view, with --record-video]",
    ),
    ("i", "HUD: timings, stream, latency, drops, backend"),
    ("f / F11", "fullscreen"),
    ("h / F1, Esc, q", "this help; Esc closes it; q quits"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_key_is_bound() {
        let none = Modifiers::default();
        let shift = Modifiers {
            shift: true,
            ..none
        };
        let ctrl = Modifiers { ctrl: true, ..none };
        for c in "0123456+-,.afshibcrq".chars() {
            assert!(command(Key::Char(c), none).is_some(), "{c}");
        }
        assert_eq!(command(Key::Char('4'), none), Some(Command::Mode(4)));
        assert_eq!(command(Key::Tab, shift), Some(Command::Source(-1)));
        assert_eq!(command(Key::Right, shift), Some(Command::Seek(5.0)));
        assert_eq!(
            command(Key::Char('s'), ctrl),
            Some(Command::SaveCalibration)
        );
        assert_eq!(command(Key::Char('s'), none), Some(Command::Screenshot));
        assert_eq!(command(Key::F1, none), Some(Command::Help));
        assert_eq!(command(Key::Char('z'), none), None);
        // The help names each mode key.
        for m in "0123456".chars() {
            assert!(HELP.iter().any(|(k, _)| *k == m.to_string()), "{m}");
        }
    }
}
