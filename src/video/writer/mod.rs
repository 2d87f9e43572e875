//! Encoding: I420 frames + timestamps into a container (mp4, mkv, mov, y4m, nut, …), an image
//! sequence, or nowhere (`null`, for timing).
//!
//! | module | what |
//! |---|---|
//! | `encode` | encoder and muxer set-up, frames encoded, the file finished and renamed |
//! | `audio` | the input's audio copied into the output |
//! | `images` | numbered image names |
//!
//! The 360° metadata an output carries is [`super::metadata`]'s.

mod audio;
mod encode;
mod images;

use std::fmt;
use std::path::{Path, PathBuf};

use super::metadata::Spherical;
use super::source::{AudioPacket, AudioParameters};
use crate::frame::{Frame, PixelFormat, YuvColor};
use crate::output::save_image;
use crate::{Error, Result};
use encode::Encoded;
use images::{counter, is_image_path, numbered};

/// Where converted frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// A video file; the container comes from the extension (mp4, mkv, mov, y4m, nut, …).
    File(PathBuf),
    /// Numbered images, `out_%05d.png` (or `.jpg`); numbering starts at 1.
    Images(PathBuf),
    /// Discard the frames (for timing).
    Null,
}

impl OutputTarget {
    /// The target a command-line output argument names: `null` discards, a pattern with a
    /// `%d`/`%0Nd` counter and an image extension writes images, anything else is a file.
    #[must_use]
    pub fn from_arg(arg: impl AsRef<Path>) -> Self {
        let path = arg.as_ref();
        if path.as_os_str() == "null" {
            return Self::Null;
        }
        let text = path.to_string_lossy();
        if counter(&text).is_some() && is_image_path(path) {
            return Self::Images(path.to_owned());
        }
        Self::File(path.to_owned())
    }

    /// For messages.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Self::File(p) | Self::Images(p) => p.display().to_string(),
            Self::Null => "null".to_owned(),
        }
    }
}

/// Encoder choices.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EncoderSettings {
    /// Encoder or codec name (`libx264`, `h264`, `hevc`, `mpeg4`, `ffv1`, …). `None`: H.264
    /// with libx264 when the system FFmpeg has it, else MPEG-4 part 2 (with a warning);
    /// raw for `.y4m`.
    pub codec: Option<String>,
    /// Constant rate factor (libx264/libx265/VP9/AV1 style; for other encoders it maps to a
    /// fixed quantiser).
    pub crf: Option<f32>,
    /// Target bit rate, bits per second (exclusive with `crf`).
    pub bitrate: Option<u64>,
    /// Encoder preset (`ultrafast` … `veryslow` for libx264).
    pub preset: Option<String>,
    /// Extra encoder options passed to FFmpeg.
    pub options: Vec<(String, String)>,
    /// Write equirectangular spherical metadata (mp4 `sv3d`/`st3d`, a mov Spherical Video V1
    /// `uuid` box, Matroska `Projection`) when the view is equirectangular.
    pub spherical: bool,
    /// Copy the input's audio into the output when the container can hold it.
    pub copy_audio: bool,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            codec: None,
            crf: None,
            bitrate: None,
            preset: None,
            options: Vec::new(),
            spherical: true,
            copy_audio: true,
        }
    }
}

/// What a [`VideoWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterConfig {
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
    /// Nominal frame rate as a fraction.
    pub frame_rate: (i32, i32),
    /// Time base timestamps are rounded to (use the input's for exact timestamps).
    pub time_base: (i32, i32),
    /// YUV matrix and range of the frames (tagged in the stream).
    pub color: YuvColor,
    /// Spherical metadata to write, if any.
    pub spherical: Option<Spherical>,
}

/// Writes frames to an [`OutputTarget`].
///
/// A video file is written under a temporary name beside its path and renamed over it by
/// [`VideoWriter::finish`] (see [`crate::output`]): until then an existing file there is
/// untouched. Dropping the writer unfinished still finalises the output (flushes the
/// encoder, writes the trailer) as well as it can — unless a write failed (an encoder
/// error, a full disk) or a panic is unwinding: then, as with [`VideoWriter::discard`], the
/// unfinished file is removed. Each image of a sequence is written the same way.
pub struct VideoWriter {
    kind: Kind,
    config: WriterConfig,
    frames: u64,
    warnings: Vec<String>,
    finished: bool,
    /// Set when encoding or writing failed: the file is then not worth keeping.
    failed: bool,
    name: String,
}

impl fmt::Debug for VideoWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoWriter")
            .field("output", &self.name)
            .field("config", &self.config)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

enum Kind {
    Null,
    Images { pattern: String },
    Encoded(Box<Encoded>),
}

impl VideoWriter {
    /// Opens `target` for frames described by `config`. `audio` adds a copied audio stream.
    pub fn create(
        target: &OutputTarget,
        settings: &EncoderSettings,
        config: &WriterConfig,
    ) -> Result<Self> {
        Self::create_with_audio(target, settings, config, None)
    }

