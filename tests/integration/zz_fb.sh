. "$(dirname "$0")/lib.sh"
zip=$(sample s96 96 320x180)
start_coord --input "$zip" --output "$T/out.mp4" --set-size 12
start_node a --preset ultrafast
start_node b
wait_exit "$COORD_PID" 120
echo "status $STATUS"
grep -E "counted|concat|warn" "$T/coord.log"
ffmpeg -v error -i "$T/out.mp4" -f null - 2>&1 | head
verify "$T/out.mp4" "$zip"
