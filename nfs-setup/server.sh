#!/bin/sh
# nfs-setup/server.sh: makes this machine the lab's share server. Installs
# nfs-kernel-server, makes the framefarm user and the share directory,
# exports it to the render machines (NFSv4 only), lets the lab's networks
# (and only them) reach NFS and the ambassador through nftables, and
# installs the ambassador's systemd unit (not started). Idempotent: run it
# again after changing a flag; --dry-run prints what it would change.
# docs/operations.md, "Setting up a lab", step 1.
set -eu
PROG=server.sh
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

usage() {
    cat <<EOF
usage: nfs-setup/server.sh --clients CIDR[,CIDR...] [--dir /srv/framefarm]
           [--root-squash] [--ports "7700 7780"] [--no-firewall]
           [--uid 7700] [--gid 7700] [--dry-run] [--root DIR]
  --clients      the render machines' networks (e.g. 10.0.0.0/24)
  --dir          the share (best a filesystem of its own); default /srv/framefarm
  --root-squash  map only root to nobody and keep other uids (then every
                 machine must run its nodes as uid --uid); default: all_squash,
                 every client user writes as the framefarm user
  --ports        framefarm's TCP ports to open besides NFS (2049): the
                 ambassador (7700) and its dashboard (7780)
  --no-firewall  leave nftables alone
  --uid, --gid   the framefarm user's ids: the same on every machine
  --dry-run      print every change, make none
  --root DIR     write the files under DIR and run no command (tests, images)
EOF
    exit "${1:-2}"
}

SHARE=/srv/framefarm
CLIENTS=""
SQUASH=all
PORTS="7700 7780"
FIREWALL=1
while [ $# -gt 0 ]; do
    common_flag "$@"
    if [ "$SHIFT" -gt 0 ]; then shift "$SHIFT"; continue; fi
    case $1 in
    --clients) [ $# -ge 2 ] || usage; CLIENTS=$(echo "$2" | tr ',' ' '); shift ;;
    --dir) [ $# -ge 2 ] || usage; SHARE=${2%/}; shift ;;
    --root-squash) SQUASH=root ;;
    --ports) [ $# -ge 2 ] || usage; PORTS=$2; shift ;;
    --no-firewall) FIREWALL=0 ;;
    -h|--help) usage 0 ;;
    *) say "unknown flag $1"; usage ;;
    esac
    shift
