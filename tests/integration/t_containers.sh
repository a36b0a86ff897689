# The output's name picks the container, the colour is tagged, --size
# scales (issue 9): `framefarm render` to .mp4, .mkv, .mov and .webm gives
# that container with every frame, HEVC in MP4/MOV tagged hvc1, range,
# matrix, primaries and transfer on every stream; --size WxH, Wx-2 and
# -2xH give that size and the video still verifies against its zip. A
# codec the container cannot hold (h264 in .webm), an unknown extension
# and a bad --size are refused with exit 2 before anything is rendered.
. "$(dirname "$0")/lib.sh"
command -v ffprobe >/dev/null || skip "ffprobe is needed to read the containers"
zip=$(sample s48 48 320x180)
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

# ffprobe's view of a video's container and stream, one key=value a line.
probe() { # video
    ffprobe -v error -count_packets -select_streams v:0 \
        -show_entries format=format_name:format_tags=major_brand:stream=codec_name,codec_tag_string,width,height,nb_read_packets,color_range,color_space,color_primaries,color_transfer \
        -of default=noprint_wrappers=1 "$1" >"$T/probe" 2>&1 ||
        fail "ffprobe $1: $(cat "$T/probe")"
}
expect() { # video key value
    got=$(sed -n "s/^\(TAG:\)\{0,1\}$2=//p" "$T/probe" | head -n 1)
    [ "$got" = "$3" ] || fail "$1: $2 is \"$got\", want \"$3\" (ffprobe: $(tr '\n' ' ' <"$T/probe"))"
}
# The colour a camera JPEG is, as the nodes convert it: sYCC squeezed to
# limited range (BT.601 matrix, sRGB primaries and transfer).
expect_colour() { # video
    expect "$1" color_range tv
    expect "$1" color_space smpte170m
    expect "$1" color_primaries bt709
    expect "$1" color_transfer iec61966-2-1
}
render_ok() { # out, render args...
    out=$1; shift
    "$BIN/framefarm" render "$zip" -o "$out" --nodes 2 --set-size 16 "$@" \
        >"$T/r.out" 2>"$T/r.err" || { cat "$T/r.err"; fail "render -o $out $*"; }
    probe "$out"
    expect "$out" nb_read_packets 48
}
doctype() { # video: the EBML DocType, "webm" or "matroska"
    head -c 64 "$1" | tr -c 'a-z' '\n' | grep -E -x 'webm|matroska' | head -n 1
}

render_ok "$T/h264.mp4"
expect h264.mp4 major_brand isom
expect h264.mp4 codec_name h264
expect h264.mp4 codec_tag_string avc1
expect h264.mp4 width 320
expect h264.mp4 height 180
expect_colour h264.mp4
verify "$T/h264.mp4" "$zip"

render_ok "$T/hevc.mp4" --codec hevc
expect hevc.mp4 major_brand isom
expect hevc.mp4 codec_name hevc
expect hevc.mp4 codec_tag_string hvc1
expect_colour hevc.mp4

render_ok "$T/hevc.mov" --codec hevc
expect hevc.mov major_brand "qt  "
expect hevc.mov codec_tag_string hvc1
expect_colour hevc.mov
verify "$T/hevc.mov" "$zip"

render_ok "$T/h264.mkv"
expect h264.mkv format_name matroska,webm
expect h264.mkv codec_name h264
[ "$(doctype "$T/h264.mkv")" = matroska ] || fail "h264.mkv: DocType \"$(doctype "$T/h264.mkv")\", want matroska"
expect_colour h264.mkv
verify "$T/h264.mkv" "$zip"

if ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libsvtav1 '; then
    render_ok "$T/av1.webm" --codec av1
    expect av1.webm codec_name av1
    [ "$(doctype "$T/av1.webm")" = webm ] || fail "av1.webm: DocType \"$(doctype "$T/av1.webm")\", want webm"
    expect_colour av1.webm
    verify "$T/av1.webm" "$zip"
else
    echo "no libsvtav1 on this machine: .webm rendering not tried (its refusal is)"
fi

# --size: the nodes scale every frame; verify scales the sources the same
# way before it compares them.
render_ok "$T/s1.mp4" --size 640x360
expect s1.mp4 width 640
expect s1.mp4 height 360
verify "$T/s1.mp4" "$zip"
grep -q "the frames are 320x180: each is scaled to the video's size" "$T/verify.out" ||
    fail "verify did not say it scaled the frames"
render_ok "$T/s2.mkv" --size 640x-2
expect s2.mkv width 640
expect s2.mkv height 360
expect_colour s2.mkv
verify "$T/s2.mkv" "$zip"
# 320 * 120 / 180 = 213.3: the nearest even width is 214
render_ok "$T/s3.mp4" --size -2x120
expect s3.mp4 width 214
expect s3.mp4 height 120
verify "$T/s3.mp4" "$zip"
grep -q "s3.mp4: 48 frames, 214x120" "$T/r.out" || fail "summary: $(cat "$T/r.out")"

# Refusals: exit 2, the reason, no video, nothing left behind.
refused() { # reason, render args...
    msg=$1; shift
    rc=0
    "$BIN/framefarm" render "$zip" "$@" >"$T/r.out" 2>"$T/r.err" || rc=$?
    [ "$rc" -eq 2 ] || fail "render $*: exit $rc, want 2: $(tail -n 3 "$T/r.err")"
    grep '^framefarm render: ' "$T/r.err" | grep -qF -- "$msg" ||
        fail "render $*: no reason \"$msg\": $(cat "$T/r.err")"
    [ -z "$(ls -A "$TMPDIR")" ] || fail "render $*: left $(ls "$TMPDIR")"
    [ -z "$(ls "$T"/refused.* 2>/dev/null)" ] || fail "render $*: wrote $(ls "$T"/refused.*)"
}
refused "output $T/refused.webm: WebM cannot hold h264 video: use --codec av1, or name the output .mp4, .mkv or .mov" -o "$T/refused.webm"
refused "WebM cannot hold hevc video" -o "$T/refused.webm" --codec hevc
refused "\".avi\" is not a container framefarm writes; name it .mp4, .mkv, .mov or .webm" -o "$T/refused.avi"
refused "--size 0x360: each side is 16..8192 pixels" -o "$T/refused.mp4" --size 0x360
refused "--size 9000x-2: each side is 16..8192 pixels" -o "$T/refused.mp4" --size 9000x-2
refused "--size 640: expected WxH, Wx-2 or -2xH" -o "$T/refused.mp4" --size 640

# The ambassador itself refuses before it listens: no job on the share.
rc=0
"$BIN/framefarm-coordinator" --share "$SHARE" --listen 127.0.0.1:0 \
    --input "$zip" --output "$T/refused.webm" >"$T/coord.out" 2>"$T/coord.log" || rc=$?
[ "$rc" -eq 2 ] || fail "coordinator, h264 in .webm: exit $rc, want 2"
grep -q '^framefarm-coordinator: output .*refused.webm: WebM cannot hold h264 video' "$T/coord.log" ||
    fail "coordinator: no reason: $(cat "$T/coord.log")"
grep -q listening "$T/coord.out" && fail "coordinator listened before refusing"
[ ! -e "$SHARE/jobs" ] || fail "coordinator wrote $(ls "$SHARE/jobs")"
[ ! -e "$T/refused.webm" ] || fail "coordinator wrote a video"
echo "ok"
