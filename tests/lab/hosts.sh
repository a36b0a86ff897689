# tests/lab/hosts.sh - the lab's hosts: network namespaces on a bridge, the
# share served over SFTP, each host's own sshfs mount, its processes, and
# the cleanup of all of it. Sourced by tests/lab/lab.sh (bash).
#
# Every name the lab creates starts with $LAB_PFX ("fflab-"): the
# namespaces fflab-sw (the switch: a bridge, and one veth end per host),
# fflab-srv (the share's server: sshd), fflab-amb (the ambassador) and
# fflab-n1..N (render nodes). Each host's other veth end is its eth0. The
# root namespace gets no interface, route or nft table: the lab's network
# touches nothing outside the namespaces it created. Each host but the
# server has its own mount namespace, held by one "holder" process (a
# sleep); everything the host runs enters it with nsenter, so each host
# sees its own sshfs mount at the same path, $MNT, and an unmounted host
# sees the empty directory underneath, as a lab machine would.
#
# State: LABDIR (the share, the mount point, the keys), HOLDER_<host>,
# SSHFS_<host> (pids). lab_teardown undoes everything and may be called
# at any point, any number of times.

LAB_PFX=fflab-
LAB_NET=${LAB_SUBNET:-10.213.0}
SRV_IP=$LAB_NET.1
AMB_IP=$LAB_NET.2
LAB_LOCK=/run/lock/framefarm-lab.lock

host_ip() { # host
    case $1 in
    srv) echo "$SRV_IP" ;;
    amb) echo "$AMB_IP" ;;
    n*) echo "$LAB_NET.$((10 + ${1#n}))" ;;
    esac
}

lab_nodes() { # the node hosts, n1..nN
    i=1
    while [ "$i" -le "$LAB_NODES" ]; do echo "n$i"; i=$((i + 1)); done
}

# Why the lab cannot run here, or nothing: it needs root, /dev/fuse and
# the tools of `sh scripts/deps.sh lab` (and namespaces: lab_cannot_ns).
lab_cannot() {
    [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, FUSE mounts)"; return; }
    [ -c /dev/fuse ] || { echo "no /dev/fuse (FUSE is needed for sshfs)"; return; }
    miss=""
    for c in ip nft /usr/sbin/sshd ssh ssh-keygen sshfs fusermount3 unshare \
        nsenter flock; do
        command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
    done
    [ -z "$miss" ] || { echo "missing:$miss (sh scripts/deps.sh lab installs them)"; return; }
}

# Why namespaces do not work here, or nothing. Run with the lock held (a
# running lab removes every fflab-* namespace when it ends).
lab_cannot_ns() {
    probe=${LAB_PFX}probe
    if ! err=$(ip netns add "$probe" 2>&1); then
        echo "cannot create a network namespace: $err"; return
    fi
    err=$(ip netns exec "$probe" nft list tables 2>&1) ||
        { ip netns del "$probe"; echo "nftables does not work in a namespace: $err"; return; }
    err=$(ip netns exec "$probe" unshare -m --propagation private true 2>&1) ||
        { ip netns del "$probe"; echo "cannot create a mount namespace: $err"; return; }
    ip netns del "$probe"
}

# Takes the machine-wide lab lock (one lab at a time: the names are fixed)
# and removes what a dead lab left behind: its namespaces, their
# processes, and its directory. Returns 1 when another lab is running.
lab_lock() {
    exec 9<>"$LAB_LOCK" || return 1
    flock -n 9 || return 1
    old=$(head -n 1 "$LAB_LOCK" 2>/dev/null || true)
    left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PFX" || true)
    if [ -n "$left" ]; then
        echo "lab: removing what an earlier lab left: $(echo $left)" >&2
        for ns in $left; do ns_kill_all "$ns"; done
        for ns in $left; do ip netns del "$ns" 2>/dev/null || true; done
    fi
    case $old in
    */fflab.*) [ -d "$old" ] && { echo "lab: removing $old" >&2; rm -rf "$old"; } ;;
    esac
    : >"$LAB_LOCK"
    return 0
}

