//! Whether a packet's picture is a reference picture (one other pictures are predicted from),
//! read from its NAL unit headers without decoding: H.264 `nal_ref_idc`, H.265 sub-layer
//! non-reference unit types. The reader uses it to sample a reference picture lying within one
//! picture of the due time, so the non-reference pictures around it need not be decoded at all
//! (reference pictures must be decoded anyway, for the pictures predicted from them).

use ffmpeg_next::codec::{Id, Parameters};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NalCodec {
    H264,
    Hevc,
}

/// How one stream's packets carry their NAL units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalLayout {
    codec: NalCodec,
    /// Bytes of the big-endian length before each unit (MP4: the `avcC`/`hvcC` record says how
    /// many); `None`: Annex B start codes (MPEG-TS, RTP, raw streams). Packets cannot tell
    /// themselves apart: a 4-byte length below 512 also starts with `0 0 1`.
    length_size: Option<usize>,
}

impl NalLayout {
    /// The layout of a stream with codec `params`; `None` for codecs other than H.264/H.265.
    pub fn of(params: &Parameters) -> Option<Self> {
        // SAFETY: reading the extradata pointer and size of codec parameters we hold a reference
        // to; libavcodec keeps `extradata_size` bytes valid behind a non-null pointer.
        let extradata = unsafe {
            let p = params.as_ptr();
            let (data, size) = ((*p).extradata, (*p).extradata_size);
            match usize::try_from(size) {
                Ok(n) if !data.is_null() && n > 0 => std::slice::from_raw_parts(data, n),
                _ => &[][..],
            }
        };
        Self::from_parts(params.id(), extradata)
    }

    /// The layout for codec `id` with its `extradata` (codec configuration record or Annex B
    /// parameter sets).
    pub fn from_parts(id: Id, extradata: &[u8]) -> Option<Self> {
        let codec = match id {
            Id::H264 => NalCodec::H264,
            Id::HEVC => NalCodec::Hevc,
            _ => return None,
        };
        // A configuration record starts with version 1; Annex B parameter sets with 0 0 (0) 1,
        // and streams without extradata carry their parameter sets in band, in Annex B.
        let length_byte = match codec {
            NalCodec::H264 => 4,
            NalCodec::Hevc => 21,
        };
        let length_size = match extradata {
            [1, ..] if extradata.len() > length_byte => Some(usize::from(extradata[length_byte] & 3) + 1),
            _ => None,
        };
        Some(NalLayout { codec, length_size })
    }

    /// Whether the picture in `packet` is a reference picture; `None` when the packet holds no
    /// slice this can read.
    pub fn is_reference(&self, packet: &[u8]) -> Option<bool> {
        match self.length_size {
            None => AnnexBUnits { rest: packet }.find_map(|unit| self.slice_reference(unit)),
            Some(length_size) => LengthPrefixedUnits {
                rest: packet,
                length_size,
            }
            .find_map(|unit| self.slice_reference(unit)),
        }
    }

    /// For a slice unit, whether its picture is a reference; `None` for other units.
    fn slice_reference(&self, unit: &[u8]) -> Option<bool> {
        let header = *unit.first()?;
        match self.codec {
            NalCodec::H264 => {
                let kind = header & 0x1f;
                (1..=5).contains(&kind).then_some(header & 0x60 != 0)
            }
            NalCodec::Hevc => {
                let kind = (header >> 1) & 0x3f;
                // VCL types 0..=31; the even ones up to 14 (TRAIL_N, TSA_N, STSA_N, RADL_N,
                // RASL_N, RSV_VCL_N10/12/14) are sub-layer non-reference pictures.
                (kind < 32).then_some(!(kind <= 14 && kind % 2 == 0))
            }
        }
    }
}

/// The units of an Annex B packet (each after a `0 0 1` start code), each given with the rest
/// of the packet after it: only its header bytes are read, so a unit's end is never searched
/// for (that would scan the whole slice of every packet).
struct AnnexBUnits<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for AnnexBUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = find_start_code(self.rest)? + 3;
        self.rest = &self.rest[start..];
        Some(self.rest)
    }
}

