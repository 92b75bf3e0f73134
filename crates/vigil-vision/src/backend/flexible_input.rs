//! Lets a fixed-size image model take any input height and width.
//!
//! The bundled detectors were exported for a square input (YOLOX-Nano 416×416), while cameras
//! are 16:9: letterboxed into the square, 44 % of every inference is spent on padding. The
//! networks are fully convolutional (their reshapes are `[1, C, -1]`), so the same weights run on
//! a 416×256 input and give the same detections for 64 % of the work. ONNX Runtime checks inputs
//! against the shapes declared in the graph, so this rewrites the declaration: the first input's
//! height and width become symbolic, the output shapes and intermediate `value_info` (which would
//! no longer match) are dropped. Nothing else in the model is touched.
//!
//! The rewrite works on the protobuf wire format directly (ModelProto → graph(7) → input(11) →
//! type(2) → tensor_type(1) → shape(2) → dim(1)), copying every other field byte for byte.

/// Field numbers of the ONNX protobuf messages on the path to the input shape.
const MODEL_GRAPH: u64 = 7;
const GRAPH_INPUT: u64 = 11;
const GRAPH_OUTPUT: u64 = 12;
const GRAPH_VALUE_INFO: u64 = 13;
const VALUE_INFO_TYPE: u64 = 2;
const TYPE_TENSOR: u64 = 1;
const TENSOR_SHAPE: u64 = 2;
const SHAPE_DIM: u64 = 1;
const DIM_VALUE: u64 = 1;
const DIM_PARAM: u64 = 2;

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

/// One protobuf field: its number, wire type, the whole encoded field and its payload.
struct Field<'a> {
    number: u64,
    wire: u8,
    raw: &'a [u8],
    payload: &'a [u8],
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The fields of one message, or `None` when it is not well-formed protobuf.
fn fields(buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let tag = read_varint(buf, &mut pos)?;
        let wire = (tag & 7) as u8;
        let payload_start;
        match wire {
            WIRE_VARINT => {
                payload_start = pos;
                read_varint(buf, &mut pos)?;
            }
            WIRE_I64 => {
                payload_start = pos;
                pos = pos.checked_add(8)?;
            }
            WIRE_I32 => {
                payload_start = pos;
                pos = pos.checked_add(4)?;
            }
            WIRE_LEN => {
                let len = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                payload_start = pos;
                pos = pos.checked_add(len)?;
            }
            _ => return None,
        }
        if pos > buf.len() {
            return None;
        }
        out.push(Field {
            number: tag >> 3,
            wire,
            raw: &buf[start..pos],
            payload: &buf[payload_start..pos],
        });
    }
    Some(out)
}

