#!/usr/bin/env python3
# bench/bigzip.py SRC.zip OUT.zip N: a zip of N one-frame entries for
# bench/sets.sh beyond what `framefarm sample` makes (100,000): SRC's
# first 1,000 frames reused in turn under N new names, in timestamp order.
import sys
import zipfile

src = zipfile.ZipFile(sys.argv[1])
frames = [src.read(i) for i in src.infolist()[:1000]]
n = int(sys.argv[3])
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED, allowZip64=True) as out:
    for k in range(n):
        name = ("samples/CAM_FRONT/n008-2018-08-01-15-16-36-0400__CAM_FRONT__"
                "%016d.jpg" % (1533150000000000 + k * 50000))
        out.writestr(zipfile.ZipInfo(name, (2018, 8, 1, 15, 16, 36)),
                     frames[k % len(frames)])
