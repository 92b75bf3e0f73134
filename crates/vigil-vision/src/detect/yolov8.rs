//! YOLOv8-style head (Ultralytics YOLOv8/v9/v10-without-NMS/11 exports): one output
//! `[1, 4 + C, N]` (Ultralytics' layout; `[1, N, 4 + C]` is recognised by its shape), columns
//! `[cx, cy, w, h, cls...]` decoded to input pixels, class scores after sigmoid and no objectness.

use super::packaged::{cxcywh, push_classes, Rows};
use super::Detection;
use crate::backend::Output;

/// Candidates in input pixels (before NMS).
pub(crate) fn decode(outs: &[Output], nc: usize, thr: f32, classes: Option<&[u32]>) -> Result<Vec<Detection>, String> {
    let out = outs.first().ok_or("the model has no output")?;
    let rows = Rows::new(out, 4 + nc, true)?;
    let mut cands = Vec::new();
    for i in 0..rows.n {
        push_classes(
            &mut cands,
            nc,
            thr,
            classes,
            |c| rows.get(i, 4 + c),
            || cxcywh(rows.get(i, 0), rows.get(i, 1), rows.get(i, 2), rows.get(i, 3)),
        );
    }
    Ok(cands)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::BBox;

    #[test]
    fn both_layouts_decode_the_same() {
        // Three anchors, one class: [1, 5, 3] (channels first).
        let cf = Output {
            name: "output0".into(),
            shape: vec![1, 5, 3],
            data: vec![
                10.0, 20.0, 30.0, // cx
                10.0, 20.0, 30.0, // cy
                4.0, 8.0, 2.0, // w
                6.0, 8.0, 2.0, // h
                0.9, 0.2, 0.5, // class 0
            ],
        };
        let rows_first = Output {
            name: "output0".into(),
            shape: vec![1, 3, 5],
            data: vec![
                10.0, 10.0, 4.0, 6.0, 0.9, 20.0, 20.0, 8.0, 8.0, 0.2, 30.0, 30.0, 2.0, 2.0, 0.5,
            ],
        };
        for out in [cf, rows_first] {
            let d = decode(&[out], 1, 0.35, None).unwrap();
            assert_eq!(d.len(), 2);
            assert_eq!((d[0].bbox, d[0].score), (BBox::new(8.0, 7.0, 12.0, 13.0), 0.9));
            assert_eq!((d[1].bbox, d[1].score), (BBox::new(29.0, 29.0, 31.0, 31.0), 0.5));
        }
        // Class filter.
        let out = Output {
            name: "o".into(),
            shape: vec![1, 6, 1],
            data: vec![5.0, 5.0, 2.0, 2.0, 0.9, 0.8],
        };
        let d = decode(&[out], 2, 0.35, Some(&[1])).unwrap();
        assert_eq!((d.len(), d[0].class_id), (1, 1));
    }
}