fn write_len_field(out: &mut Vec<u8>, number: u64, payload: &[u8]) {
    write_varint(out, (number << 3) | u64::from(WIRE_LEN));
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Rebuilds a message, replacing (Some) or dropping (None) the length-delimited fields `edit`
/// returns a decision for; `Err(())` aborts the whole rewrite.
fn rewrite(buf: &[u8], mut edit: impl FnMut(&Field<'_>) -> Result<Option<Option<Vec<u8>>>, ()>) -> Result<Vec<u8>, ()> {
    let mut out = Vec::with_capacity(buf.len());
    for f in fields(buf).ok_or(())? {
        match edit(&f)? {
            None => out.extend_from_slice(f.raw),
            Some(Some(payload)) => write_len_field(&mut out, f.number, &payload),
            Some(None) => {}
        }
    }
    Ok(out)
}

/// A `Dimension` message's fixed size, if it has one.
fn dim_value(dim: &[u8]) -> Option<u64> {
    fields(dim)?
        .iter()
        .find(|f| f.number == DIM_VALUE && f.wire == WIRE_VARINT)
        .and_then(|f| read_varint(f.payload, &mut 0))
}

fn symbolic_dim(name: &str) -> Vec<u8> {
    let mut d = Vec::new();
    write_len_field(&mut d, DIM_PARAM, name.as_bytes());
    d
}

/// The `TensorShapeProto` of an NCHW image input `[1, 3, H, W]` with H and W made symbolic.
fn relax_shape(shape: &[u8]) -> Result<Vec<u8>, ()> {
    let dims: Vec<Option<u64>> = fields(shape)
        .ok_or(())?
        .iter()
        .filter(|f| f.number == SHAPE_DIM)
        .map(|f| dim_value(f.payload))
        .collect();
    let is_image = dims.len() == 4 && dims[1] == Some(3) && dims[2].is_some() && dims[3].is_some();
    if !is_image {
        return Err(());
    }
    let mut index = 0;
    rewrite(shape, |f| {
        if f.number != SHAPE_DIM {
            return Ok(None);
        }
        index += 1;
        Ok(match index {
            3 => Some(Some(symbolic_dim("height"))),
            4 => Some(Some(symbolic_dim("width"))),
            _ => None,
        })
    })
}

/// What to do with a shape: its new encoding, `None` to drop it, `Err` to abort the rewrite.
type ShapeEdit<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, ()>;

/// Applies `edit_shape` to the shape inside a `ValueInfoProto` (`None` drops the shape).
fn edit_value_info(info: &[u8], edit_shape: ShapeEdit<'_>) -> Result<Vec<u8>, ()> {
    rewrite(info, |f| {
        if f.number != VALUE_INFO_TYPE || f.wire != WIRE_LEN {
            return Ok(None);
        }
        let ty = rewrite(f.payload, |t| {
            if t.number != TYPE_TENSOR || t.wire != WIRE_LEN {
                return Ok(None);
            }
            let tensor = rewrite(t.payload, |s| {
                if s.number != TENSOR_SHAPE || s.wire != WIRE_LEN {
                    return Ok(None);
                }
                Ok(Some(edit_shape(s.payload)?))
            })?;
            Ok(Some(Some(tensor)))
        })?;
        Ok(Some(Some(ty)))
    })
}

/// The model with its first input's height and width made symbolic, or `None` when the model
/// does not have a fixed-size `[1, 3, H, W]` first input (or is not readable protobuf).
pub fn relax_image_input(model: &[u8]) -> Option<Vec<u8>> {
    let mut relaxed_input = false;
    let out = rewrite(model, |f| {
        if f.number != MODEL_GRAPH || f.wire != WIRE_LEN {
            return Ok(None);
        }
        let mut first_input = true;
        let graph = rewrite(f.payload, |g| match g.number {
            GRAPH_INPUT if first_input => {
                first_input = false;
                let info = edit_value_info(g.payload, &|shape| relax_shape(shape).map(Some))?;
                relaxed_input = true;
                Ok(Some(Some(info)))
            }
            GRAPH_OUTPUT => Ok(Some(Some(edit_value_info(g.payload, &|_| Ok(None))?))),
            GRAPH_VALUE_INFO => Ok(Some(None)),
            _ => Ok(None),
        })?;
        Ok(Some(Some(graph)))
    })
    .ok()?;
    relaxed_input.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(v: u64) -> Vec<u8> {
        let mut d = Vec::new();
        write_varint(&mut d, DIM_VALUE << 3);
        write_varint(&mut d, v);
        d
    }

    fn value_info(name: &str, dims: &[u64]) -> Vec<u8> {
        let mut shape = Vec::new();
        for &v in dims {
            write_len_field(&mut shape, SHAPE_DIM, &dim(v));
        }
        let mut tensor = vec![0x08, 0x01]; // elem_type = FLOAT
        write_len_field(&mut tensor, TENSOR_SHAPE, &shape);
        let mut ty = Vec::new();
        write_len_field(&mut ty, TYPE_TENSOR, &tensor);
        let mut info = Vec::new();
        write_len_field(&mut info, 1, name.as_bytes());
        write_len_field(&mut info, VALUE_INFO_TYPE, &ty);
        info
    }

    fn model(input: &[u64]) -> Vec<u8> {
        let mut graph = Vec::new();
        write_len_field(&mut graph, 2, b"g");
        write_len_field(&mut graph, GRAPH_INPUT, &value_info("images", input));
        write_len_field(&mut graph, GRAPH_OUTPUT, &value_info("output", &[1, 3549, 85]));
        write_len_field(&mut graph, GRAPH_VALUE_INFO, &value_info("mid", &[1, 64, 52, 52]));
        let mut m = vec![0x08, 0x07]; // ir_version = 7
        write_len_field(&mut m, MODEL_GRAPH, &graph);
        m
    }

    #[test]
    fn image_input_becomes_symbolic_and_output_shapes_go() {
        let relaxed = relax_image_input(&model(&[1, 3, 416, 416])).expect("relaxed");
        let text = String::from_utf8_lossy(&relaxed);
        assert!(text.contains("height") && text.contains("width"));
        assert!(!text.contains("mid"), "value_info dropped");
        assert!(text.contains("output") && text.contains("images"));
        // The fixed 416s are gone: only the batch and channel dims stay fixed.
        let top = fields(&relaxed).unwrap();
        let graph = top.iter().find(|f| f.number == MODEL_GRAPH).unwrap();
        let input = fields(graph.payload)
            .unwrap()
            .into_iter()
            .find(|f| f.number == GRAPH_INPUT)
            .unwrap();
        assert_eq!(
            relax_image_input(&relaxed).map(|_| ()),
            None,
            "no fixed H/W left to relax"
        );
        assert!(!input.payload.windows(2).any(|w| w == dim(416).as_slice()));
    }

    #[test]
    fn other_layouts_and_garbage_are_left_alone() {
        assert!(relax_image_input(&model(&[1, 192, 192, 3])).is_none(), "NHWC");
        assert!(relax_image_input(&model(&[1, 3, 416])).is_none());
        assert!(relax_image_input(b"\xff\xff\xff").is_none());
        assert!(relax_image_input(&[]).is_none());
    }
}
