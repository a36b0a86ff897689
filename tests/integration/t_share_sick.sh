# The share itself fails (the ambassador's probe cannot write coord/probe):
# instead of treating every node as dead, the ambassador pauses dispatch
# and lease-based reclaim, says so, and resumes when the share answers
# again; the job then completes and verifies.
. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
mkdir -p "$SHARE/coord/probe" # a directory where the probe writes a file: it fails
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12 --time-scale 10
start_node n1
wait_for "$T/coord.log" 'share has not answered for .* pausing dispatch' 20
wait_for "$T/coord.log" 'node n1: connected' 20
# While the share is sick nothing is dispatched.
end=$(( $(date +%s) + 2 ))
while [ "$(date +%s)" -lt "$end" ]; do
    ! grep -q 'assigned to node' "$T/coord.log" || fail "dispatched while the share was sick"
    sleep 0.1
done
rmdir "$SHARE/coord/probe"
wait_for "$T/coord.log" 'share answers again' 20
wait_exit "$COORD_PID" 120
[ "$STATUS" -eq 0 ] || { tail -n 30 "$T/coord.log"; fail "coordinator exit $STATUS"; }
verify "$T/out.mp4" "$zip"
check_no_double_count 4
echo "ok"