fn find_start_code(data: &[u8]) -> Option<usize> {
    data.windows(3).position(|w| w == [0, 0, 1])
}

/// The units of a length-prefixed (MP4-style) packet.
struct LengthPrefixedUnits<'a> {
    rest: &'a [u8],
    length_size: usize,
}

impl<'a> Iterator for LengthPrefixedUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.len() < self.length_size {
            return None;
        }
        let (len_bytes, body) = self.rest.split_at(self.length_size);
        let len = len_bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
        if len == 0 || len > body.len() {
            self.rest = &[];
            return None;
        }
        let (unit, rest) = body.split_at(len);
        self.rest = rest;
        Some(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264() -> NalLayout {
        NalLayout::from_parts(Id::H264, &[]).expect("h264")
    }

    #[test]
    fn h264_annex_b_reads_nal_ref_idc_of_the_first_slice() {
        // AUD, SEI, then a non-reference B slice (nal_ref_idc 0, type 1).
        let nonref = [0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x06, 5, 0x80, 0, 0, 1, 0x01, 0x9e];
        assert_eq!(h264().is_reference(&nonref), Some(false));
        // A P slice with nal_ref_idc 2 (0x41) and an IDR slice (0x65).
        assert_eq!(h264().is_reference(&[0, 0, 1, 0x41, 0x9a]), Some(true));
        assert_eq!(
            h264().is_reference(&[0, 0, 0, 1, 0x67, 0x64, 0, 0, 1, 0x65, 0x88]),
            Some(true)
        );
    }

    #[test]
    fn h264_length_prefixed_uses_the_avcc_length_size() {
        // avcC with lengthSizeMinusOne = 1 (2-byte lengths).
        let layout = NalLayout::from_parts(Id::H264, &[1, 0x64, 0, 0x1f, 0xfd, 0xe1]).expect("h264");
        let pkt = [0, 2, 0x06, 0x05, 0, 2, 0x21, 0x9e];
        assert_eq!(layout.is_reference(&pkt), Some(true));
        // 4-byte lengths; the second unit's length (0x1ca) starts like a start code.
        let avcc4 = NalLayout::from_parts(Id::H264, &[1, 0x64, 0, 0x1f, 0xff, 0xe1]).expect("h264");
        let mut four = vec![0, 0, 0, 2, 0x06, 0x05, 0, 0, 1, 0xca, 0x01, 0x9e];
        four.resize(4 + 2 + 4 + 0x1ca, 0);
        assert_eq!(avcc4.is_reference(&four), Some(false));
    }

    #[test]
    fn hevc_sub_layer_non_reference_types_are_not_references() {
        let layout = NalLayout::from_parts(Id::HEVC, &[]).expect("hevc");
        // TRAIL_N (0), TRAIL_R (1), IDR_W_RADL (19), RASL_N (8); header byte = type << 1.
        for (kind, reference) in [(0u8, false), (1, true), (19, true), (8, false), (9, true)] {
            let pkt = [0, 0, 1, 0x40, 1, 0, 0, 1, kind << 1, 1, 0xaf];
            assert_eq!(layout.is_reference(&pkt), Some(reference), "type {kind}");
        }
    }

    #[test]
    fn garbage_and_other_codecs_say_nothing() {
        assert_eq!(NalLayout::from_parts(Id::MPEG4, &[]), None);
        let (annex_b, avcc) = (
            h264(),
            NalLayout::from_parts(Id::H264, &[1, 0x64, 0, 0x1f, 0xff, 0xe1]).expect("h264"),
        );
        for pkt in [
            &[][..],
            &[0, 0, 1],
            &[0, 0, 0, 9, 1],
            &[0xff; 7],
            &[0, 0, 1, 0x67, 0, 0, 1],
        ] {
            assert_eq!(annex_b.is_reference(pkt), None, "{pkt:?}");
            assert_eq!(avcc.is_reference(pkt), None, "{pkt:?}");
        }
    }
}
