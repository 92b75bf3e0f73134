#!/usr/bin/env python3
"""Rebuilds the object cutouts composited into the umbrella and vessel test clips
(tools/labels/assets/{umbrella_cc0.png,boat_kodim06.png,lake_kodim16.jpg}; sources and licences
in tools/labels/assets/dwell_SOURCES.md). The clips themselves are built at test time by
crates/vigil-algorithms/tests/dwell_algorithms.rs (ffmpeg overlay), never committed.

usage: make_dwell_assets.py UMBRELLAS_WEBP KODIM06_PNG KODIM16_PNG OUT_DIR
  UMBRELLAS_WEBP: Stud.IP public/assets/images/default-stock-images/32.webp
  KODIM06_PNG / KODIM16_PNG: Kodak PhotoCD test images kodim06.png / kodim16.png
"""
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def umbrella(src, out):
    # The big orange umbrella right of centre, keyed off the blue sky (sky: blue > red).
    im = Image.open(src).convert("RGB").crop((1180, 320, 1800, 770))
    a = np.asarray(im).astype(int)
    mask = Image.fromarray(((a[..., 0] >= a[..., 2] + 10) * 255).astype("uint8")).filter(ImageFilter.MedianFilter(5))
    im.putalpha(mask)
    im = im.crop(mask.getbbox())
    im.resize((120, im.height * 120 // im.width), Image.LANCZOS).save(out, optimize=True)


def boat(src, out):
    # The moored sailing boat, masked by a hand-drawn polygon (hull, mast, flag).
    im = Image.open(src).convert("RGB")
    mask = Image.new("L", im.size, 0)
    d = ImageDraw.Draw(mask)
    d.polygon([(121, 300), (150, 292), (165, 282), (240, 288), (300, 292), (340, 300), (400, 305), (440, 298),
               (470, 300), (500, 296), (520, 305), (556, 338), (445, 352), (440, 380), (420, 388), (300, 390),
               (200, 384), (175, 378), (140, 345), (128, 330)], fill=255)
    d.polygon([(322, 60), (334, 60), (336, 300), (320, 300)], fill=255)
    d.polygon([(338, 228), (368, 232), (362, 265), (340, 260)], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(1.2))
    im.putalpha(mask)
    im = im.crop(mask.getbbox())
    im.resize((200, im.height * 200 // im.width), Image.LANCZOS).save(out, optimize=True)


def main():
    umbrellas, kodim06, kodim16, out = sys.argv[1:5]
    umbrella(umbrellas, f"{out}/umbrella_cc0.png")
    boat(kodim06, f"{out}/boat_kodim06.png")
    Image.open(kodim16).convert("RGB").save(f"{out}/lake_kodim16.jpg", quality=85)


if __name__ == "__main__":
    main()