ns_kill_all() { # netns: SIGKILL every process in it, sshfs first (that
    # aborts its FUSE connection, so no process stays blocked in it)
    pids=$(ip netns pids "$1" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    for p in $pids; do
        case $(cat "/proc/$p/comm" 2>/dev/null) in sshfs) kill -9 "$p" 2>/dev/null || true ;; esac
    done
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    end=$(($(date +%s) + 10))
    while [ -n "$(ip netns pids "$1" 2>/dev/null)" ] && [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.1
    done
}

# The directory of the whole lab: the share (served by fflab-srv), the
# mount point every host uses, the keys. Made once per campaign.
lab_dir_make() {
    LABDIR=$(mktemp -d "${TMPDIR:-/tmp}/fflab.XXXXXX")
    echo "$LABDIR" >"$LAB_LOCK"
    MNT=$LABDIR/mnt
    mkdir -p "$MNT"
}

# A new host key and client key for each run, and sshd's configuration.
ssh_keys_make() {
    rm -rf "$LABDIR/ssh"
    mkdir -m 700 "$LABDIR/ssh"
    ssh-keygen -q -t ed25519 -N '' -C fflab-host -f "$LABDIR/ssh/host_key"
    ssh-keygen -q -t ed25519 -N '' -C fflab-client -f "$LABDIR/ssh/client_key"
    cp "$LABDIR/ssh/client_key.pub" "$LABDIR/ssh/authorized_keys"
    cat >"$LABDIR/ssh/sshd_config" <<EOF
ListenAddress $SRV_IP:22
HostKey $LABDIR/ssh/host_key
AuthorizedKeysFile $LABDIR/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
PidFile $LABDIR/ssh/sshd.pid
EOF
}

# sshfs options. soft: the session is dropped after 3 missed keepalives
# (6 s) and re-made on the next operation; operations during an outage
# fail (EIO/ENOTCONN), like an NFS soft mount. hard: no keepalive, so an
# operation on a cut link waits for TCP to get through (up to
# tcp_retries2, ~15 min), like an NFS hard mount; a reset session is
# re-made.
sshfs_opts() { # soft|hard
    o="IdentityFile=$LABDIR/ssh/client_key,StrictHostKeyChecking=no"
    o="$o,UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR,reconnect"
    case $1 in
    soft) o="$o,ServerAliveInterval=2,ServerAliveCountMax=3,ConnectTimeout=5" ;;
    hard) o="$o,ServerAliveInterval=0,TCPKeepAlive=no,ConnectTimeout=120" ;;
    esac
    [ -z "${LAB_SSHFS_OPTS:-}" ] || o="$o,$LAB_SSHFS_OPTS"
    echo "$o"
}

# Builds the switch and the hosts, starts sshd, and mounts the share on
# the ambassador and every node. $1: soft|hard; $2: the run's log dir.
lab_up() {
    mount_kind=$1 logs=$2
    mkdir -p "$LABDIR/share"
    ssh_keys_make
    ip netns add "${LAB_PFX}sw"
    ip -n "${LAB_PFX}sw" link set lo up
    ip -n "${LAB_PFX}sw" link add br0 type bridge
    ip -n "${LAB_PFX}sw" link set br0 up
    for h in srv amb $(lab_nodes); do
        ns=$LAB_PFX$h
        ip netns add "$ns"
        ip link add "$h" netns "${LAB_PFX}sw" type veth peer name eth0 netns "$ns"
        ip -n "${LAB_PFX}sw" link set "$h" master br0 up
        ip -n "$ns" addr add "$(host_ip "$h")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
    done
    # Privilege separation directory sshd insists on (the Debian package
    # makes it when the service starts; here no service runs).
    mkdir -p /run/sshd
    sshd_start
    for h in amb $(lab_nodes); do
        ip netns exec "$LAB_PFX$h" unshare -m --propagation private sleep infinity &
        eval "HOLDER_$h=$!"
        disown
    done
    # A holder exists once its mount namespace differs from ours.
    for h in amb $(lab_nodes); do
        hp=$(holder "$h") end=$(($(date +%s) + 10))
        while [ "$(readlink "/proc/$hp/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ] ||
            [ -z "$(readlink "/proc/$hp/ns/mnt" 2>/dev/null)" ]; do
            [ "$(date +%s)" -lt "$end" ] || { echo "lab: host $h did not start" >&2; return 1; }
            sleep 0.05
        done
    done
    for h in amb $(lab_nodes); do
        share_mount "$h" "$mount_kind" "$logs" || return 1
    done
}

