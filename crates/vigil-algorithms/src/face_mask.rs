//! Is a face wearing a mask? Read from the pixels around YuNet's five landmarks.
//!
//! The face's own skin is the reference: the median chroma (YCrCb) of the forehead band above
//! the eyes. The lower face (mouth and chin, below the nose) is then compared with it: a bare
//! face shows mostly the same skin there, a mask shows a surface of another chroma or
//! brightness (white, blue, black fabric). A forehead that is not skin-coloured at all (a cap,
//! hair over the eyes) makes the reading fall back to a generic skin-chroma range.
//!
//! Limits (docs): a skin-coloured mask reads as a bare face; a beard is read as a mask only
//! when it covers most of the chin and mouth; faces under [`MIN_EYE_DISTANCE`] px give no reading.

use vigil_vision::detect::Face;
use vigil_vision::ImageBgr;

/// Eye distance (px) below which the lower face has too few pixels to read.
pub const MIN_EYE_DISTANCE: f32 = 6.0;
/// Lower-face skin share (relative to the forehead's) below which a face counts as masked.
pub const MASKED_BELOW: f32 = 0.45;

/// What one face showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskReading {
    /// Share of lower-face pixels whose colour matches the reference skin.
    pub lower_skin: f32,
    /// The same share on the reference band itself (how skin-like the reference is).
    pub upper_skin: f32,
    /// Standard deviation of luma on the lower face (a mouth line and lips add contrast; a
    /// mask is smoother).
    pub lower_luma_std: f32,
}

impl MaskReading {
    /// The skin share below the nose relative to the forehead's.
    pub fn skin_ratio(&self) -> f32 {
        self.lower_skin / self.upper_skin.max(0.2)
    }

    pub fn masked(&self) -> bool {
        self.skin_ratio() < MASKED_BELOW
    }
}

fn ycrcb(px: &[u8]) -> [f32; 3] {
    let (b, g, r) = (px[0] as f32, px[1] as f32, px[2] as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    [y, (r - y) * 0.713 + 128.0, (b - y) * 0.564 + 128.0]
}

/// Pixels (YCrCb) of the rectangle `(x0, y0, x1, y1)`, clipped to the image.
fn pixels(img: &ImageBgr, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Vec<[f32; 3]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (x0, x1) = (x0.clamp(0.0, w) as u32, x1.clamp(0.0, w) as u32);
    let (y0, y1) = (y0.clamp(0.0, h) as u32, y1.clamp(0.0, h) as u32);
    let mut out = Vec::new();
    for y in y0..y1 {
        let row = img.row(y);
        for x in x0..x1 {
            let i = x as usize * 3;
            if let Some(px) = row.get(i..i + 3) {
                out.push(ycrcb(px));
            }
        }
    }
    out
}

fn median(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Generic skin chroma (a wide Cr/Cb box that holds most skin tones under indoor light).
fn generic_skin(p: &[f32; 3]) -> bool {
    (133.0..=180.0).contains(&p[1]) && (77.0..=130.0).contains(&p[2]) && p[0] > 40.0
}

/// The mask reading of `face` in `img`; `None` when the face is too small or its landmarks
/// are not in the usual order (a profile or a wrong detection).
pub fn read(img: &ImageBgr, face: &Face) -> Option<MaskReading> {
    let [le, re, nose, lm, rm] = face.landmarks;
    let eye_y = (le.1 + re.1) / 2.0;
    let mouth_y = (lm.1 + rm.1) / 2.0;
    let d = ((re.0 - le.0).powi(2) + (re.1 - le.1).powi(2)).sqrt();
    if !d.is_finite() || d < MIN_EYE_DISTANCE || !(eye_y < nose.1 && nose.1 < mouth_y) {
        return None;
    }
    let (xl, xr) = (le.0.min(re.0), le.0.max(re.0));
    // Forehead band above the eyebrows.
    let upper = pixels(img, (xl, eye_y - 0.75 * d, xr, eye_y - 0.3 * d));
    // Mouth and chin: from just below the nose to below the mouth corners.
    let (ml, mr) = (lm.0.min(rm.0), lm.0.max(rm.0));
    let lower = pixels(
        img,
        (
            ml - 0.1 * d,
            nose.1 + 0.3 * (mouth_y - nose.1),
            mr + 0.1 * d,
            mouth_y + 0.35 * d,
        ),
    );
    if upper.len() < 6 || lower.len() < 6 {
        return None;
    }
    let ref_y = median(upper.iter().map(|p| p[0]).collect());
    let ref_cr = median(upper.iter().map(|p| p[1]).collect());
    let ref_cb = median(upper.iter().map(|p| p[2]).collect());
    let ref_is_skin = generic_skin(&[ref_y, ref_cr, ref_cb]);
    let like_ref = |p: &[f32; 3]| {
        if ref_is_skin {
            (p[1] - ref_cr).abs() <= 9.0
                && (p[2] - ref_cb).abs() <= 9.0
                && p[0] >= 0.45 * ref_y
                && p[0] <= 1.6 * ref_y + 10.0
        } else {
            generic_skin(p)
        }
    };
    let share = |v: &[[f32; 3]]| v.iter().filter(|p| like_ref(p)).count() as f32 / v.len() as f32;
    let mean = lower.iter().map(|p| p[0]).sum::<f32>() / lower.len() as f32;
    let var = lower.iter().map(|p| (p[0] - mean).powi(2)).sum::<f32>() / lower.len() as f32;
    Some(MaskReading {
        lower_skin: share(&lower),
        upper_skin: share(&upper),
        lower_luma_std: var.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vision::BBox;

    /// A 100×100 skin-coloured face with the landmarks of a frontal face; `lower` paints the
    /// mouth/chin region.
    fn face_image(lower: Option<[u8; 3]>) -> (ImageBgr, Face) {
        let skin = [120u8, 150, 200];
        let mut data = Vec::with_capacity(100 * 100 * 3);
        for y in 0..100u32 {
            for _ in 0..100u32 {
                let px = match lower {
                    Some(c) if y >= 58 => c,
                    _ => skin,
                };
                data.extend_from_slice(&px);
            }
        }
        let img = ImageBgr::from_packed(100, 100, data).unwrap();
        let face = Face {
            bbox: BBox::new(20.0, 20.0, 80.0, 95.0),
            score: 0.9,
            landmarks: [(35.0, 45.0), (65.0, 45.0), (50.0, 60.0), (38.0, 75.0), (62.0, 75.0)],
        };
        (img, face)
    }

    #[test]
    fn bare_skin_below_the_nose_is_no_mask() {
        let (img, face) = face_image(None);
        let r = read(&img, &face).unwrap();
        assert!(!r.masked(), "{r:?}");
    }

    #[test]
    fn white_blue_and_black_lower_faces_are_masks() {
        for c in [[235u8, 235, 235], [225, 200, 160], [40, 40, 40]] {
            let (img, face) = face_image(Some(c));
            let r = read(&img, &face).unwrap();
            assert!(r.masked(), "{c:?}: {r:?}");
        }
    }

    #[test]
    fn tiny_faces_give_no_reading() {
        let (img, mut face) = face_image(None);
        face.landmarks[1] = (38.0, 45.0);
        assert!(read(&img, &face).is_none());
    }
}
