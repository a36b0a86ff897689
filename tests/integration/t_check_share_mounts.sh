# shellcheck shell=sh
# framefarm check-share on broken mounts, made for real in a private mount
# namespace (unshare -m: every mount dies with it, whatever happens):
#   - a read-only share (a tmpfs holding a share, remounted ro): FAIL
#     mount (read-only) and FAIL write (EROFS), exit 1;
#   - a mount point listed in /etc/fstab with nothing mounted on it (a
#     private /etc/fstab bind-mounted over the real one): FAIL mount
#     ("not mounted ... the directory underneath") and FAIL identity;
#   - a tmpfs mounted there instead: the mount line passes.
# Root only; no NFS: this machine has no kernel NFS client (the NFS
# options check runs on a lab, docs/operations.md).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mounts in a private namespace)"
unshare -m true 2>/dev/null || skip "unshare -m is not permitted here"
ff=$BIN/framefarm
run_ns() { # name expected-exit script (sh -c, $1 = $T, $2 = framefarm)
    name=$1 want=$2
    set +e
    unshare -m sh -euc "$3" sh "$T" "$ff" >"$T/$name.out" 2>"$T/$name.err"
    st=$?
    set -e
    echo "--- check-share on the $name share (exit $st):"
    cat "$T/$name.out"
    [ "$st" -eq "$want" ] || { cat "$T/$name.err"; fail "$name: exit $st, not $want"; }
}
line() { grep -q "^$1 $2 " "$T/$3.out" || fail "$3: no '$1 $2' line"; }

# Read-only: a share with its identity, then remounted ro.
mkdir "$T/ro"
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
run_ns readonly 1 '
    mount --make-rprivate /
    mount -t tmpfs -o size=512m fftest "$1/ro"
    mkdir "$1/ro/coord"
    echo 00112233445566778899aabbccddeeff >"$1/ro/coord/share-id"
    mount -o remount,ro "$1/ro"
    "$2" check-share "$1/ro"'
line FAIL mount readonly
grep -q '^FAIL mount .* is mounted read-only (fftest on .*, tmpfs): .*mount it rw' "$T/readonly.out" ||
    fail "readonly: the mount line does not say read-only and what to do"
line PASS identity readonly
grep -q '^FAIL write .*Read-only file system; it is read-only here: mount it rw' "$T/readonly.out" ||
    fail "readonly: the write line"

# Listed in fstab, not mounted: the empty directory underneath.
mkdir "$T/mnt"
printf 'share.lab:/srv/framefarm %s nfs4 vers=4.2,hard,_netdev 0 0\n' "$T/mnt" >"$T/fstab"
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
run_ns unmounted 1 '
    mount --make-rprivate /
    mount --bind "$1/fstab" /etc/fstab
    "$2" check-share "$1/mnt" --io-mib 0'
grep -q "^FAIL mount .*$T/mnt is not mounted (/etc/fstab: share.lab:/srv/framefarm nfs4), so this is the directory underneath" \
    "$T/unmounted.out" || fail "unmounted: the mount line"
line FAIL identity unmounted
[ -z "$(ls -A "$T/mnt")" ] || fail "check-share left files under the mount point"

# The same mount point with something mounted: the mount line passes.
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
run_ns mounted 1 '
    mount --make-rprivate /
    mount --bind "$1/fstab" /etc/fstab
    mount -t tmpfs -o size=512m fftest "$1/mnt"
    "$2" check-share "$1/mnt" --io-mib 0'
grep -q '^PASS mount .* is mounted: fftest (tmpfs' "$T/mounted.out" || fail "mounted: the mount line"
line FAIL identity mounted
echo ok
