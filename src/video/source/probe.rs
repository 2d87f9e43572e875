//! Container facts a demuxer does not report: whether a local Matroska/WebM or MPEG-TS
//! file was cut short, from its size and first bytes.

/// Bytes read from the start of a file to find its layout.
const HEAD_BYTES: u64 = 4096;

/// Why the local `path` (opened by the `container` demuxer) is known to be cut short, from
/// its size and first bytes; `None` when it is whole or the format cannot tell.
pub(super) fn file_cut(path: &std::path::Path, container: &str) -> Option<String> {
    use std::io::Read;
    let len = std::fs::metadata(path).ok()?.len();
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    if container.split(',').any(|c| c == "matroska" || c == "webm") {
        let end = matroska_segment_end(&head)?;
        (len < end).then(|| format!("the file has {len} of the {end} bytes its segment declares"))
    } else if container == "mpegts" {
        let size = ts_packet_size(&head)?;
        (len % size != 0).then(|| format!("it ends inside a {size}-byte transport packet"))
    } else {
        None
    }
}

/// An EBML variable-length integer at the start of `bytes`: (value, length). Element IDs
/// keep their length marker (`keep_marker`); sizes drop it, and an all-ones size ("unknown")
/// is `u64::MAX`.
fn ebml_vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || bytes.len() < len {
        return None;
    }
    // The marker bit and the zeros before it (all of the first byte for 8-byte vints).
    let mask = if keep_marker {
        0xff
    } else {
        (0xffu16 >> len) as u8
    };
    let mut value = u64::from(first & mask);
    for &b in bytes.get(1..len).unwrap_or_default() {
        value = value << 8 | u64::from(b);
    }
    let all_ones = (1u64 << (7 * len)) - 1;
    if !keep_marker && value == all_ones {
        return Some((u64::MAX, len));
    }
    Some((value, len))
}

/// Where the first Matroska `Segment` of a file ends (byte offset), from the file's first
/// bytes; `None` when its size is unknown (written live) or the bytes are not Matroska.
fn matroska_segment_end(head: &[u8]) -> Option<u64> {
    const EBML: u64 = 0x1A45_DFA3;
    const SEGMENT: u64 = 0x1853_8067;
    let mut at = 0usize;
    let mut first = true;
    loop {
        let (id, id_len) = ebml_vint(head.get(at..)?, true)?;
        let (size, size_len) = ebml_vint(head.get(at + id_len..)?, false)?;
        if first && id != EBML {
            return None;
        }
        first = false;
        let data = (at + id_len + size_len) as u64;
        if id == SEGMENT {
            return (size != u64::MAX).then(|| data.saturating_add(size));
        }
        if size == u64::MAX {
            return None;
        }
        at = usize::try_from(data.checked_add(size)?).ok()?;
    }
}

/// The transport packet size of an MPEG-TS file (188, 192 for BDAV/m2ts with its 4-byte
/// timestamp, or 204 with FEC), from the sync bytes of its first packets.
fn ts_packet_size(head: &[u8]) -> Option<u64> {
    [(188usize, 0usize), (192, 4), (204, 0)]
        .into_iter()
        .find(|&(size, prefix)| {
            let packets = (head.len().saturating_sub(prefix) / size).min(8);
            packets >= 2 && (0..packets).all(|k| head.get(prefix + k * size) == Some(&0x47))
        })
        .map(|(size, _)| size as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EBML element with a 1-byte ID (or the 4-byte ones below) and an 8-byte size.
    fn element(id: &[u8], size: Option<u64>, data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        match size {
            Some(n) => {
                out.push(0x01);
                out.extend_from_slice(&n.to_be_bytes()[1..]);
            }
            None => out.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        }
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn ebml_vints() {
        assert_eq!(ebml_vint(&[0x81], false), Some((1, 1)));
        assert_eq!(ebml_vint(&[0x40, 0x02], false), Some((2, 2)));
        assert_eq!(ebml_vint(&[0xff], false), Some((u64::MAX, 1)));
        assert_eq!(
            ebml_vint(&[0x01, 0, 0, 0, 0, 0, 0x01, 0x02], false),
            Some((258, 8))
        );
        assert_eq!(
            ebml_vint(&[0x1a, 0x45, 0xdf, 0xa3], true),
            Some((0x1A45_DFA3, 4))
        );
        assert_eq!(ebml_vint(&[0x00, 1, 2], false), None);
        assert_eq!(ebml_vint(&[0x20, 1], false), None, "cut short");
    }

    #[test]
    fn matroska_segment_sizes() {
        let header = element(
            &[0x1a, 0x45, 0xdf, 0xa3],
            Some(5),
            &[0x42, 0x86, 0x81, 0x01, 0],
        );
        let void = [0xec, 0x83, 0, 0, 0];
        let segment_id = [0x18, 0x53, 0x80, 0x67];
        let mut file = header.clone();
        file.extend_from_slice(&void);
        let data_start = (file.len() + 4 + 8) as u64;
        file.extend(element(&segment_id, Some(1000), &[0; 16]));
        assert_eq!(matroska_segment_end(&file), Some(data_start + 1000));
        // Written live: the size is unknown.
        let mut live = header.clone();
        live.extend(element(&segment_id, None, &[0; 16]));
        assert_eq!(matroska_segment_end(&live), None);
        // Not Matroska, or cut before the segment.
        assert_eq!(matroska_segment_end(&[0x47; 64]), None);
        assert_eq!(matroska_segment_end(&header), None);
    }

    #[test]
    fn ts_packet_sizes() {
        let packets = |size: usize, prefix: usize, n: usize| {
            let mut out = vec![0u8; size * n];
            for k in 0..n {
                out[k * size + prefix] = 0x47;
            }
            out
        };
        assert_eq!(ts_packet_size(&packets(188, 0, 10)), Some(188));
        assert_eq!(ts_packet_size(&packets(192, 4, 10)), Some(192));
        assert_eq!(ts_packet_size(&packets(204, 0, 10)), Some(204));
        assert_eq!(
            ts_packet_size(&packets(188, 0, 1)),
            None,
            "one packet tells nothing"
        );
        assert_eq!(ts_packet_size(&[0u8; 2000]), None);
    }
}
