//! Rendering boxes/ROI and JPEG encoding, checked by decoding the JPEG again.

mod common;

use common::*;
use vigil_vision::render::{render_alarm_jpeg, RenderOptions};
use vigil_vision::{BBox, Roi};

fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().expect("valid JPEG");
    let info = d.info().expect("info");
    (info.width as usize, info.height as usize, px) // RGB
}

#[test]
fn red_boxes_and_yellow_roi_appear_in_the_jpeg() {
    let frame = frames(&media("pedestrians_vtest.mp4"), Some(&[100])).remove(0);
    let roi = Roi::parse(
        r#"{"lines":[{"data":[[100,500],[700,500]]}],"polygons":[{"data":[[50,50],[300,50],[300,200],[50,200]]}]}"#,
    )
    .expect("roi");
    let target = BBox::new(400.0, 300.0, 500.0, 450.0);
    let opts = RenderOptions {
        render_result: true,
        render_roi: true,
        quality: 90,
    };
    let jpeg = render_alarm_jpeg(&frame, &[target], Some(&roi), &opts).expect("render");
    let (w, h, px) = decode(&jpeg);
    assert_eq!((w, h), (768, 576));
    let at = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (px[i] as i32, px[i + 1] as i32, px[i + 2] as i32)
    };
    // Left edge of the red box, middle height.
    let (r, g, b) = at(401, 375);
    assert!(r > 180 && g < 90 && b < 90, "red box pixel {r},{g},{b}");
    // Yellow ROI line.
    let (r, g, b) = at(400, 500);
    assert!(r > 180 && g > 180 && b < 110, "yellow line pixel {r},{g},{b}");
    // Polygon edge.
    let (r, g, b) = at(175, 50);
    assert!(r > 180 && g > 180 && b < 110, "yellow polygon pixel {r},{g},{b}");
    // Inside the box the frame is untouched (not red).
    let (r, g, _) = at(450, 375);
    assert!(!(r > 180 && g < 90), "interior must not be painted");

    // Switches off: same frame without drawing; quality changes size.
    let plain = render_alarm_jpeg(&frame, &[target], Some(&roi), &RenderOptions::default()).expect("plain");
    let (_, _, px2) = decode(&plain);
    let i = (375 * w + 401) * 3;
    assert!(
        !(px2[i] > 180 && px2[i + 1] < 90 && px2[i + 2] < 90),
        "box drawn although render_result_sw = 0"
    );
    let low = render_alarm_jpeg(
        &frame,
        &[],
        None,
        &RenderOptions {
            quality: 20,
            ..Default::default()
        },
    )
    .expect("q20");
    assert!(
        low.len() * 2 < plain.len(),
        "quality 20 ({}) should be much smaller than 90 ({})",
        low.len(),
        plain.len()
    );
}
