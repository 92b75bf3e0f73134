#!/usr/bin/env python3
"""Labelling aid: dumps sampled frames of a clip as PNG with a 50-px coordinate grid and the
YOLOX-Nano candidates (score >= --conf, numbered) drawn on them, plus a JSON of the candidates.
A person then looks at every PNG and writes the ground truth by hand (see LABELS.md): keep the
candidate numbers that are real objects of the class, fix or add boxes for the ones the detector
missed, reading coordinates off the grid.

usage: label_assist.py VIDEO OUT_DIR --frames 0,33,66 [--classes 0] [--conf 0.1]
"""
import argparse
import json
import os
import subprocess

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw

from yolox_reference import detect

COLORS = [(255, 0, 0), (0, 200, 0), (0, 120, 255), (255, 0, 255), (255, 160, 0), (0, 220, 220)]


def probe(video):
    out = subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                   "stream=width,height", "-of", "csv=p=0", video]).decode().strip()
    w, h = out.split(",")[:2]
    return int(w), int(h)


def frames_raw(video, idx, w, h):
    sel = "+".join(f"eq(n\\,{i})" for i in idx)
    raw = subprocess.check_output(["ffmpeg", "-loglevel", "error", "-i", video, "-vf", f"select='{sel}'",
                                   "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--frames", required=True)
    ap.add_argument("--classes", default="0")
    ap.add_argument("--conf", type=float, default=0.1)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "../../../shared/models/yolox_nano.onnx"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    idx = [int(x) for x in a.frames.split(",")]
    classes = [int(c) for c in a.classes.split(",")]
    w, h = probe(a.video)
    frames = frames_raw(a.video, idx, w, h)
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    cands = {}
    for i, f in zip(idx, frames):
        dets = [d for d in detect(sess, f, 416, np.float32(a.conf), 0.45) if d[5] in classes]
        cands[i] = dets
        img = Image.fromarray(f[:, :, ::-1].copy()).resize((w * a.scale, h * a.scale), Image.NEAREST)
        dr = ImageDraw.Draw(img)
        for x in range(0, w, 50):
            dr.line([(x * a.scale, 0), (x * a.scale, h * a.scale)], fill=(255, 255, 255) if x % 100 == 0 else (150, 150, 150), width=1)
            dr.text((x * a.scale + 2, 2), str(x), fill=(255, 255, 0))
        for y in range(0, h, 50):
            dr.line([(0, y * a.scale), (w * a.scale, y * a.scale)], fill=(255, 255, 255) if y % 100 == 0 else (150, 150, 150), width=1)
            dr.text((2, y * a.scale + 2), str(y), fill=(255, 255, 0))
        for k, d in enumerate(dets):
            c = COLORS[k % len(COLORS)]
            dr.rectangle([d[0] * a.scale, d[1] * a.scale, d[2] * a.scale, d[3] * a.scale], outline=c, width=2)
            dr.text((d[0] * a.scale + 3, d[1] * a.scale + 3), f"{k}:{d[4]:.2f}", fill=c)
        img.save(os.path.join(a.out, f"frame_{i:04d}.png"))
        Image.fromarray(f[:, :, ::-1].copy()).resize((w * a.scale, h * a.scale), Image.BILINEAR).save(os.path.join(a.out, f"clean_{i:04d}.png"))
    with open(os.path.join(a.out, "candidates.json"), "w") as fh:
        json.dump({str(k): [[round(v, 1) for v in d[:4]] + [round(d[4], 3), d[5]] for d in v] for k, v in cands.items()}, fh, indent=1)


if __name__ == "__main__":
    main()
