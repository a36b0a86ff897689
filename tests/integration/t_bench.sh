# `framefarm bench` on a 48-frame sample: the table, JSON that parses with
# the baseline and libx264 measured, and an SVG chart. libx264 through the
# node pipeline and through the ffmpeg command line use the same settings,
# so their PSNR must be close: a broken metric or a wrong frame order
# would tear them apart. Encoders that cannot run, and a missing ffmpeg,
# are rows with a reason, not a failed run.
. "$(dirname "$0")/lib.sh"
command -v ffmpeg >/dev/null 2>&1 || skip "no ffmpeg on PATH (the baseline); scripts/deps.sh installs it"
zip=$(sample s48 48 320x180)
J=$TOOLS/jsoncheck
export TMPDIR=$T

bench() { # name args... -> $T/name.out, $T/name.err
    n=$1; shift
    rc=0
    "$BIN/framefarm" bench "$@" >"$T/$n.out" 2>"$T/$n.err" || rc=$?
    [ $rc -eq 0 ] || { cat "$T/$n.err" "$T/$n.out"; fail "framefarm bench $* exited $rc"; }
}

# The table: a header with units, the baseline first, libx264, the ratio.
bench table "$zip"
cat "$T/table.out"
grep -q '^48 frames of s48.zip (320x180) at 12 fps' "$T/table.out" || fail "no summary line"
grep -Eq '^encoder +kind +fps +realtime \(x\) +CPU \(s\) +peak RSS \(MiB\) +size \(KiB\) +bitrate \(kbit/s\) +PSNR \(dB\) +SSIM$' \
    "$T/table.out" || fail "table header"
sed -n 3p "$T/table.out" | grep -Eq '^ffmpeg-libx264 +baseline +[0-9]' || fail "the baseline is not the first row"
grep -Eq '^libx264 +cpu +[0-9.]+ ' "$T/table.out" || fail "no libx264 row"
grep -Eq '^speed against the baseline \(ffmpeg-libx264\):.* libx264 [0-9]+\.[0-9]+x' "$T/table.out" ||
    fail "no speed ratio line"

# JSON and the chart, in one run.
bench json "$zip" --encoders libx264 --json --svg "$T/chart.svg"
"$J" "$T/json.out" frames=48 width=320 height=180 fps=12 crf=23 preset=veryfast \
    results.0.name=ffmpeg-libx264 results.0.kind=baseline results.0.ok=true \
    results.1.name=libx264 results.1.kind=cpu results.1.ok=true ||
    { cat "$T/json.out"; fail "JSON rows"; }
for i in 0 1; do
    "$J" "$T/json.out" "results.$i.fps>0" "results.$i.realtime>0" "results.$i.cpu_s:number" \
        "results.$i.peak_rss_kb>0" "results.$i.bytes>0" "results.$i.bitrate_kbps>0" \
        "results.$i.psnr_db>30" "results.$i.ssim>0.8" "results.$i.ssim<1.000001" \
        "results.$i.vs_baseline>0" || { cat "$T/json.out"; fail "JSON figures of row $i"; }
done
# JPEG decoding: the CPU timed on a camera-sized picture; each GPU decoder
# either timed with a PSNR against the CPU's, or unavailable with a reason.
"$J" "$T/json.out" jpeg_decode.width=1600 jpeg_decode.height=900 \
    "jpeg_decode.cpu_ms>0" "jpeg_decode.cpu_threads>0" \
    jpeg_decode.decoders.0.name=nvdec jpeg_decode.decoders.1.name=vaapi ||
    { cat "$T/json.out"; fail "JSON jpeg_decode"; }
for i in 0 1; do
    if [ "$("$J" -p "$T/json.out" "jpeg_decode.decoders.$i.ok")" = true ]; then
        "$J" "$T/json.out" "jpeg_decode.decoders.$i.ms>0" "jpeg_decode.decoders.$i.psnr_db>40"
    else
        "$J" "$T/json.out" "jpeg_decode.decoders.$i.error:string"
    fi || { cat "$T/json.out"; fail "JSON jpeg_decode decoder $i"; }
done
grep -Eq '^JPEG decode of a 1600x900 picture: cpu [0-9.]+ ms on one thread' "$T/table.out" ||
    fail "no JPEG decode line in the table"
base=$("$J" -p "$T/json.out" results.0.psnr_db)
x264=$("$J" -p "$T/json.out" results.1.psnr_db)
echo "PSNR: baseline $base dB, libx264 $x264 dB"
awk -v a="$base" -v b="$x264" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 2) }' ||
    fail "libx264's PSNR $x264 dB is not within 2 dB of the baseline's $base dB"

head -c 64 "$T/chart.svg" | grep -Eq '^(<\?xml|<svg)' || fail "chart: not SVG: $(head -c 64 "$T/chart.svg")"
grep -q '</svg>' "$T/chart.svg" || fail "chart: no </svg>"
grep -q '>libx264<' "$T/chart.svg" || fail "chart: no libx264 bar"
grep -q '>ffmpeg-libx264<' "$T/chart.svg" || fail "chart: no baseline bar"

# No ffmpeg on PATH and an unknown encoder: rows that say why.
PATH=/nonexistent "$BIN/framefarm" bench "$zip" --frames 8 --encoders libx264,nosuch --json \
    >"$T/rows.out" 2>"$T/rows.err" || { cat "$T/rows.err"; fail "bench without ffmpeg failed"; }
"$J" "$T/rows.out" frames=8 results.0.ok=false results.1.name=libx264 results.1.ok=true \
    results.2.name=nosuch results.2.ok=false results.2.error:string ||
    { cat "$T/rows.out"; fail "rows for what could not run"; }
"$J" -p "$T/rows.out" results.0.error | grep -q 'ffmpeg not found on PATH' ||
    fail "baseline error: $("$J" -p "$T/rows.out" results.0.error)"

[ -z "$(ls -d "$T"/framefarm-bench-* 2>/dev/null)" ] || fail "temp dir left behind"
echo "ok"
