//! Colour naming of an image region (clothing, vehicle bodies): every pixel gets one of a
//! dozen basic colour names from its HSV value, and the region is named after the most
//! frequent one.
//!
//! Thresholds were set on hand-labelled clothing and car colours of the real clips
//! (tools/labels/attributes.md). Low-saturation pixels are named by brightness only, so a
//! colour cast of the light does not turn a grey jumper blue.

use vigil_vision::pixel::bgr_to_hsv;
use vigil_vision::{BBox, ImageBgr};

/// The names, in the order of [`ColourVotes`] bins.
pub const NAMES: [&str; 11] = [
    "black", "white", "gray", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
];

/// Basic colour name of one pixel (index into [`NAMES`]).
pub fn pixel_colour(b: u8, g: u8, r: u8) -> usize {
    let [h, s, v] = bgr_to_hsv(b, g, r);
    let (h, s, v) = (h as u32, s as u32, v as u32);
    if v < 60 {
        // Dark denim stays blue: strongly saturated blue even when dark (black cloth under
        // compression almost never is; measured on the labelled clips).
        return if v >= 25 && s >= 120 && (100..=130).contains(&h) {
            7
        } else {
            0
        };
    }
    // Dull pixels: brightness only (achromatic). Darker pixels need more saturation to count as
    // a colour because compression noise dominates their chroma.
    let grey_limit = if v < 120 { 90 } else { 55 };
    if s < grey_limit {
        return match v {
            0..=89 => 0,
            90..=184 => 2,
            _ => 1,
        };
    }
    match h {
        // Hi-vis orange sits at hue 5–8 on these cameras: red ends at 4.
        0..=4 | 170..=179 => {
            if s < 130 && v > 150 {
                9
            } else {
                3
            }
        }
        5..=21 => {
            if v < 140 {
                10
            } else {
                4
            }
        }
        22..=34 => 5,
        35..=84 => 6,
        85..=129 => 7,
        130..=154 => 8,
        _ => 9,
    }
}

/// Pixel counts per colour name over one or more regions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColourVotes(pub [u32; NAMES.len()]);

impl ColourVotes {
    /// Counts the pixels of `region` (clipped to the frame; sampled every `step` pixels).
    pub fn of_region(img: &ImageBgr, region: &BBox, step: u32) -> Self {
        let mut votes = ColourVotes::default();
        let (w, h) = (img.width() as f32, img.height() as f32);
        let r = region.clamp(w, h);
        let (x0, y0) = (r.x1.max(0.0) as u32, r.y1.max(0.0) as u32);
        let (x1, y1) = (r.x2.min(w) as u32, r.y2.min(h) as u32);
        let step = step.max(1);
        for y in (y0..y1).step_by(step as usize) {
            let row = img.row(y);
            for x in (x0..x1).step_by(step as usize) {
                let i = x as usize * 3;
                if let Some(px) = row.get(i..i + 3) {
                    votes.0[pixel_colour(px[0], px[1], px[2])] += 1;
                }
            }
        }
        votes
    }

    pub fn add(&mut self, o: &ColourVotes) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += b;
        }
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }

    /// The most frequent name (`None` when empty).
    pub fn dominant(&self) -> Option<&'static str> {
        let (i, n) = self.0.iter().enumerate().max_by_key(|(_, n)| **n)?;
        (*n > 0).then_some(NAMES[i])
    }

    /// The share of pixels named `name`.
    pub fn share(&self, name: &str) -> f32 {
        let total = self.total().max(1) as f32;
        NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(0.0, |i| self.0[i] as f32 / total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(bgr: [u8; 3]) -> &'static str {
        NAMES[pixel_colour(bgr[0], bgr[1], bgr[2])]
    }

    #[test]
    fn basic_colours_are_named() {
        assert_eq!(name([20, 20, 20]), "black");
        assert_eq!(name([240, 240, 240]), "white");
        assert_eq!(name([140, 140, 140]), "gray");
        assert_eq!(name([30, 30, 200]), "red");
        assert_eq!(name([0, 120, 255]), "orange");
        assert_eq!(name([0, 220, 240]), "yellow");
        assert_eq!(name([40, 180, 40]), "green");
        assert_eq!(name([200, 90, 30]), "blue");
        assert_eq!(name([40, 80, 130]), "brown");
        assert_eq!(name([45, 20, 8]), "blue", "dark denim");
        assert_eq!(name([25, 20, 20]), "black");
    }

    #[test]
    fn a_region_is_named_after_its_majority() {
        let img = ImageBgr::filled(20, 20, [200, 90, 30]).unwrap();
        let v = ColourVotes::of_region(&img, &BBox::new(0.0, 0.0, 20.0, 20.0), 2);
        assert_eq!(v.dominant(), Some("blue"));
        assert_eq!(v.total(), 100);
        assert!((v.share("blue") - 1.0).abs() < 1e-6);
    }
}
