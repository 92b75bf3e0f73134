#!/usr/bin/env python3
"""What decoding at real time costs against decoding in one burst, on the same packets.

Decodes the first --seconds of a file with libavcodec (PyAV, one thread) four ways, each
repeated --repeat times, alternating, and prints the median decoder-thread CPU of each:

  burst   every packet decoded back to back (what `vigil analyze` on a file does);
  paced   one packet every frame interval, as packets arrive from a live camera;
  grouped paced, but the packets of each --group frames decoded together when the last arrives.

each with every picture decoded ("all") and with what 5-of-25 fps sampling skips approximated
("skip": non-reference pictures dropped and no deblocking at all). The skip/all ratio of the
paced rows is what live sampling can reach; docs/engine.md quotes it.

Needs PyAV (the baseline venv of ../shared/bench has it).
"""
import argparse
import statistics
import time

import av


def decode(path, seconds, mode, skip, group):
    c = av.open(path)
    s = c.streams.video[0]
    s.thread_type = "NONE"
    s.codec_context.thread_count = 1
    if skip:
        s.codec_context.skip_frame = "NONREF"
        s.codec_context.options = {"skip_loop_filter": "all"}
    packets = [p for p in c.demux(s) if p.pts is not None and p.pts * s.time_base < seconds]
    step = float(1 / s.average_rate) if s.average_rate else 0.04
    size = 1 if mode == "paced" else group if mode == "grouped" else len(packets)
    start, cpu, pictures = time.time(), 0.0, 0
    for i in range(0, len(packets), size):
        chunk = packets[i:i + size]
        if mode != "burst":
            wait = start + (i + len(chunk) - 1) * step - time.time()
            if wait > 0:
                time.sleep(wait)
        t = time.thread_time()
        for p in chunk:
            pictures += len(s.codec_context.decode(p))
        cpu += time.thread_time() - t
    c.close()
    return cpu, pictures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="H.264 file, e.g. the benchmark input made by ../shared/bench/make_input.sh")
    ap.add_argument("--seconds", type=float, default=20, help="seconds of video per run (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3)")
    ap.add_argument("--group", type=int, default=5, help="frames per group in the grouped rows (default 5)")
    a = ap.parse_args()
    runs = {}
    for _ in range(a.repeat):
        for mode in ("burst", "paced", "grouped"):
            for skip in (False, True):
                cpu, n = decode(a.input, a.seconds, mode, skip, a.group)
                runs.setdefault((mode, skip), []).append(cpu)
                runs[(mode, skip, "n")] = n
    for mode in ("burst", "paced", "grouped"):
        full = statistics.median(runs[(mode, False)])
        skip = statistics.median(runs[(mode, True)])
        print(f"{mode:8s} all {1e3 * full / a.seconds:5.1f} ms/s ({runs[(mode, False, 'n')]} pictures)  "
              f"skip {1e3 * skip / a.seconds:5.1f} ms/s ({runs[(mode, True, 'n')]} pictures)  "
              f"ratio {skip / full:.2f}", flush=True)


if __name__ == "__main__":
    main()
