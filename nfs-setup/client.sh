#!/bin/sh
# nfs-setup/client.sh: mounts the lab's share on a render machine, with the
# options framefarm relies on (each explained below), as a systemd mount
# unit (default) or an /etc/fstab line; makes the framefarm user (the same
# ids as on the server) and installs the node unit, framefarm-node@.service
# (not started). Idempotent; --dry-run prints what it would change.
# docs/operations.md, "Setting up a lab", step 2.
set -eu
PROG=client.sh
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

usage() {
    cat <<EOF
usage: nfs-setup/client.sh --server HOST [--export /srv/framefarm]
           [--mount-point /mnt/framefarm] [--fstab] [--coordinator HOST:PORT]
           [--timeo 100]
           [--uid 7700] [--gid 7700] [--dry-run] [--root DIR]
  --server       the share's server (nfs-setup/server.sh ran there)
  --export       the directory it exports (server.sh --dir)
  --mount-point  where the share is mounted here (and the nodes' --share)
  --fstab        an /etc/fstab line instead of a systemd mount unit
  --coordinator  the ambassador, written into /etc/framefarm/node.conf the
                 first time (default: HOST:7700)
  --timeo        tenths of a second before a request is sent again (100;
                 see the options below and docs/operations.md)
  --uid, --gid   the framefarm user's ids: the same as on the server
  --dry-run      print every change, make none
  --root DIR     write the files under DIR and run no command (tests, images)
EOF
    exit "${1:-2}"
}

SERVER=""
EXPORT=/srv/framefarm
MNT=/mnt/framefarm
FSTAB=0
COORD=""
TIMEO=100
while [ $# -gt 0 ]; do
    common_flag "$@"
    if [ "$SHIFT" -gt 0 ]; then shift "$SHIFT"; continue; fi
    case $1 in
    --server) [ $# -ge 2 ] || usage; SERVER=$2; shift ;;
    --export) [ $# -ge 2 ] || usage; EXPORT=${2%/}; shift ;;
    --mount-point) [ $# -ge 2 ] || usage; MNT=${2%/}; shift ;;
    --fstab) FSTAB=1 ;;
    --coordinator) [ $# -ge 2 ] || usage; COORD=$2; shift ;;
    --timeo) [ $# -ge 2 ] || usage; TIMEO=$2; shift ;;
    -h|--help) usage 0 ;;
    *) say "unknown flag $1"; usage ;;
    esac
    shift
