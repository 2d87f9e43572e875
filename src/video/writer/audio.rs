//! Copying the input's audio into an encoded output.

use ff::{Rational, codec, encoder, format};
use ffmpeg_next as ff;

use super::encode::{Encoded, ffmpeg_error};
use crate::Result;
use crate::video::source::{AudioPacket, AudioParameters};

/// The output stream audio is copied into.
pub(super) struct AudioOut {
    pub(super) index: usize,
    pub(super) time_base: Rational,
}

impl Encoded {
    /// Copies an audio packet, its timestamps moved by `shift` seconds.
    pub(super) fn write_audio(
        &mut self,
        mut audio: AudioPacket,
        shift: f64,
        name: &str,
    ) -> Result<()> {
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
}

/// Adds a stream copying the input's audio when the container takes its codec.
pub(super) fn add_audio(
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