done
[ -n "$CLIENTS" ] || { say "--clients is required"; usage; }
case $SHARE in /*) ;; *) die "--dir must be an absolute path" ;; esac
for c in $CLIENTS; do
    case $c in *[!0-9a-fA-F.:/]*) die "--clients: $c is not an address or CIDR" ;; esac
done
for p in $PORTS; do
    case $p in ''|*[!0-9]*) die "--ports: $p is not a port" ;; esac
done
check_root

# 1. The NFS server.
need_packages nfs-kernel-server nftables

# 2. The user every framefarm process runs as, here and on the nodes.
ensure_user

# 3. The share: owned by framefarm; in/ for the zips users submit, out/ for
# the videos. setgid: what members of the group drop there stays the
# group's.
put_dir "$SHARE" 2775 framefarm:framefarm
put_dir "$SHARE/in" 2775 framefarm:framefarm
put_dir "$SHARE/out" 2775 framefarm:framefarm
if [ -z "$ROOT" ] && [ -d "$SHARE" ] &&
    [ "$(stat -c %d "$SHARE")" = "$(stat -c %d /)" ]; then
    say "note: $SHARE is on the root filesystem; a filesystem of its own is"
    say "      better (a full share then cannot fill /, and exports(5) lists"
    say "      the pitfalls of exporting a subtree)"
fi

# 4. The export.
if [ "$SQUASH" = all ]; then
    squash="all_squash,anonuid=$FF_UID,anongid=$FF_GID"
    why_squash="every client user (root too) writes as framefarm:
#                    files have one owner whatever machine or user
#                    wrote them: the ambassador can remove what nodes wrote"
else
    squash="root_squash"
    why_squash="root on a client is nobody here; other uids are kept, so
#                    every machine must run its nodes as uid $FF_UID"
fi
opts="rw,sync,no_subtree_check,$squash,sec=sys"
line="$SHARE"
for c in $CLIENTS; do line="$line $c($opts)"; done
put_file /etc/exports.d/framefarm.exports 0644 <<EOF
# Written by framefarm's nfs-setup/server.sh: run it again rather than
# editing. The options, and why:
#   rw               nodes write their leases and mini-videos, the
#                    ambassador its journal and queue
#   sync             the server has the data on disk before it answers: a
#                    lease, a result or a journal record a node or the
#                    ambassador fsynced survives a crash of this server
#                    (async would acknowledge writes it may still lose)
#   no_subtree_check no check that a file handle lies under the export:
#                    files renamed while open (every result, every
#                    coord/current) never get ESTALE; with a share that is
#                    a filesystem of its own, the check adds nothing
#   $squash
#                    $why_squash
#   sec=sys          uids as the client says (a lab network you trust)
$line
EOF
restart_nfs=0
put_file /etc/nfs.conf.d/framefarm.conf 0644 <<'EOF'
# Written by framefarm's nfs-setup/server.sh.
[nfsd]
# NFSv4 only: one TCP port (2049) through the firewall, no rpcbind or
# mountd ports; the render machines mount with vers=4.2.
vers3=n
# One thread per busy client and to spare.
threads=16
EOF
restart_nfs=$LAST_CHANGED

# 5. The firewall: the lab's networks may reach NFS and framefarm's ports,
# nobody else may.
if [ "$FIREWALL" = 1 ]; then
    v4="" v6=""
    for c in $CLIENTS; do
        case $c in *:*) v6="$v6${v6:+, }$c" ;; *) v4="$v4${v4:+, }$c" ;; esac
    done
    # shellcheck disable=SC2086 # a list of ports
    ports="2049$(printf ', %s' $PORTS)"
    put_file /etc/framefarm/nftables.nft 0644 <<EOF
# Written by framefarm's nfs-setup/server.sh. NFS (2049) and framefarm's
# ports ($PORTS: the ambassador, its dashboard) from the lab's networks
# only. Loaded by server.sh, and at boot through /etc/nftables.conf.
table inet framefarm
delete table inet framefarm
table inet framefarm {
    set lab4 {
        type ipv4_addr; flags interval;${v4:+
        elements = { $v4 \}}
    }
    set lab6 {
        type ipv6_addr; flags interval;${v6:+
        elements = { $v6 \}}
    }
    chain input {
        type filter hook input priority filter - 10; policy accept;
        iif "lo" accept
        tcp dport { $ports } ip saddr @lab4 accept
        tcp dport { $ports } ip6 saddr @lab6 accept
        tcp dport { $ports } counter drop
    }
}
EOF
    if [ "$LAST_CHANGED" = 1 ] || { [ -z "$ROOT" ] &&
        ! nft list table inet framefarm >/dev/null 2>&1; }; then
        run nft -f /etc/framefarm/nftables.nft
    fi
    if [ -f "$ROOT/etc/nftables.conf" ]; then
        if grep -q '/etc/framefarm/nftables.nft' "$ROOT/etc/nftables.conf"; then
            say "unchanged: /etc/nftables.conf includes framefarm's table"
        elif [ "$DRY" = 1 ]; then
            say "would add to /etc/nftables.conf: include \"/etc/framefarm/nftables.nft\""
        else
            echo 'include "/etc/framefarm/nftables.nft"' >>"$ROOT/etc/nftables.conf"
            say "added framefarm's table to /etc/nftables.conf (loaded at boot when nftables.service is enabled)"
        fi
    fi
    # Another table's input chain that drops by default would drop these
    # ports too (an accept here does not bind it): add an accept there.
    if [ "$DRY" != 1 ] && [ -z "$ROOT" ] && command -v nft >/dev/null; then
        nft list chains 2>/dev/null | awk '
            $1 == "table" { fam = $2; tab = $3 }
            $1 == "chain" { ch = $2 }
            /hook input/ && /policy drop/ && tab != "framefarm" { print fam, tab, ch }' |
        while read -r fam tab ch; do
            if nft list chain "$fam" "$tab" "$ch" | grep -q 'comment "framefarm"'; then
                say "unchanged: $fam $tab $ch accepts framefarm's ports"
                continue
            fi
            [ "$fam" != ip6 ] && [ -n "$v4" ] &&
                run nft add rule "$fam" "$tab" "$ch" tcp dport "{ $ports }" ip saddr "{ $v4 }" accept comment '"framefarm"'
            [ "$fam" != ip ] && [ -n "$v6" ] &&
                run nft add rule "$fam" "$tab" "$ch" tcp dport "{ $ports }" ip6 saddr "{ $v6 }" accept comment '"framefarm"'
            say "note: $fam $tab $ch drops by default: added an accept for framefarm's ports now; add it to that firewall's own configuration to keep it"
        done
    fi
    if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q 'Status: active'; then
        say "note: ufw is active: also run, for each network: ufw allow from CIDR to any port 2049,$(echo "$PORTS" | tr ' ' ',') proto tcp"
    fi
fi

# 6. The ambassador's unit (started by you, once the binaries are in
# /usr/local/bin) and its secret, the one every node needs a copy of.
install_unit framefarm-coordinator.service "$SHARE" /srv/framefarm \
    coordinator.conf "s|^FRAMEFARM_SHARE=.*|FRAMEFARM_SHARE=$SHARE|"
reload=$RELOAD
if [ -f "$ROOT/etc/framefarm/secret" ]; then
    say "kept: /etc/framefarm/secret"
elif [ "$DRY" = 1 ]; then
    say "would write /etc/framefarm/secret (32 random bytes, base64; root:framefarm, mode 0640)"
else
    head -c 32 /dev/urandom | base64 |
        put_file /etc/framefarm/secret 0640 root:framefarm
fi

# 7. Apply: reload what changed; exportfs -ra is harmless when nothing did.
if [ "$DRY" = 1 ] || [ -n "$ROOT" ] || have_systemd; then
    [ "$reload" = 0 ] || run systemctl daemon-reload
    if [ "$restart_nfs" = 1 ]; then
        run systemctl enable nfs-server
        run systemctl restart nfs-server
    else
        run systemctl enable --now nfs-server
    fi
else
    say "note: systemd is not running here: start the NFS server yourself"
fi
run exportfs -ra

cat <<EOF

$PROG: done$([ "$CHANGED" = 0 ] && echo " (nothing to change)")$([ "$DRY" = 1 ] && echo " (dry run: nothing changed)").
Next:
  install -m 0755 build/bin/framefarm build/bin/framefarm-coordinator \\
      build/bin/framefarm-node /usr/local/bin/
  systemctl enable --now framefarm-coordinator
  framefarm check-share $SHARE      # here, then on each render machine
Copy /etc/framefarm/secret to every render machine (root:framefarm, mode
0640: the framefarm user and systemd read it), and
mount the share there: nfs-setup/client.sh --server $(hostname -f 2>/dev/null || hostname) --export $SHARE
EOF
