#!/usr/bin/env python3
"""Reference YOLOX pipeline: onnxruntime + the published YOLOX decode (demo_postprocess +
class-aware multiclass NMS), used by vigil-vision's parity test and benchmark.

Input: a raw file of consecutive BGR24 frames (as written by `ffmpeg -f rawvideo -pix_fmt bgr24`).
Output (stdout, JSON): {"frames": [[[x1, y1, x2, y2, score, class_id], ...], ...]} in frame pixels,
or with --bench N: {"ort_ms_median": ..., "ort_ms_mean": ...} for session.run alone on the first
frame's preprocessed tensor.

Preprocessing is the YOLOX demo's letterbox (image top-left, pad 114, ratio = min(S/h, S/w),
resized size = int(dim * ratio)) with OpenCV-convention bilinear resize (half-pixel centres,
edge clamp, 11-bit fixed-point weights, rounded) written in numpy so the script needs no OpenCV.
With --trim the input is cut to the resized image plus 32 px, rounded up to 32 (416x288 for 16:9); the
model's fixed input height/width are made symbolic first, as vigil-vision does on ONNX Runtime.
"""
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


COEF_ONE = 1 << 11  # 11-bit fixed-point weights, as OpenCV's INTER_RESIZE_COEF_BITS


def axis_map(src, dst):
    scale = np.float64(src) / np.float64(dst)
    d = np.arange(dst, dtype=np.float64)
    s = np.maximum((d + 0.5) * scale - 0.5, 0.0)
    i0 = np.floor(s).astype(np.int64)
    f = s - i0
    last = i0 >= src - 1
    i0[last] = src - 1
    f[last] = 0.0
    i1 = np.minimum(i0 + 1, src - 1)
    w0 = np.floor((1.0 - f) * COEF_ONE + 0.5).astype(np.int64)
    return i0, i1, COEF_ONE - w0


def resize_bilinear(img, new_w, new_h):
    """Bilinear, half-pixel centres, edge clamp, exact integer arithmetic (same as vigil-vision)."""
    h, w, _ = img.shape
    xi0, xi1, wx = axis_map(w, new_w)
    yi0, yi1, wy = axis_map(h, new_h)
    src = img.astype(np.int64)
    r0 = src[yi0]
    r1 = src[yi1]
    wx3 = wx[None, :, None]
    top = r0[:, xi0] * (COEF_ONE - wx3) + r0[:, xi1] * wx3
    bot = r1[:, xi0] * (COEF_ONE - wx3) + r1[:, xi1] * wx3
    wy3 = wy[:, None, None]
    v = (top * (COEF_ONE - wy3) + bot * wy3 + (1 << 21)) >> 22
    return v.astype(np.float32)


def input_shape(w, h, size, trim):
    """(width, height) of the network input: the square, or each side cut to the resized image
    plus one 32-px cell, rounded up to 32 (vigil-vision's YoloxDetector::input_shape)."""
    if not trim:
        return size, size
    r = np.float32(min(np.float32(size) / np.float32(w), np.float32(size) / np.float32(h)))

    def fit(d):
        scaled = max(int(np.float32(d) * r), 1)
        return size if scaled >= size else min(-(-(scaled + 32) // 32) * 32, size)
    return fit(w), fit(h)


def letterbox(img, size, trim=False):
    h, w, _ = img.shape
    iw, ih = input_shape(w, h, size, trim)
    r = min(np.float32(iw) / np.float32(w), np.float32(ih) / np.float32(h))
    r = np.float32(r)
    rw = min(max(int(np.float32(w) * r), 1), iw)
    rh = min(max(int(np.float32(h) * r), 1), ih)
    out = np.full((ih, iw, 3), 114.0, dtype=np.float32)
    out[:rh, :rw] = resize_bilinear(img, rw, rh)
    return out.transpose(2, 0, 1)[None].copy(), r


def demo_postprocess(outputs, iw, ih, strides=(8, 16, 32)):
    grids, expanded = [], []
    for s in strides:
        nx, ny = iw // s, ih // s
        xv, yv = np.meshgrid(np.arange(nx), np.arange(ny))
        grids.append(np.stack((xv, yv), 2).reshape(1, -1, 2))
        expanded.append(np.full((1, nx * ny, 1), s))
    grids = np.concatenate(grids, 1).astype(np.float32)
    expanded = np.concatenate(expanded, 1).astype(np.float32)
    outputs = outputs.copy()
    outputs[..., :2] = (outputs[..., :2] + grids) * expanded
    outputs[..., 2:4] = np.exp(outputs[..., 2:4]) * expanded
    return outputs


def iou_one(b, others):
    iw = np.maximum(np.minimum(b[2], others[:, 2]) - np.maximum(b[0], others[:, 0]), 0)
    ih = np.maximum(np.minimum(b[3], others[:, 3]) - np.maximum(b[1], others[:, 1]), 0)
    inter = iw * ih
    area = lambda x: np.maximum(x[..., 2] - x[..., 0], 0) * np.maximum(x[..., 3] - x[..., 1], 0)
    union = area(b) + area(others) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0)


def nms(boxes, scores, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[iou_one(boxes[i], boxes[rest]) <= thr]
    return keep


def detect(sess, img, size, conf, nms_thr, trim=False):
    x, r = letterbox(img, size, trim)
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    p = demo_postprocess(out, x.shape[3], x.shape[2])[0]
    h, w, _ = img.shape
    boxes = np.stack([p[:, 0] - p[:, 2] / 2, p[:, 1] - p[:, 3] / 2,
                      p[:, 0] + p[:, 2] / 2, p[:, 1] + p[:, 3] / 2], 1) / r
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
    scores = p[:, 4:5] * p[:, 5:]
    dets = []
    for c in range(scores.shape[1]):
        sc = scores[:, c]
        m = sc > conf
        if not m.any():
            continue
        b, s = boxes[m], sc[m]
        for k in nms(b, s, nms_thr):
            dets.append([float(v) for v in b[k]] + [float(s[k]), c])
    dets.sort(key=lambda d: -d[4])
    return dets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--height", type=int, required=True)
    ap.add_argument("--conf", type=float, default=0.35)
    ap.add_argument("--nms", type=float, default=0.45)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0)
    ap.add_argument("--trim", action="store_true", help="input cut to the image plus 32 px, rounded up to 32")
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    model = a.model
    if a.trim:
        import onnx
        m = onnx.load(a.model)
        dims = m.graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for o in m.graph.output:
            o.type.tensor_type.ClearField("shape")
        del m.graph.value_info[:]
        model = m.SerializeToString()
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    frames = np.fromfile(a.raw, dtype=np.uint8).reshape(-1, a.height, a.width, 3)
    if a.bench:
        x, _ = letterbox(frames[0], a.size, a.trim)
        name = sess.get_inputs()[0].name
        for _ in range(5):
            sess.run(None, {name: x})
        times = []
        for _ in range(a.bench):
            t = time.perf_counter()
            sess.run(None, {name: x})
            times.append((time.perf_counter() - t) * 1000)
        json.dump({"ort_ms_median": float(np.median(times)), "ort_ms_mean": float(np.mean(times)),
                   "threads": a.threads, "runs": a.bench}, sys.stdout)
        return
    res = [detect(sess, f, a.size, np.float32(a.conf), a.nms, a.trim) for f in frames]
    json.dump({"frames": res}, sys.stdout)


if __name__ == "__main__":
    main()
