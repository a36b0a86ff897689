# Files of a set's epochs that were never counted (a render published
# after its set was reclaimed, a node that died after publishing, a fenced
# render on a hard mount, a .part left by a crash) are swept: when the set
# is counted and when the job ends, each set's folder keeps its counted
# mini-video alone.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
wait_for "$T/coord.log" "sets ready" 10
out=$SHARE/jobs/out/out
# Set folders are made when a set is first assigned (t_set_files); the
# ghosts stand for an earlier ambassador's epochs, so their folders exist.
for s in 0 1 2 3; do
    mkdir -p "$out/$s"
    echo ghost >"$out/$s/9-ghost.mp4"
    echo ghost >"$out/$s/7-gone.mp4.part"
done
start_node a
wait_exit "$COORD_PID" 60
[ "$STATUS" -eq 0 ] || fail "coordinator exit $STATUS"
verify "$T/out.mp4" "$zip"
for s in 0 1 2 3; do
    n=$(find "$out/$s" -type f | wc -l)
    [ "$n" -eq 1 ] || fail "set $s's folder holds $n files: $(ls "$out/$s")"
    ls "$out/$s" | grep -q -- '-a\.mp4$' || fail "set $s's counted result is gone: $(ls "$out/$s")"
done
echo ok
