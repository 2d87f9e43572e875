//! Encoding: I420 frames + timestamps into a container (mp4, mkv, mov, y4m, nut, …), an image
//! sequence, or nowhere (`null`, for timing).

use std::fmt;
use std::path::{Path, PathBuf};

use ff::format::Pixel;
use ff::{Dictionary, Packet, Rational, codec, encoder, format, frame};
use ffmpeg_next as ff;

use super::mov;
use super::source::{AudioPacket, AudioParameters};
use crate::frame::{Frame, PixelFormat, YuvColor, YuvMatrix, YuvRange};
use crate::model::{Projection, View};
use crate::output::{TempPath, save_image};
use crate::{Error, Result};

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

/// Image extensions an image sequence may use.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

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

fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The `(start, end, width)` of the first `%d` / `%0Nd` counter in a pattern.
fn counter(pattern: &str) -> Option<(usize, usize, usize)> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'd' {
                let width = pattern[i + 1..j].parse().unwrap_or(0);
                return Some((i, j + 1, width));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// `pattern` with its counter replaced by `n`.
fn numbered(pattern: &str, n: u64) -> String {
    match counter(pattern) {
        Some((a, b, width)) => format!("{}{n:0width$}{}", &pattern[..a], &pattern[b..]),
        None => pattern.to_owned(),
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

/// The elevation range an equirectangular output covers (radians), for its metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spherical {
    /// Elevation of the top edge.
    pub top: f64,
    /// Elevation of the bottom edge.
    pub bottom: f64,
}

impl Spherical {
    /// The metadata an output of `view` gets: `Some` for equirectangular views.
    #[must_use]
    pub fn of_view(view: &View) -> Option<Self> {
        match view.projection {
            Projection::Equirect { top, bottom } => Some(Self { top, bottom }),
            _ => None,
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

struct Encoded {
    /// Where the muxer writes; renamed over the output path when finished.
    temp: TempPath,
    octx: format::context::Output,
    encoder: encoder::video::Encoder,
    encoder_name: String,
    video_index: usize,
    encoder_tb: Rational,
    video_tb: Rational,
    frame: frame::Video,
    last_ticks: Option<i64>,
    warned_timestamps: bool,
    audio: Option<AudioOut>,
    /// Spherical Video V1 XML to add to a finished `.mov` (whose muxer writes no `sv3d`).
    mov_spherical: Option<String>,
}

struct AudioOut {
    index: usize,
    time_base: Rational,
}

/// Encoders whose presets are [`X26X_PRESETS`].
const X26X_ENCODERS: [&str; 3] = ["libx264", "libx264rgb", "libx265"];

/// The presets of x264 and x265, fastest first.
const X26X_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// Codecs that take `crf` directly.
fn takes_crf(name: &str) -> bool {
    matches!(
        name,
        "libx264" | "libx264rgb" | "libx265" | "libvpx" | "libvpx-vp9" | "libaom-av1" | "libsvtav1"
    )
}

/// Finds an encoder by encoder name or codec name.
fn find_encoder(name: &str) -> Option<ff::Codec> {
    if let Some(c) = encoder::find_by_name(name) {
        return Some(c);
    }
    let id = match name.to_ascii_lowercase().as_str() {
        "h264" | "avc" | "x264" => codec::Id::H264,
        "h265" | "hevc" | "x265" => codec::Id::HEVC,
        "av1" => codec::Id::AV1,
        "vp9" => codec::Id::VP9,
        "vp8" => codec::Id::VP8,
        "mpeg4" => codec::Id::MPEG4,
        "rawvideo" | "raw" => codec::Id::RAWVIDEO,
        _ => return None,
    };
    encoder::find(id)
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

fn ffmpeg_error(name: &str, what: &str, e: ff::Error) -> Error {
    Error::Video(format!("{name}: {what}: {e}"))
}

impl Encoded {
    fn create(
        path: &Path,
        settings: &EncoderSettings,
        config: &WriterConfig,
        audio: Option<&AudioParameters>,
        warnings: &mut Vec<String>,
    ) -> Result<Self> {
        let name = path.display().to_string();
        // The muxer writes a temporary beside the output, whose name keeps the extension
        // the muxer is chosen by: nothing at `path` changes unless the file is finished.
        let temp = TempPath::create(path)?;
        let mut octx = format::output(temp.path())
            .map_err(|e| ffmpeg_error(&name, "cannot create the output (unknown container?)", e))?;
        let container = octx.format().name().to_owned();
        let codec = match settings.codec.as_deref() {
            Some(c) => find_encoder(c)
                .ok_or_else(|| Error::Video(format!("{name}: this FFmpeg has no encoder `{c}`")))?,
            None if container == "yuv4mpegpipe" => encoder::find_by_name("wrapped_avframe")
                .or_else(|| encoder::find(codec::Id::RAWVIDEO))
                .ok_or_else(|| Error::Video(format!("{name}: no raw video encoder")))?,
            None => match encoder::find_by_name("libx264") {
                Some(c) => c,
                None => {
                    let w =
                        "libx264 is not in this FFmpeg; encoding MPEG-4 part 2 instead".to_owned();
                    warnings.push(w);
                    encoder::find(codec::Id::MPEG4).ok_or_else(|| {
                        Error::Video(format!("{name}: no H.264 or MPEG-4 encoder"))
                    })?
                }
            },
        };
        let encoder_name = codec.name().to_owned();
        if let Some(p) = &settings.preset {
            // Refused here rather than by x264/x265, which print their own line to stderr.
            if X26X_ENCODERS.contains(&encoder_name.as_str()) && !X26X_PRESETS.contains(&p.as_str())
            {
                return Err(Error::Video(format!(
                    "{name}: {encoder_name} has no preset `{p}` (use one of {})",
                    X26X_PRESETS.join(", ")
                )));
            }
        }
        let takes_i420 = codec
            .video()
            .ok()
            .and_then(|v| v.formats())
            .is_none_or(|mut formats| formats.any(|f| f == Pixel::YUV420P));
        if !takes_i420 {
            return Err(Error::Video(format!(
                "{name}: encoder {encoder_name} does not take yuv420p frames"
            )));
        }
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
        let rate = Rational(config.frame_rate.0, config.frame_rate.1);
        let no_timestamps = octx.format().flags().contains(format::Flags::NO_TIMESTAMPS);
        let mut encoder_tb = if no_timestamps {
            // Raw containers (y4m) only know a frame rate, taken from the time base.
            rate.invert()
        } else {
            Rational(config.time_base.0, config.time_base.1)
        };
        let short_tb = matches!(
            codec.id(),
            codec::Id::MPEG4 | codec::Id::H263 | codec::Id::MSMPEG4V3
        );
        if short_tb && encoder_tb.denominator() > 65535 {
            // MPEG-4 part 2 cannot signal finer time bases: fall back to the frame rate.
            encoder_tb = rate.invert();
        }
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| ffmpeg_error(&name, "cannot set up the encoder", e))?;
        enc.set_width(config.width);
        enc.set_height(config.height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(encoder_tb);
        enc.set_frame_rate(Some(rate));
        enc.set_colorspace(match config.color.matrix {
            YuvMatrix::Bt709 => ff::color::Space::BT709,
            YuvMatrix::Bt601 => ff::color::Space::SMPTE170M,
        });
        enc.set_color_range(match config.color.range {
            YuvRange::Full => ff::color::Range::JPEG,
            YuvRange::Limited => ff::color::Range::MPEG,
        });
        let mut flags = codec::Flags::empty();
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        let mut opts = Dictionary::new();
        if let Some(b) = settings.bitrate {
            enc.set_bit_rate(usize::try_from(b).unwrap_or(usize::MAX));
        } else if takes_crf(&encoder_name) {
            opts.set("crf", &settings.crf.unwrap_or(23.0).to_string());
        } else if !matches!(
            encoder_name.as_str(),
            "wrapped_avframe" | "rawvideo" | "ffv1"
        ) {
            // A fixed quantiser: FFmpeg's default bit rate (200 kb/s) is far too low.
            let q = settings.crf.map_or(3.0, |c| (c / 6.0).clamp(1.0, 31.0));
            flags |= codec::Flags::QSCALE;
            enc.set_global_quality((q * ff::ffi::FF_QP2LAMBDA as f32) as i32);
            if let Some(crf) = settings.crf {
                warnings.push(format!(
                    "{encoder_name} has no crf; using a fixed quantiser {q:.1} for crf {crf}"
                ));
            }
        }
        enc.set_flags(flags);
        if let Some(p) = &settings.preset {
            opts.set("preset", p);
        }
        for (k, v) in &settings.options {
            opts.set(k, v);
        }
        let encoder = enc
            .open_with(opts)
            .map_err(|e| ffmpeg_error(&name, &format!("cannot open encoder {encoder_name}"), e))?;
        let video_index = {
            let mut ost = octx
                .add_stream(codec)
                .map_err(|e| ffmpeg_error(&name, "cannot add the video stream", e))?;
            ost.set_parameters(&encoder);
            ost.set_time_base(encoder_tb);
            ost.set_avg_frame_rate(rate);
            if let (Some(s), true) = (config.spherical, settings.spherical) {
                add_spherical(&mut ost, s).map_err(|e| Error::Video(format!("{name}: {e}")))?;
            }
            ost.index()
        };
        // The file name matters only to image muxers; an empty one cannot fail to convert.
        let takes_audio = octx.format().codec("", ff::media::Type::Audio) != codec::Id::None;
        let audio = match audio {
            Some(a) if takes_audio => add_audio(&mut octx, a, &name, warnings)?,
            Some(_) => {
                warnings.push(format!(
                    "{name}: the container holds no audio; audio not copied"
                ));
                None
            }
            None => None,
        };
        let spherical_containers = ["mp4", "matroska", "mov"];
        if config.spherical.is_some()
            && settings.spherical
            && !spherical_containers.contains(&container.as_str())
        {
            warnings.push(format!(
                "{name}: the {container} muxer of this FFmpeg writes no spherical metadata; \
                 use .mp4 or .mkv for 360° players"
            ));
        }
        let mov_spherical = match config.spherical {
            Some(s) if settings.spherical && container == "mov" => {
                Some(mov::spherical_v1_xml(s, config.width, config.height))
            }
            _ => None,
        };
        let mut header_opts = Dictionary::new();
        if config.spherical.is_some() && settings.spherical {
            // The mov muxer writes `sv3d`/`st3d` only in mp4 mode and at this compliance level.
            header_opts.set("strict", "unofficial");
        }
        octx.write_header_with(header_opts)
            .map_err(|e| ffmpeg_error(&name, "cannot write the header", e))?;
        let video_tb = octx
            .stream(video_index)
            .map_or(encoder_tb, |s| s.time_base());
        let audio = audio.map(|index| AudioOut {
            index,
            time_base: octx
                .stream(index)
                .map_or(Rational(1, 90000), |s| s.time_base()),
        });
        let mut frame = frame::Video::new(Pixel::YUV420P, config.width, config.height);
        frame.set_color_space(match config.color.matrix {
            YuvMatrix::Bt709 => ff::color::Space::BT709,
            YuvMatrix::Bt601 => ff::color::Space::SMPTE170M,
        });
        frame.set_color_range(match config.color.range {
            YuvRange::Full => ff::color::Range::JPEG,
            YuvRange::Limited => ff::color::Range::MPEG,
        });
        Ok(Self {
            temp,
            octx,
            encoder,
            encoder_name,
            video_index,
            encoder_tb,
            video_tb,
            frame,
            last_ticks: None,
            warned_timestamps: false,
            audio,
            mov_spherical,
        })
    }

    /// Encodes one frame. Returns a warning the first time a timestamp had to be moved.
    fn write(&mut self, src: &Frame<'_>, pts: f64, name: &str) -> Result<Option<String>> {
        // SAFETY: `self.frame` is a valid, allocated AVFrame owned by us; making it writable
        // either keeps its buffers (we hold the only reference) or gives it fresh copies, so
        // an encoder still reading the previous contents is never written over.
        let r = unsafe { ff::ffi::av_frame_make_writable(self.frame.as_mut_ptr()) };
        if r < 0 {
            return Err(ffmpeg_error(
                name,
                "cannot allocate a frame",
                ff::Error::from(r),
            ));
        }
        for plane in 0..3 {
            let (w, h, _) = PixelFormat::I420.plane_shape(plane, src.width(), src.height());
            let s = src.plane(plane);
            let stride = self.frame.stride(plane);
            let dst = self.frame.data_mut(plane);
            for row in 0..h as usize {
                let from = &s.data[row * s.stride..row * s.stride + w as usize];
                dst[row * stride..row * stride + w as usize].copy_from_slice(from);
            }
        }
        let tb = f64::from(self.encoder_tb.numerator()) / f64::from(self.encoder_tb.denominator());
        let mut ticks = (pts / tb).round() as i64;
        let mut warning = None;
        match self.last_ticks {
            Some(last) if ticks <= last => {
                if !self.warned_timestamps {
                    self.warned_timestamps = true;
                    warning = Some(format!(
                        "{name}: timestamp {pts:.3} s does not increase; moved past the previous frame"
                    ));
                }
                ticks = last + 1;
            }
            _ => {}
        }
        self.last_ticks = Some(ticks);
        self.frame.set_pts(Some(ticks));
        self.frame.set_kind(ff::picture::Type::None);
        self.encoder
            .send_frame(&self.frame)
            .map_err(|e| ffmpeg_error(name, "encoding failed", e))?;
        self.drain(name)?;
        Ok(warning)
    }

    fn drain(&mut self, name: &str) -> Result<()> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(self.video_index);
            packet.rescale_ts(self.encoder_tb, self.video_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(|e| ffmpeg_error(name, "writing failed", e))?;
        }
        Ok(())
    }

    fn write_audio(&mut self, mut audio: AudioPacket, shift: f64, name: &str) -> Result<()> {
        let Some(out) = &self.audio else {
            return Ok(());
        };
        let tb = audio.time_base;
        let ticks =
            (shift * f64::from(tb.denominator()) / f64::from(tb.numerator())).round() as i64;
        let p = &mut audio.packet;
        let (Some(pts), dts) = (p.pts(), p.dts()) else {
            return Ok(());
        };
        if pts + ticks < 0 {
            return Ok(());
        }
        p.set_pts(Some(pts + ticks));
        p.set_dts(dts.map(|d| d + ticks));
        p.set_stream(out.index);
        p.set_position(-1);
        p.rescale_ts(tb, out.time_base);
        p.write_interleaved(&mut self.octx)
            .map_err(|e| ffmpeg_error(name, "writing audio failed", e))
    }

    /// Flushes the encoder, writes the trailer and closes the file; then adds the `.mov`
    /// spherical metadata (a failure there leaves the file as the muxer wrote it, and warns)
    /// and renames the file over the output path. On failure the file is removed.
    fn finish(mut self: Box<Self>, name: &str) -> Result<()> {
        let flushed = match self.encoder.send_eof() {
            Ok(()) => self.drain(name),
            Err(e) => Err(ffmpeg_error(name, "flushing the encoder failed", e)),
        };
        let trailer = self
            .octx
            .write_trailer()
            .map_err(|e| ffmpeg_error(name, "cannot write the trailer", e));
        let done = flushed.and(trailer);
        let Self {
            temp,
            octx,
            mov_spherical,
            ..
        } = *self;
        // Closes the file.
        drop(octx);
        done?;
        if let Some(xml) = mov_spherical {
            if let Err(e) = mov::add_spherical_v1(temp.path(), &xml) {
                log::warn!("{name}: spherical metadata not added: {e}");
            }
        }
        temp.commit()
    }
}

/// Adds a stream copying the input's audio when the container takes its codec.
fn add_audio(
    octx: &mut format::context::Output,
    audio: &AudioParameters,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<usize>> {
    let id = audio.parameters.id();
    // SAFETY: `octx` owns a valid output AVFormatContext whose `oformat` is set; the query
    // only reads the muxer's static codec tables.
    let supported = unsafe {
        ff::ffi::avformat_query_codec(
            (*octx.as_ptr()).oformat,
            id.into(),
            ff::ffi::FF_COMPLIANCE_NORMAL,
        )
    };
    if supported == 0 {
        let w = format!("{name}: the container cannot hold {id:?} audio; audio not copied");
        warnings.push(w);
        return Ok(None);
    }
    let mut ost = octx
        .add_stream(encoder::find(codec::Id::None))
        .map_err(|e| ffmpeg_error(name, "cannot add the audio stream", e))?;
    ost.set_parameters(audio.parameters.clone());
    ost.set_time_base(audio.time_base);
    // SAFETY: the stream was just created by `add_stream` and its codec parameters are a
    // valid AVCodecParameters; clearing the input container's codec tag lets the muxer pick
    // its own (there is no safe setter in ffmpeg-next).
    unsafe {
        (*ost.parameters().as_mut_ptr()).codec_tag = 0;
    }
    Ok(Some(ost.index()))
}

/// Attaches equirectangular spherical mapping (and mono stereo 3D) side data to a stream.
fn add_spherical(
    stream: &mut format::stream::StreamMut<'_>,
    s: Spherical,
) -> std::result::Result<(), String> {
    use std::f64::consts::PI;
    // Crops from the full sphere, as 0.32 fixed-point fractions of the frame height.
    let fixed = |fraction: f64| (fraction.clamp(0.0, 1.0) * 4_294_967_295.0).round() as u32;
    let bound_top = fixed((PI / 2.0 - s.top) / PI);
    let bound_bottom = fixed((s.bottom + PI / 2.0) / PI);
    let tiled = bound_top != 0 || bound_bottom != 0;
    // SAFETY: `av_spherical_alloc` returns a zeroed AVSphericalMapping of `size` bytes (or
    // null); on success `av_stream_add_side_data` takes ownership of it, on failure we free
    // it. `av_stereo3d_alloc` likewise returns a zeroed AVStereo3D (or null) whose size is
    // `size_of::<AVStereo3D>()`. The stream pointer is valid for the lifetime of `stream`.
    unsafe {
        let mut size: usize = 0;
        let mapping = ff::ffi::av_spherical_alloc(&mut size);
        if mapping.is_null() {
            return Err("out of memory".into());
        }
        (*mapping).projection = if tiled {
            ff::ffi::AVSphericalProjection::AV_SPHERICAL_EQUIRECTANGULAR_TILE
        } else {
            ff::ffi::AVSphericalProjection::AV_SPHERICAL_EQUIRECTANGULAR
        };
        (*mapping).bound_top = bound_top;
        (*mapping).bound_bottom = bound_bottom;
        let st = stream.as_mut_ptr();
        let r = ff::ffi::av_stream_add_side_data(
            st,
            ff::ffi::AVPacketSideDataType::AV_PKT_DATA_SPHERICAL,
            mapping.cast(),
            size,
        );
        if r < 0 {
            ff::ffi::av_free(mapping.cast());
            return Err(format!(
                "cannot attach spherical metadata: {}",
                ff::Error::from(r)
            ));
        }
        let stereo = ff::ffi::av_stereo3d_alloc();
        if stereo.is_null() {
            return Err("out of memory".into());
        }
        (*stereo).type_ = ff::ffi::AVStereo3DType::AV_STEREO3D_2D;
        let r = ff::ffi::av_stream_add_side_data(
            st,
            ff::ffi::AVPacketSideDataType::AV_PKT_DATA_STEREO3D,
            stereo.cast(),
            std::mem::size_of::<ff::ffi::AVStereo3D>(),
        );
        if r < 0 {
            ff::ffi::av_free(stereo.cast());
            return Err(format!(
                "cannot attach stereo metadata: {}",
                ff::Error::from(r)
            ));
        }
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
        assert_eq!(numbered("f/out_%05d.png", 7), "f/out_00007.png");
        assert_eq!(numbered("x%d.jpg", 12), "x12.jpg");
    }
}
