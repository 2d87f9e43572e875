//! Virtual camera paths: view keyframes over time, linearly interpolated, and their CSV /
//! JSON text. (Reading a path file is `CameraPath::load`, feature `video`.)

use super::{Orientation, Projection, View, wrap_angle};
use crate::{Error, Result};

/// One keyframe of a [`CameraPath`]. Angles in radians, time in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keyframe {
    /// Media time of the keyframe, seconds from the first output frame.
    pub time: f64,
    /// Heading of the view centre.
    pub yaw: f64,
    /// Elevation of the view centre.
    pub pitch: f64,
    /// Horizontal field of view (for perspective, stereographic and quad views); `None`
    /// keeps the view's own.
    pub fov: Option<f64>,
    /// Rotation about the forward axis.
    pub roll: f64,
}

/// A virtual camera path: keyframes sorted by time. Between keyframes pitch, fov and time are
/// interpolated linearly, yaw and roll the short way round; before the first and after the
/// last keyframe the view holds still.
///
/// Files (angles in degrees, times in seconds):
/// - CSV: `time,yaw,pitch,fov[,roll]` per line; an optional header line names the columns
///   (`time`/`t`, `yaw`, `pitch`, `fov`, `roll`, any order); `#` starts a comment.
/// - JSON: `[{"t": 0, "yaw": 0, "pitch": -10, "fov": 90, "roll": 0}, …]` (`time` is accepted
///   for `t`; missing angles are 0, a missing fov keeps the view's).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraPath {
    keys: Vec<Keyframe>,
}

impl CameraPath {
    /// A path from keyframes (sorted here; times must be finite and distinct).
    pub fn new(mut keys: Vec<Keyframe>) -> Result<Self> {
        if keys.is_empty() {
            return Err(crate::error::invalid("path", "needs at least one keyframe"));
        }
        for k in &keys {
            let angles = [k.time, k.yaw, k.pitch, k.roll, k.fov.unwrap_or(1.0)];
            if angles.iter().any(|v| !v.is_finite()) {
                return Err(crate::error::invalid(
                    "path",
                    format!("keyframe at t = {} has a non-finite value", k.time),
                ));
            }
        }
        keys.sort_by(|a, b| a.time.total_cmp(&b.time));
        if let Some((a, _)) = keys
            .iter()
            .zip(keys.iter().skip(1))
            .find(|(a, b)| a.time == b.time)
        {
            return Err(crate::error::invalid(
                "path",
                format!("two keyframes at t = {}", a.time),
            ));
        }
        Ok(Self { keys })
    }

    /// The keyframes, sorted by time.
    #[must_use]
    pub fn keyframes(&self) -> &[Keyframe] {
        &self.keys
    }