    pub(crate) fn create_with_audio(
        target: &OutputTarget,
        settings: &EncoderSettings,
        config: &WriterConfig,
        audio: Option<&AudioParameters>,
    ) -> Result<Self> {
        super::init()?;
        validate_settings(settings)?;
        let name = target.display();
        let mut warnings = Vec::new();
        let kind = match target {
            OutputTarget::Null => Kind::Null,
            OutputTarget::Images(p) => {
                let pattern = p.to_string_lossy().into_owned();
                if counter(&pattern).is_none() {
                    return Err(Error::Video(format!(
                        "{name}: an image sequence needs a counter such as %05d"
                    )));
                }
                Kind::Images { pattern }
            }
            OutputTarget::File(p) => Kind::Encoded(Box::new(Encoded::create(
                p,
                settings,
                config,
                audio,
                &mut warnings,
            )?)),
        };
        for w in &warnings {
            log::warn!("{w}");
        }
        Ok(Self {
            kind,
            config: *config,
            frames: 0,
            warnings,
            finished: false,
            failed: false,
            name,
        })
    }

    /// Notices (encoder fallback, audio not copied, timestamps adjusted).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The encoder in use (`None` for image sequences and `null`).
    #[must_use]
    pub fn encoder_name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Encoded(e) => Some(&e.encoder_name),
            _ => None,
        }
    }

    /// Frames written so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes one frame shown at `pts` seconds. Encoded outputs take I420 frames of the
    /// configured size; image sequences also take RGBA8/RGB8/grey (written as they are) and
    /// convert YUV with the frame's colour description. Timestamps that do not increase are
    /// moved one tick past the previous one. A frame of the wrong size or format is refused
    /// and the output stays usable; any other failure (encoding, writing) makes
    /// [`VideoWriter::finish`] discard the file.
    pub fn write(&mut self, frame: &Frame<'_>, pts: f64) -> Result<()> {
        if (frame.width(), frame.height()) != (self.config.width, self.config.height) {
            return Err(Error::OutputLayout(format!(
                "{}: frame is {}×{}, the output {}×{}",
                self.name,
                frame.width(),
                frame.height(),
                self.config.width,
                self.config.height
            )));
        }
        match &mut self.kind {
            Kind::Null => {}
            Kind::Images { pattern } => {
                let path = numbered(pattern, self.frames + 1);
                save_image(frame, Path::new(&path))?;
            }
            Kind::Encoded(e) => {
                if frame.format() != PixelFormat::I420 {
                    return Err(Error::OutputLayout(format!(
                        "{}: the encoder takes I420 frames, got {:?}",
                        self.name,
                        frame.format()
                    )));
                }
                let written = e.write(frame, pts, &self.name);
                self.failed |= written.is_err();
                if let Some(w) = written? {
                    log::warn!("{w}");
                    self.warnings.push(w);
                }
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Copies an audio packet, its timestamps moved by `shift` seconds.
    pub(crate) fn write_audio(&mut self, audio: AudioPacket, shift: f64) -> Result<()> {
        if let Kind::Encoded(e) = &mut self.kind {
            let written = e.write_audio(audio, shift, &self.name);
            self.failed |= written.is_err();
            written?;
        }
        Ok(())
    }

    /// Whether audio packets are wanted.
    pub(crate) fn has_audio(&self) -> bool {
        matches!(&self.kind, Kind::Encoded(e) if e.audio.is_some())
    }

    /// Flushes the encoder, writes the trailer and renames the finished file over the
    /// output path; returns the frames written. After a failed write, or if finishing fails,
    /// the unfinished file is removed instead and an existing file at the path is left as
    /// it was.
    pub fn finish(mut self) -> Result<u64> {
        self.finalise()?;
        Ok(self.frames)
    }

    /// Drops the output: the unfinished file is removed, an existing file at the path is
    /// left as it was. (Images of a sequence already written stay.)
    pub fn discard(mut self) {
        self.failed = true;
        self.finished = true;
        self.kind = Kind::Null;
    }

    fn finalise(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if let Kind::Encoded(e) = std::mem::replace(&mut self.kind, Kind::Null) {
            if self.failed {
                drop(e);
                return Err(Error::Video(format!(
                    "{}: not written, encoding or writing failed",
                    self.name
                )));
            }
            e.finish(&self.name)?;
        }
        Ok(())
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Half a conversion is no output: the temporary goes with the unwinding.
            self.failed = true;
        }
        if let Err(e) = self.finalise() {
            log::warn!("finalising {}: {e}", self.name);
        }
    }
}

fn validate_settings(s: &EncoderSettings) -> Result<()> {
    if s.crf.is_some() && s.bitrate.is_some() {
        return Err(crate::error::invalid(
            "crf",
            "give either a crf or a bit rate, not both",
        ));
    }
    if let Some(crf) = s.crf {
        if !(crf.is_finite() && (0.0..=63.0).contains(&crf)) {
            return Err(crate::error::invalid(
                "crf",
                format!("must be in 0..63, got {crf}"),
            ));
        }
    }
    if s.bitrate == Some(0) {
        return Err(crate::error::invalid("bitrate", "must be positive"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_arguments() {
        assert_eq!(OutputTarget::from_arg("null"), OutputTarget::Null);
        assert_eq!(
            OutputTarget::from_arg("out_%05d.png"),
            OutputTarget::Images("out_%05d.png".into())
        );
        assert_eq!(
            OutputTarget::from_arg("a.mp4"),
            OutputTarget::File("a.mp4".into())
        );
    }
}
