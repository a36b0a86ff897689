# shellcheck shell=sh
# nfs-setup/server.sh and client.sh: --dry-run prints a sane plan and
# changes nothing; --root DIR writes the same files under DIR (and runs no
# command), and a second run finds nothing to change (idempotent); the
# export has the options the docs promise; the nftables file passes
# `nft -c` (checked, never loaded); a bad flag is refused (exit 2). The
# scripts are not run for real here: that would change this machine's
# exports and firewall under the other tests, and there is no kernel NFS
# client to mount with (docs/operations.md says what to check on a lab).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
S=$top/nfs-setup
command -v dpkg-query >/dev/null 2>&1 || skip "not a Debian system (no dpkg-query)"

# --- server.sh --dry-run
etc_state() { find /etc/exports.d /etc/framefarm -printf '%p %s %T@\n' 2>/dev/null | sort | cksum; }
before=$(etc_state)
sh "$S/server.sh" --dry-run --clients 10.0.0.0/24,fd00::/64 --dir /srv/ffshare \
    >"$T/srv.plan" 2>&1 || { cat "$T/srv.plan"; fail "server.sh --dry-run: exit $?"; }
cat "$T/srv.plan"
for want in 'dry run: nothing is changed' \
    'would write /etc/exports.d/framefarm.exports' \
    '^  | /srv/ffshare 10.0.0.0/24(rw,sync,no_subtree_check,all_squash,anonuid=7700,anongid=7700,sec=sys) fd00::/64(' \
    '#   sync ' '#   no_subtree_check' '#   rw ' \
    'would write /etc/nfs.conf.d/framefarm.conf' 'vers3=n' \
    'tcp dport { 2049, 7700, 7780 } ip saddr @lab4 accept' \
    'elements = { fd00::/64 }' \
    'would make /srv/ffshare/ (owner framefarm:framefarm' \
    'would write /etc/systemd/system/framefarm-coordinator.service' \
    'RequiresMountsFor=/srv/ffshare' 'FRAMEFARM_SHARE=/srv/ffshare' \
    'would write /etc/framefarm/secret (32 random bytes' \
    'would run: exportfs -ra' 'would run: nft -f /etc/framefarm/nftables.nft'; do
    grep -qF -- "$want" "$T/srv.plan" || grep -q -- "$want" "$T/srv.plan" ||
        fail "server.sh's plan does not say: $want"
done
[ -d /srv/ffshare ] && fail "--dry-run made /srv/ffshare"
[ "$(etc_state)" = "$before" ] ||
    fail "--dry-run changed /etc/exports.d or /etc/framefarm"
sh "$S/server.sh" --dry-run --clients 10.0.0.0/24 --root-squash >"$T/rs.plan" 2>&1 ||
    fail "server.sh --root-squash: exit $?"
grep -q '^  | /srv/framefarm 10.0.0.0/24(rw,sync,no_subtree_check,root_squash,sec=sys)$' "$T/rs.plan" ||
    fail "--root-squash: $(grep '^  | /srv' "$T/rs.plan")"

# --- client.sh --dry-run
sh "$S/client.sh" --dry-run --server share.lab --mount-point /mnt/ff-lab \
    >"$T/cli.plan" 2>&1 || { cat "$T/cli.plan"; fail "client.sh --dry-run: exit $?"; }
cat "$T/cli.plan"
for want in 'would write /etc/systemd/system/mnt-ff\x2dlab.mount' \
    'What=share.lab:/srv/framefarm' 'Where=/mnt/ff-lab' 'Type=nfs4' \
    'Options=vers=4.2,proto=tcp,hard,timeo=100,retrans=2,lookupcache=positive,_netdev' \
    'would write /etc/systemd/system/framefarm-node@.service' \
    'RequiresMountsFor=/mnt/ff-lab' 'FRAMEFARM_COORDINATOR=share.lab:7700' \
    'would run: systemctl enable --now mnt-ff\x2dlab.mount' 'framefarm check-share /mnt/ff-lab'; do
    grep -qF -- "$want" "$T/cli.plan" || fail "client.sh's plan does not say: $want"
done
if grep -E 'soft|nocto|local_lock|actimeo|noac' "$T/cli.plan" | grep -v '^  | #' | grep -q Options=; then
    fail "client.sh mounts with an option the docs forbid"
