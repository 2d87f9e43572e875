//! Encoding into a container: the encoder and muxer set up from the settings, frames
//! encoded and interleaved, the file finished under its temporary name and renamed.

use std::path::Path;

use ff::format::Pixel;
use ff::{Dictionary, Packet, Rational, codec, encoder, format, frame};
use ffmpeg_next as ff;

use super::audio::{AudioOut, add_audio};
use super::{EncoderSettings, WriterConfig};
use crate::frame::{Frame, PixelFormat, YuvColor, YuvMatrix, YuvRange};
use crate::output::TempPath;
use crate::video::metadata::{self, add_spherical};
use crate::video::source::AudioParameters;
use crate::{Error, Result};

/// An open encoder and muxer writing a temporary file.
pub(super) struct Encoded {
    /// Where the muxer writes; renamed over the output path when finished.
    pub(super) temp: TempPath,
    pub(super) octx: format::context::Output,
    pub(super) encoder: encoder::video::Encoder,
    pub(super) encoder_name: String,
    pub(super) video_index: usize,
    pub(super) encoder_tb: Rational,
    pub(super) video_tb: Rational,
    pub(super) frame: frame::Video,
    pub(super) last_ticks: Option<i64>,
    pub(super) warned_timestamps: bool,
    pub(super) audio: Option<AudioOut>,
    /// Spherical Video V1 XML to add to a finished `.mov` (whose muxer writes no `sv3d`).
    pub(super) mov_spherical: Option<String>,
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

pub(super) fn ffmpeg_error(name: &str, what: &str, e: ff::Error) -> Error {
    Error::Video(format!("{name}: {what}: {e}"))
}

impl Encoded {
    pub(super) fn create(
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
        let (space, range) = ffmpeg_color(config.color);
        enc.set_colorspace(space);
        enc.set_color_range(range);
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
                Some(metadata::spherical_v1_xml(s, config.width, config.height))
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
        let (space, range) = ffmpeg_color(config.color);
        frame.set_color_space(space);
        frame.set_color_range(range);
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
    pub(super) fn write(
        &mut self,
        src: &Frame<'_>,
        pts: f64,
        name: &str,
    ) -> Result<Option<String>> {
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
                let from = s.data.get(row * s.stride..row * s.stride + w as usize);
                let to = dst.get_mut(row * stride..row * stride + w as usize);
                // `VideoWriter::write` checked the frame: I420 of the encoder's size.
                let (Some(from), Some(to)) = (from, to) else {
                    return Err(Error::Video(format!(
                        "{name}: plane {plane} row {row} does not fit the encoder's frame"
                    )));
                };
                to.copy_from_slice(from);
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

    /// Flushes the encoder, writes the trailer and closes the file; then adds the `.mov`
    /// spherical metadata (a failure there leaves the file as the muxer wrote it, and warns)
    /// and renames the file over the output path. On failure the file is removed.
    pub(super) fn finish(mut self: Box<Self>, name: &str) -> Result<()> {
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
            if let Err(e) = metadata::add_spherical_v1(temp.path(), &xml) {
                log::warn!("{name}: spherical metadata not added: {e}");
            }
        }
        temp.commit()
    }
}

/// FFmpeg's colour space and range tags of `color`.
fn ffmpeg_color(color: YuvColor) -> (ff::color::Space, ff::color::Range) {
    let space = match color.matrix {
        YuvMatrix::Bt709 => ff::color::Space::BT709,
        YuvMatrix::Bt601 => ff::color::Space::SMPTE170M,
    };
    let range = match color.range {
        YuvRange::Full => ff::color::Range::JPEG,
        YuvRange::Limited => ff::color::Range::MPEG,
    };
    (space, range)
}
