//! YOLOv5-style head (also YOLOv7, YOLOv5u exports with objectness): one output `[1, N, 5 + C]`
//! (or `[1, 5 + C, N]`), rows `[cx, cy, w, h, obj, cls...]` already decoded to input pixels;
//! score = obj × cls.

use super::packaged::{cxcywh, push_classes, Rows};
use super::Detection;
use crate::backend::Output;

/// Candidates in input pixels (before NMS).
pub(crate) fn decode(outs: &[Output], nc: usize, thr: f32, classes: Option<&[u32]>) -> Result<Vec<Detection>, String> {
    let out = outs.first().ok_or("the model has no output")?;
    let rows = Rows::new(out, 5 + nc, false)?;
    let mut cands = Vec::new();
    for i in 0..rows.n {
        let obj = rows.get(i, 4);
        if obj <= thr {
            continue;
        }
        push_classes(
            &mut cands,
            nc,
            thr,
            classes,
            |c| obj * rows.get(i, 5 + c),
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
    fn rows_decode_to_boxes_and_obj_times_cls() {
        // Two rows, two classes.
        let out = Output {
            name: "output0".into(),
            shape: vec![1, 2, 7],
            data: vec![
                50.0, 40.0, 20.0, 10.0, 0.9, 0.1, 0.8, // class 1: 0.72
                10.0, 10.0, 4.0, 4.0, 0.3, 1.0, 1.0, // obj below 0.35
            ],
        };
        let d = decode(&[out], 2, 0.35, None).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class_id, 1);
        assert!((d[0].score - 0.72).abs() < 1e-6);
        assert_eq!(d[0].bbox, BBox::new(40.0, 35.0, 60.0, 45.0));
        let out = Output {
            name: "output0".into(),
            shape: vec![1, 2, 6],
            data: vec![0.0; 12],
        };
        assert!(decode(&[out], 2, 0.35, None).unwrap_err().contains("[1, N, 7]"));
    }
}