fi
[ -d /mnt/ff-lab ] && fail "--dry-run made /mnt/ff-lab"
sh "$S/client.sh" --dry-run --server share.lab --fstab >"$T/fstab.plan" 2>&1 ||
    fail "client.sh --fstab: exit $?"
grep -qF '  | share.lab:/srv/framefarm /mnt/framefarm nfs4 vers=4.2,proto=tcp,hard,timeo=100,retrans=2,lookupcache=positive,_netdev 0 0' \
    "$T/fstab.plan" || fail "--fstab: $(grep 'framefarm nfs4' "$T/fstab.plan")"

# --- refusals
for bad in "server.sh" "server.sh --clients 10.0.0.0/24 --dir rel" \
    "server.sh --clients 10.0.0.0/24 --bogus" "server.sh --clients 10.0.0.0/24;x" \
    "client.sh" "client.sh --server a;b" "client.sh --server h --uid x"; do
    set +e
    # shellcheck disable=SC2086 # the script and its flags
    sh "$S"/$bad --dry-run >"$T/bad.out" 2>&1
    st=$?
    set -e
    [ "$st" -eq 2 ] || { cat "$T/bad.out"; fail "$bad: exit $st, not 2"; }
done
echo "refusals: exit 2"

# --- --root: the files for real, twice.
R=$T/root
mkdir -p "$R/etc"
printf 'flush ruleset\n' >"$R/etc/nftables.conf"
sh "$S/server.sh" --root "$R" --clients 10.0.0.0/24 >"$T/r1.out" 2>&1 ||
    { cat "$T/r1.out"; fail "server.sh --root: exit $?"; }
grep -q '^/srv/framefarm 10.0.0.0/24(rw,sync,no_subtree_check,all_squash,anonuid=7700,anongid=7700,sec=sys)$' \
    "$R/etc/exports.d/framefarm.exports" || fail "exports: $(cat "$R/etc/exports.d/framefarm.exports")"
{ [ -d "$R/srv/framefarm/in" ] && [ -d "$R/srv/framefarm/out" ]; } || fail "no share directories under --root"
[ "$(stat -c %a "$R/etc/framefarm/secret")" = 640 ] || fail "the secret's mode is $(stat -c %a "$R/etc/framefarm/secret")"
[ "$(wc -c <"$R/etc/framefarm/secret")" -ge 16 ] || fail "the secret is too short for framefarm"
grep -q 'include "/etc/framefarm/nftables.nft"' "$R/etc/nftables.conf" || fail "nftables.conf does not include ours"
secret=$(cat "$R/etc/framefarm/secret")
sh "$S/server.sh" --root "$R" --clients 10.0.0.0/24 >"$T/r2.out" 2>&1 || fail "server.sh --root again: exit $?"
grep -q 'done (nothing to change)' "$T/r2.out" || { cat "$T/r2.out"; fail "server.sh's second run changed something"; }
[ "$(cat "$R/etc/framefarm/secret")" = "$secret" ] || fail "a second run replaced the secret"
[ "$(grep -c framefarm "$R/etc/nftables.conf")" -eq 1 ] || fail "the include was added twice"
echo "server.sh --root: files written; the second run: nothing to change"
sh "$S/client.sh" --root "$R" --server share.lab --fstab >"$T/c1.out" 2>&1 ||
    { cat "$T/c1.out"; fail "client.sh --root: exit $?"; }
sh "$S/client.sh" --root "$R" --server share.lab --fstab >"$T/c2.out" 2>&1 || fail "client.sh --root again"
grep -q 'done (nothing to change)' "$T/c2.out" || { cat "$T/c2.out"; fail "client.sh's second run changed something"; }
[ "$(grep -c ' /mnt/framefarm nfs4 ' "$R/etc/fstab")" -eq 1 ] || fail "fstab: $(cat "$R/etc/fstab")"
echo "client.sh --root --fstab: one fstab line; the second run: nothing to change"

# --- the firewall file parses (nft -c: checked in a transaction, never
# applied). Needs the nf_tables kernel module.
if command -v nft >/dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
    printf 'table inet ffprobe { }\n' | nft -c -f - >/dev/null 2>&1; then
    nft -c -f "$R/etc/framefarm/nftables.nft" >"$T/nft.out" 2>&1 || {
        cat "$T/nft.out"; fail "nft -c rejects server.sh's table"; }
    echo "nft -c: server.sh's table parses"
else
    echo "note: nft -c not run (no nft, not root, or no nf_tables here)"
fi
echo ok
