# shellcheck shell=sh
# framefarm check-share against an ambassador running as a service:
#   - the ambassador's own share (healthy): every line PASS but, when not
#     root, the mount line (a plain directory is not a mount point: WARN);
#     exit 0; its temporary directory is gone afterwards;
#   - an empty directory (a mount point with nothing mounted, or a share
#     whose coord/share-id is missing): FAIL identity, exit 1;
#   - a share with a foreign identity (its own coord/share-id, another
#     than the ambassador's): FAIL ambassador, exit 1;
#   - a keyed ambassador asked without the secret: FAIL ambassador;
#   - bad usage: exit 2.
# As root the healthy share is made a mount point (a bind mount in a
# private mount namespace: nothing leaks out of the test) and then every
# line must PASS. t_check_share_mounts.sh has the read-only share and the
# mount point listed in /etc/fstab but not mounted.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ff() { "$BIN/framefarm" "$@"; }
run_check() { # name expected-exit args...
    name=$1 want=$2
    shift 2
    set +e
    "$@" >"$T/$name.out" 2>"$T/$name.err"
    st=$?
    set -e
    echo "--- check-share on the $name share (exit $st):"
    cat "$T/$name.out"
    [ "$st" -eq "$want" ] || { cat "$T/$name.err"; fail "$name: exit $st, not $want"; }
}
line() { grep "^$1 $2 " "$T/$3.out" >/dev/null || fail "$3: no '$1 $2' line"; }

start_coord --time-scale 5
A=127.0.0.1:$PORT
wait_for "$T/coord.log" 'nodes find this ambassador|generation' 30
[ -f "$SHARE/coord/share-id" ] || fail "the ambassador wrote no coord/share-id"

# Healthy. As root: a mount point of its own (bind mount in a private
# namespace), so the mount line passes too.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    # shellcheck disable=SC2016 # $1.. are the inner shell's
    run_check healthy 0 unshare -m sh -c \
        'mount --bind "$1" "$1" && exec "$2" check-share "$1" --coordinator "$3"' \
        sh "$SHARE" "$BIN/framefarm" "$A"
    grep -q '^check-share: 12 PASS, 0 WARN, 0 FAIL$' "$T/healthy.out" ||
        fail "healthy: not every check passed"
    line PASS mount healthy
else
    run_check healthy 0 ff check-share "$SHARE" --coordinator "$A"
    line WARN mount healthy
    grep -q '^check-share: 11 PASS, 1 WARN, 0 FAIL$' "$T/healthy.out" ||
        fail "healthy: not every check but the mount passed"
fi
for c in identity ambassador current probe write fsync rename throughput space clock owner; do
    line PASS "$c" healthy
done
grep -q "^PASS ambassador .*runs on this share" "$T/healthy.out" || fail "healthy: the ambassador's line"
for f in "$SHARE"/.check-share-*; do
    if [ -e "$f" ]; then fail "check-share left its temporary directory $f"; fi
done

# An empty directory: what a node sees on a mount point with nothing
# mounted on it.
mkdir "$T/empty"
run_check empty 1 ff check-share "$T/empty"
line FAIL identity empty
grep -q '^FAIL identity .*is not a framefarm share.*mount the share here' "$T/empty.out" ||
    fail "empty: the identity line does not say what to do"
[ -z "$(ls -A "$T/empty")" ] || fail "check-share left files in the empty directory: $(ls -A "$T/empty")"

# A foreign share: a coord/share-id of its own.
mkdir -p "$T/foreign/coord"
echo 0123456789abcdef0123456789abcdef >"$T/foreign/coord/share-id"
run_check foreign 1 ff check-share "$T/foreign" --coordinator "$A" --io-mib 0
line PASS identity foreign
grep -q "^FAIL ambassador the ambassador at $A runs on share $(cat "$SHARE/coord/share-id"); $T/foreign is share 0123456789abcdef0123456789abcdef: this is not its share" \
    "$T/foreign.out" || fail "foreign: the ambassador line"
grep -q '^PASS throughput' "$T/foreign.out" && fail "--io-mib 0 still measured"

# Bad usage.
run_check usage 2 ff check-share
run_check usage2 2 ff check-share "$SHARE" --io-mib lots
run_check usage3 2 ff check-share "$SHARE" --secret /nonexistent
run_check missing 1 ff check-share "$T/nonexistent"
grep -q '^FAIL directory ' "$T/missing.out" || fail "missing: no directory line"

# A keyed ambassador: asked without the secret it refuses; with it, passes.
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
head -c 32 /dev/urandom | base64 >"$T/secret"
start_coord --time-scale 5 --secret "$T/secret"
A=127.0.0.1:$PORT
run_check nosecret 1 ff check-share "$SHARE" --coordinator "$A" --io-mib 0
line FAIL ambassador nosecret
grep -q 'shared secret' "$T/nosecret.err" || fail "nosecret: stderr does not say a secret is needed"
run_check secret 0 ff check-share "$SHARE" --coordinator "$A" --secret "$T/secret" --io-mib 0
line PASS ambassador secret
line PASS current secret
echo ok