holder() { eval "echo \${HOLDER_$1:-}"; }

# Runs a command on a host (its network and mount namespaces).
on() { # host command...
    h=$1; shift
    if [ "$h" = srv ]; then
        ip netns exec "${LAB_PFX}srv" "$@"
    else
        nsenter -t "$(holder "$h")" -m -n -- "$@"
    fi
}

sshd_start() {
    ip netns exec "${LAB_PFX}srv" /usr/sbin/sshd -f "$LABDIR/ssh/sshd_config" \
        -E "$LABDIR/ssh/sshd.log"
}

# Stops the server's sshd and every session it serves (a crashed or
# rebooted server: the sessions' sockets go with it).
sshd_stop() {
    for p in $(ip netns pids "${LAB_PFX}srv" 2>/dev/null); do
        kill -9 "$p" 2>/dev/null || true
    done
}

# Mounts the share on a host and waits until the mount answers.
share_mount() { # host soft|hard logdir
    on "$1" sshfs -f "root@$SRV_IP:$LABDIR/share" "$MNT" -o "$(sshfs_opts "$2")" \
        2>>"$3/sshfs-$1.log" &
    eval "SSHFS_$1=$!"
    disown
    end=$(($(date +%s) + 20))
    until on "$1" findmnt -n -t fuse.sshfs "$MNT" >/dev/null 2>&1 &&
        on "$1" stat "$MNT/." >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$end" ] || ! kill -0 "$(eval "echo \$SSHFS_$1")" 2>/dev/null; then
            echo "lab: sshfs did not mount the share on $1: $(tail -n 3 "$3/sshfs-$1.log")" >&2
            return 1
        fi
        sleep 0.1
    done
}

# A silent unmount: the mount goes (lazily, as an admin's umount -l or a
# crashed FUSE daemon would take it) and the empty directory underneath
# shows through; nothing tells the programs using it.
share_unmount() { # host
    on "$1" fusermount3 -u -z "$MNT"
}

# A cable: the switch port of a host goes down or up (the host's eth0
# loses its carrier; its address and routes stay).
cable() { # host down|up
    ip -n "${LAB_PFX}sw" link set "$1" "$2"
}

# nftables in a host's namespace: one table, "inet fflab", made on first
# use and deleted by nft_clear (or with the namespace).
nft_rule() { # host chain(in|out) rule...
    h=$1 chain=$2; shift 2
    ns=$LAB_PFX$h
    if ! ip netns exec "$ns" nft list table inet fflab >/dev/null 2>&1; then
        ip netns exec "$ns" nft -f - <<EOF
table inet fflab {
    chain in { type filter hook input priority 0; policy accept; }
    chain out { type filter hook output priority 0; policy accept; }
}
EOF
    fi
    ip netns exec "$ns" nft add rule inet fflab "$chain" "$@"
}

nft_clear() { # host
    ip netns exec "$LAB_PFX$1" nft delete table inet fflab 2>/dev/null || true
}

# Undoes lab_up: every process in the lab's namespaces (sshfs first), the
# namespaces (their mounts, interfaces and nft tables go with them), the
# share. Safe to call at any point, more than once.
lab_down() {
    for h in amb $(lab_nodes) srv; do ns_kill_all "$LAB_PFX$h"; done
    for h in amb $(lab_nodes); do eval "HOLDER_$h="; eval "SSHFS_$h="; done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PFX" || true); do
        ns_kill_all "$ns"
        ip netns del "$ns" 2>/dev/null || true
    done
    [ -z "${LABDIR:-}" ] || rm -rf "$LABDIR/share"
}

# lab_down, the lab's directory, the lock: for the EXIT trap.
lab_teardown() {
    lab_down
    [ -z "${LABDIR:-}" ] || rm -rf "$LABDIR"
    [ -z "${LABDIR:-}" ] || : >"$LAB_LOCK" 2>/dev/null || true
    LABDIR=
}
