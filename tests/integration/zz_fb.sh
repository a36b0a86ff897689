. "$(dirname "$0")/lib.sh"
zip=$(sample s48 48 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 6
FRAMEFARM_FAULT_ENCODER=h264_nvenc start_node a --encoder nvenc
wait_exit "$COORD_PID" 120
echo "status $STATUS"
cat "$T/node-a.log"
grep -E "counted|concat|warn" "$T/coord.log"
verify "$T/out.mp4" "$zip"
