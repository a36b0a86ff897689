#!/usr/bin/env python3
"""mkcorpus.py - writes the fuzz harnesses' seed corpora into
tests/fuzz/corpus/<harness>/: a few small valid inputs each (frames, files
and records in the formats of docs/protocol.md and the decoders' headers).
Run by hand (needs python3 and ffmpeg for the JPEGs) when a format changes;
the output is committed and `make fuzz` only ever copies it."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
ZIP_DATE = (2018, 8, 1, 12, 0, 0)
FRAME_NAME = "samples/CAM_FRONT/n008__CAM_FRONT__1533151609512404.jpg"


def put(harness, name, data):
    d = os.path.join(TOP, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def text(o):
    return json.dumps(o, separators=(",", ":"))


def manifest(**kw):
    m = {"version": 1, "job": "demo", "set": 3, "sets": 10, "epoch": 2,
         "zip": "jobs/demo/input.zip", "first": 3, "total": 30,
         "encode": {"codec": "h264", "encoder": "auto", "preset": "veryfast",
                    "fallback": "cpu", "crf": 23, "fps_num": 12,
                    "fps_den": 1, "width": 16, "height": 16, "gop": 24},
         "frames": [{"name": FRAME_NAME, "size": 400, "crc": 2864434397},
                    {"name": "f0002.jpg", "size": 401, "crc": 1}]}
    m.update(kw)
    return m


def frame(o):
    body = text(o).encode()
    return struct.pack(">I", len(body)) + body


def proto_seeds():
    msgs = {
        "challenge": {"type": "challenge", "proto": 1, "nonce": "00ff" * 8},
        "hello": {"type": "hello", "proto": 1, "node": "n1", "slots": 2,
                  "encoders": ["libx264", "h264_nvenc"], "decoder": "cpu",
                  "auth": "ab" * 32, "held": [{"set": 3, "epoch": 2}]},
        "welcome": {"type": "welcome", "session": 7, "generation": 1,
                    "heartbeat_ms": 1000, "dead_ms": 6000,
                    "lease_renew_ms": 2000, "fence_ms": 10000,
                    "grace_ms": 60000},
        "heartbeat": {"type": "heartbeat", "seq": 5, "set": 3, "epoch": 2,
                      "frames": 10},
        "assign": {"type": "assign", "set": 3, "epoch": 2,
                   "manifest": manifest()},
        "done": {"type": "done", "set": 3, "epoch": 2,
                 "path": "jobs/demo/out/3/2-n1.mp4", "bytes": 1234,
                 "sha256": SHA, "frames": 2, "encoder": "libx264",
                 "preset": "veryfast", "fallback": "encoder nvenc unavailable"},
        "fail": {"type": "fail", "set": 3, "epoch": 2, "error": "no encoder"},
        "result": {"type": "result", "set": 3, "epoch": 2, "accepted": False,
                   "reason": "stale epoch"},
        "finish": {"type": "finish", "ok": True},
    }
    for name, o in msgs.items():
        put("fuzz_proto", name, frame(o))
    put("fuzz_proto", "stream", b"".join(frame(o) for o in (
        {"type": "heartbeat", "seq": 1}, {"type": "cancel", "set": 1,
                                         "epoch": 4},
        {"type": "detach"}, {"type": "error", "msg": "bye"})))


def manifest_seeds():
    put("fuzz_manifest", "two-frames", text(manifest()))
    m = manifest(set=0, sets=1, first=0, total=1, epoch=0,
                 frames=[{"name": "a.jpg", "size": 1, "crc": 0}])
    del m["encode"]["fallback"]  # written before the field existed
    put("fuzz_manifest", "no-fallback", json.dumps(m, indent=1))
    put("fuzz_manifest", "ntsc-none", text(manifest(encode={
        "codec": "h264", "encoder": "libx264", "preset": "slow",
        "fallback": "none", "crf": 30, "fps_num": 30000, "fps_den": 1001,
        "width": 1600, "height": 900, "gop": 60})))


JOB = {"t": "job", "job": "demo", "sets": 4, "frames": 96, "gen": 1}


def jrec_history():
    acc = {"t": "accept", "set": 0, "epoch": 1, "node": "n1",
           "path": "jobs/demo/out/0/1-n1.mp4", "bytes": 1234, "sha256": SHA}
    return [JOB, {"t": "gen", "gen": 2},
            {"t": "assign", "set": 0, "epoch": 1, "node": "n1"},
            {"t": "assign", "set": 1, "epoch": 1, "node": "n2"},
            acc,
            {"t": "fail", "set": 1, "epoch": 1, "node": "n2",
             "why": "encoder died"},
            {"t": "assign", "set": 1, "epoch": 3, "node": "n1"},
            {"t": "reject", "set": 1, "epoch": 3, "node": "n1",
             "why": "frame count"},
            {"t": "assign", "set": 2, "epoch": 1, "node": "n2"},
            {"t": "reclaim", "set": 2, "epoch": 1, "node": "n2",
             "why": "session ended"},
            {"t": "assign", "set": 3, "epoch": 1, "node": "n1"},
            {"t": "unassign", "set": 3, "epoch": 1, "node": "n1"},
            {"t": "concat", "done": 0, "frames": 0}]


def jrec_snapshot():
    return [dict(JOB, gen=3),
            {"t": "set", "set": 0, "status": "D", "epoch": 1, "node": "n1",
             "attempts": 1, "failures": 0, "reclaims": 0, "why": "",
             "failed_on": [], "path": "jobs/demo/out/0/1-n1.mp4"},
            {"t": "set", "set": 1, "status": "C", "epoch": 3, "node": "",
             "attempts": 2, "failures": 2, "reclaims": 0,
             "why": "frame count", "failed_on": ["n1", "n2"]},
            {"t": "set", "set": 2, "status": "B", "epoch": 2, "node": "n2",
             "attempts": 1, "failures": 0, "reclaims": 1, "why": "",
             "failed_on": []},
            {"t": "concat", "done": 1, "frames": 96}]


def jrec_seeds():
    put("fuzz_jrec", "history", "\n".join(text(r) for r in jrec_history()))
    put("fuzz_jrec", "snapshot", "\n".join(text(r) for r in jrec_snapshot()))
    put("fuzz_jrec", "one-accept", text(jrec_history()[4]))


def journal(records, tail=b""):
    out = b"FFJRNL01"
    for r in records:
        p = text(r).encode()
        out += struct.pack("<II", len(p), zlib.crc32(p)) + p
    return out + tail


def journal_seeds():
    put("fuzz_journal", "header-only", journal([]))
    put("fuzz_journal", "history", journal(jrec_history()[:5]))
    put("fuzz_journal", "torn-tail",
        journal(jrec_snapshot()[:2], tail=b"\x40\x00\x00\x00\x12\x34"))


def lease(node, counter, state, held):
    b = bytearray(512)
    struct.pack_into("<IHHQI", b, 0, 0x534C4646, 1, len(held), counter, state)
    b[20:20 + len(node)] = node.encode()
    for i, (s, e) in enumerate(held):
        struct.pack_into("<IQ", b, 84 + 12 * i, s, e)
    struct.pack_into("<I", b, 508, zlib.crc32(bytes(b[:508])))
    return bytes(b)


def lease_seeds():
    put("fuzz_lease", "running-idle", lease("n1", 1, 1, []))
    put("fuzz_lease", "running-3", lease("gpu-node.2", 77, 1,
                                         [(0, 1), (5, 3), (999, 12)]))
    put("fuzz_lease", "fenced-full", lease("n" * 63, 2 ** 40, 2,
                                           [(i, i + 1) for i in range(16)]))


def jpeg(tmp, w, h, extra=()):
    out = os.path.join(tmp, "%dx%d.jpg" % (w, h))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc=size=%dx%d:rate=1" % (w, h), "-frames:v",
                    "1", "-fflags", "+bitexact", "-flags", "+bitexact", *extra, out], check=True)
    with open(out, "rb") as f:
        return f.read()


def jpeg_seeds(tmp):
    small = jpeg(tmp, 16, 16)
    put("fuzz_jpeghdr", "16x16", small)
    put("fuzz_jpeghdr", "24x16-444", jpeg(tmp, 24, 16,
                                          ("-pix_fmt", "yuvj444p")))
    # A progressive header (SOF2) after an APP1 segment, cut after SOF.
    app1 = b"\xff\xe1" + struct.pack(">H", 8) + b"Exif\0\0"
    sof2 = b"\xff\xc2" + struct.pack(">HBHHB", 17, 8, 16, 32, 3) + \
        b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    put("fuzz_jpeghdr", "sof2-header", b"\xff\xd8" + app1 + sof2)
    return small


def zip_seeds(small, tmp):
    def mk(name, entries, method=zipfile.ZIP_DEFLATED):
        path = os.path.join(tmp, name)
        with zipfile.ZipFile(path, "w", method) as z:
            for n, data in entries:  # a fixed date: the same bytes each run
                z.writestr(zipfile.ZipInfo(n, date_time=ZIP_DATE), data,
                           compress_type=method)
        with open(path, "rb") as f:
            put("fuzz_zipframes", name, f.read())
    other = jpeg(tmp, 16, 8)
    mk("two-frames.zip", [("f0002.jpg", other), ("f0001.jpg", small)])
    mk("nuscenes-stored.zip",
       [("samples/", b""),
        ("samples/CAM_FRONT/n008__CAM_FRONT__1533151609512404.jpg", small),
        ("samples/CAM_FRONT/n008__CAM_FRONT__1533151603512404.jpg", other),
        ("samples/README.txt", b"not a frame\n")], zipfile.ZIP_STORED)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        proto_seeds()
        manifest_seeds()
        jrec_seeds()
        journal_seeds()
        lease_seeds()
        zip_seeds(jpeg_seeds(tmp), tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