done
[ -n "$SERVER" ] || { say "--server is required"; usage; }
case $SERVER in *[!A-Za-z0-9.:_[\]-]*) die "--server: $SERVER is not a host name or address" ;; esac
case $EXPORT$MNT in *[!A-Za-z0-9._/-]*) die "--export and --mount-point: letters, digits, . _ - / only" ;; esac
case $MNT in /*) ;; *) die "--mount-point must be an absolute path" ;; esac
[ -n "$COORD" ] || COORD=$SERVER:7700
case $TIMEO in ''|*[!0-9]*) die "--timeo: tenths of a second" ;; esac
check_root

# The mount options (nfs(5)), and why; ../shared/research/reliability.md
# §2.8 has the sources:
#   vers=4.2,proto=tcp  what the server exports (NFSv4 only, one port)
#   hard         a request the server does not answer is retried until it
#                does, never failed: with soft, a write that times out
#                returns EIO and a lease, a result or a journal record is
#                lost. A node stuck on a hung share is framefarm's job: its
#                lease stops advancing, the ambassador reclaims its sets
#                after reclaim_ms (30 s), and the node fences itself after
#                fence_ms (25 s) from a thread that never touches the share
#   timeo=100    10 s before a request is sent again (nfs(5)'s default for
#                TCP is 600: 60 s; TCP retransmits by itself and the client
#                resends at once on a new connection, so timeo bounds a
#                request the server dropped silently). One such request
#                stalls a lease renewal for timeo: at 600 it would outlast
#                fence_ms (25 s) and every share hiccup would fence the
#                node; at 100 a node rides out two. See docs/operations.md,
#                "Timings"
#   retrans=2    after 2 retries the kernel logs "server ... not
#                responding" (and "OK" when it answers): the line to look
#                for when a cable is pulled
#   lookupcache=positive  "no such file" is not cached: a file another
#                machine has just created (a set's manifest, a standby's
#                coord/current) is found at once, not after acdirmax (60 s)
#   (defaults kept) cto: close-to-open, what framefarm's rename rule rests
#                on: a writer writes, fsyncs, closes and renames before it
#                tells; an open afterwards on any machine sees the data.
#                ac with the default actimeo: leases and coord/probe are
#                read with open+read+close, which revalidates; noac or
#                actimeo=0 would only cost round trips. No nocto, no
#                local_lock, no soft
#   _netdev      needs the network (ordered after it at boot)
OPTS=vers=4.2,proto=tcp,hard,timeo=$TIMEO,retrans=2,lookupcache=positive,_netdev
SRC=$SERVER:$EXPORT

# 1. The NFS client.
need_packages nfs-common

# 2. The user nodes run as: the ids the server squashes to (or keeps).
ensure_user
for g in video render; do
    if [ -z "$ROOT" ] && getent group "$g" >/dev/null &&
        ! id -nG framefarm 2>/dev/null | grep -qw "$g"; then
        CHANGED=1
        run usermod -aG "$g" framefarm
    fi
done

# 3. The mount point and the mount.
if [ -d "$ROOT$MNT" ]; then
    say "unchanged: $MNT/"
else
    CHANGED=1
    if [ "$DRY" = 1 ]; then say "would make $MNT/"; else mkdir -p "$ROOT$MNT"; say "made $MNT/"; fi
fi
unit=$(printf '%s' "${MNT#/}" | sed 's/-/\\x2d/g; s|/|-|g').mount
if [ "$FSTAB" = 1 ]; then
    fstab_line="$SRC $MNT nfs4 $OPTS 0 0"
    cur=""
    [ -f "$ROOT/etc/fstab" ] && cur=$(awk -v m="$MNT" '$2 == m' "$ROOT/etc/fstab")
    if [ "$cur" = "$fstab_line" ]; then
        LAST_CHANGED=0
        say "unchanged: /etc/fstab line for $MNT"
    else
        [ -f "$ROOT/etc/fstab" ] || { mkdir -p "$ROOT/etc"; : >"$ROOT/etc/fstab"; }
        { awk -v m="$MNT" '$2 != m && $0 != "# framefarm share (nfs-setup/client.sh; see the options there)"' \
            "$ROOT/etc/fstab"
          echo "# framefarm share (nfs-setup/client.sh; see the options there)"
          echo "$fstab_line"; } | put_file /etc/fstab 0644
    fi
else
    put_file "/etc/systemd/system/$unit" 0644 <<EOF
# Written by framefarm's nfs-setup/client.sh: run it again rather than
# editing; the options are explained there.
[Unit]
Description=framefarm share ($SRC)
Wants=network-online.target
After=network-online.target

[Mount]
What=$SRC
Where=$MNT
Type=nfs4
Options=$OPTS

[Install]
WantedBy=remote-fs.target
EOF
fi
mount_changed=$LAST_CHANGED

# 4. The node unit and its settings.
install_unit framefarm-node@.service "$MNT" /mnt/framefarm node.conf \
    "s|^FRAMEFARM_SHARE=.*|FRAMEFARM_SHARE=$MNT|; s|^FRAMEFARM_COORDINATOR=.*|FRAMEFARM_COORDINATOR=$COORD|"
reload=$RELOAD
[ -f "$ROOT/etc/framefarm/secret" ] ||
    say "note: copy /etc/framefarm/secret from the server (root:framefarm, mode 0640) before starting nodes"

# 5. Mount it now (when it is not already).
[ "$mount_changed" = 0 ] || reload=1
if [ "$DRY" != 1 ] && [ -z "$ROOT" ] && mountpoint -q "$MNT"; then
    now=$(findmnt -n -o SOURCE --target "$MNT" || true)
    if [ "$now" = "$SRC" ] && [ "$mount_changed" = 0 ]; then
        say "unchanged: $SRC is mounted on $MNT"
    else
        say "note: $MNT holds $now now; unmount it (umount $MNT) and run again to mount $SRC with these options"
    fi
elif [ "$FSTAB" = 1 ]; then
    [ "$reload" = 0 ] || run systemctl daemon-reload
    run mount "$MNT"
else
    [ "$reload" = 0 ] || run systemctl daemon-reload
    run systemctl enable --now "$unit"
fi

cat <<EOF

$PROG: done$([ "$CHANGED" = 0 ] && echo " (nothing to change)")$([ "$DRY" = 1 ] && echo " (dry run: nothing changed)").
Next, on this machine:
  install -m 0755 build/bin/framefarm build/bin/framefarm-node /usr/local/bin/
  runuser -u framefarm -- framefarm check-share $MNT --coordinator $COORD \\
      --secret /etc/framefarm/secret
  systemctl enable --now framefarm-node@\$(hostname -s)
EOF