    /// Parses CSV text (see the type's documentation).
    pub fn from_csv(text: &str) -> Result<Self> {
        let mut columns: Option<Vec<String>> = None;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let numeric = fields.first().is_some_and(|f| f.parse::<f64>().is_ok());
            if keys.is_empty() && columns.is_none() && !numeric {
                let names: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
                for name in &names {
                    if !matches!(
                        name.as_str(),
                        "t" | "time" | "yaw" | "pitch" | "fov" | "roll"
                    ) {
                        return Err(line_error(n, format!("unknown column `{name}`")));
                    }
                }
                if !names.iter().any(|c| c == "t" || c == "time") {
                    return Err(line_error(n, "the header needs a `time` column".into()));
                }
                columns = Some(names);
                continue;
            }
            let names = columns.clone().unwrap_or_else(|| {
                ["time", "yaw", "pitch", "fov", "roll"]
                    .map(String::from)
                    .to_vec()
            });
            if fields.len() > names.len() || (columns.is_none() && fields.len() < 4) {
                return Err(line_error(
                    n,
                    format!(
                        "expected {} fields ({}), got {}",
                        if columns.is_none() {
                            "4 or 5"
                        } else {
                            "at most the header's"
                        },
                        names.join(","),
                        fields.len()
                    ),
                ));
            }
            let mut key = Keyframe {
                time: f64::NAN,
                yaw: 0.0,
                pitch: 0.0,
                fov: None,
                roll: 0.0,
            };
            for (name, field) in names.iter().zip(&fields) {
                let v: f64 = field
                    .parse()
                    .map_err(|_| line_error(n, format!("`{field}` is not a number ({name})")))?;
                match name.as_str() {
                    "t" | "time" => key.time = v,
                    "yaw" => key.yaw = v.to_radians(),
                    "pitch" => key.pitch = v.to_radians(),
                    "fov" => key.fov = Some(v.to_radians()),
                    _ => key.roll = v.to_radians(),
                }
            }
            if key.time.is_nan() {
                return Err(line_error(n, "no time".into()));
            }
            keys.push(key);
        }
        Self::new(keys)
    }

    /// Parses JSON text (see the type's documentation).
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| crate::error::invalid("path", format!("bad JSON: {e}")))?;
        let items = value
            .as_array()
            .ok_or_else(|| crate::error::invalid("path", "JSON must be an array of keyframes"))?;
        let mut keys = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let obj = item.as_object().ok_or_else(|| {
                crate::error::invalid("path", format!("keyframe {i} is not an object"))
            })?;
            for k in obj.keys() {
                if !matches!(k.as_str(), "t" | "time" | "yaw" | "pitch" | "fov" | "roll") {
                    return Err(crate::error::invalid(
                        "path",
                        format!("keyframe {i}: unknown key `{k}`"),
                    ));
                }
            }
            let num = |name: &str| -> Result<Option<f64>> {
                match obj.get(name) {
                    None => Ok(None),
                    Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                        crate::error::invalid(
                            "path",
                            format!("keyframe {i}: `{name}` is not a number"),
                        )
                    }),
                }
            };
            let time = num("t")?
                .or(num("time")?)
                .ok_or_else(|| crate::error::invalid("path", format!("keyframe {i} has no `t`")))?;
            keys.push(Keyframe {
                time,
                yaw: num("yaw")?.unwrap_or(0.0).to_radians(),
                pitch: num("pitch")?.unwrap_or(0.0).to_radians(),
                fov: num("fov")?.map(f64::to_radians),
                roll: num("roll")?.unwrap_or(0.0).to_radians(),
            });
        }
        Self::new(keys)
    }

    /// The interpolated keyframe at `time` seconds.
    #[must_use]
    pub fn at(&self, time: f64) -> Keyframe {
        let keys = &self.keys;
        let (Some(&first), Some(&last)) = (keys.first(), keys.last()) else {
            // Not reached: `new` refuses a path without keyframes.
            return Keyframe {
                time,
                yaw: 0.0,
                pitch: 0.0,
                fov: None,
                roll: 0.0,
            };
        };
        if time.is_nan() || time <= first.time {
            return Keyframe { time, ..first };
        }
        // first.time < time < last.time: keys[i − 1] ≤ time < keys[i].
        let i = keys.partition_point(|k| k.time <= time);
        let (Some(&a), Some(&b)) = (keys.get(i.saturating_sub(1)), keys.get(i)) else {
            return Keyframe { time, ..last };
        };
        let s = (time - a.time) / (b.time - a.time);
        let lerp = |x: f64, y: f64| x + (y - x) * s;
        let turn = |x: f64, y: f64| wrap_angle(x + wrap_angle(y - x) * s);
        Keyframe {
            time,
            yaw: turn(a.yaw, b.yaw),
            pitch: lerp(a.pitch, b.pitch),
            fov: match (a.fov, b.fov) {
                (Some(x), Some(y)) => Some(lerp(x, y)),
                (x, y) => x.or(y),
            },
            roll: turn(a.roll, b.roll),
        }
    }

    /// `view` as the path sets it at `time`: orientation from the path; the field of view,
    /// where the projection has one and the path gives one.
    #[must_use]
    pub fn view_at(&self, view: &View, time: f64) -> View {
        let k = self.at(time);
        let mut out = *view;
        out.orientation = Orientation {
            yaw: k.yaw,
            pitch: k.pitch,
            roll: k.roll,
        };
        if let Some(f) = k.fov {
            match &mut out.projection {
                Projection::Perspective { fov }
                | Projection::Stereographic { fov }
                | Projection::Quad { fov } => *fov = f,
                _ => {}
            }
        }
        out
    }
}

fn line_error(n: usize, reason: String) -> Error {
    crate::error::invalid("path", format!("line {}: {reason}", n + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deg(v: f64) -> f64 {
        v.to_radians()
    }

    #[test]
    fn csv_and_json_agree_and_interpolate() {
        let csv = "# path\ntime,yaw,pitch,fov\n0,170,0,90\n2,-170,-20,60\n";
        let json =
            r#"[{"t":0,"yaw":170,"pitch":0,"fov":90},{"t":2,"yaw":-170,"pitch":-20,"fov":60}]"#;
        let a = CameraPath::from_csv(csv).unwrap();
        let b = CameraPath::from_json(json).unwrap();
        assert_eq!(a, b);
        let mid = a.at(1.0);
        // The short way from 170° to −170° crosses 180°.
        assert!((wrap_angle(mid.yaw - deg(180.0))).abs() < 1e-9);
        assert!((mid.pitch - deg(-10.0)).abs() < 1e-9);
        assert!((mid.fov.unwrap() - deg(75.0)).abs() < 1e-9);
        assert_eq!(a.at(-1.0).yaw, deg(170.0));
        assert_eq!(a.at(5.0).pitch, deg(-20.0));
    }

    #[test]
    fn csv_without_header_and_with_roll() {
        let p = CameraPath::from_csv("1, 10, 5, 80, 4\n0, 0, 0, 90, 0\n").unwrap();
        assert_eq!(p.keyframes()[0].time, 0.0);
        assert!((p.at(0.5).roll - deg(2.0)).abs() < 1e-9);
    }

    #[test]
    fn bad_paths_name_the_problem() {
        let e = CameraPath::from_csv("0,1,2\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = CameraPath::from_csv("0,1,2,x\n").unwrap_err().to_string();
        assert!(e.contains("`x`"), "{e}");
        let e = CameraPath::from_json(r#"[{"t":0,"zoom":2}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("zoom"), "{e}");
        assert!(CameraPath::from_json("[]").is_err());
        assert!(CameraPath::from_csv("0,0,0,90\n0,1,1,90\n").is_err());
    }

    #[test]
    fn view_at_sets_orientation_and_fov() {
        let view = View::new(
            Projection::Perspective { fov: deg(90.0) },
            Orientation::default(),
            64,
            48,
        )
        .unwrap();
        let p = CameraPath::from_csv("0,30,-10,50\n").unwrap();
        let v = p.view_at(&view, 3.0);
        assert_eq!(v.projection, Projection::Perspective { fov: deg(50.0) });
        assert!((v.orientation.yaw - deg(30.0)).abs() < 1e-12);
    }
}
