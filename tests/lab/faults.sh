# tests/lab/faults.sh - the faults the lab injects, one a run. Sourced by
# tests/lab/lab.sh (bash), after hosts.sh.
#
# A fault is a function fault_<name> run in the background once the job is
# under way (see lab.sh: a few sets counted, and for a node's fault while
# the node holds a set). It stamps the moments that matter into the run's
# fault.log with fault_mark, in the ambassador's log clock (local
# HH:MM:SS.mmm): "start" when the fault begins, "end" when what it did is
# undone (no "end": it lasts to the end of the run). The tally measures
# the reclaim latency from "start", and counts a reclaim as legitimate
# only from a node the fault hit, of a set it got before "end", and only
# for a fault where a reclaim is expected (fault_spec).
#
# Durations follow the ambassador's default timings (RECLAIM_S, FENCE_S:
# lab.sh reads them from its --help): a short pull lasts half the fence
# time, so nothing need be lost (at fence_ms - 2 s a node fenced: its last
# renewal came up to lease_renew_ms before the pull, and its mount takes
# a few seconds to come back), a long one and the cuts go 10 s past the
# reclaim time.

LAB_PULL_SHORT=${LAB_PULL_SHORT:-$((FENCE_S > 4 ? FENCE_S / 2 : 2))}
LAB_PULL_LONG=${LAB_PULL_LONG:-$((RECLAIM_S + 10))}
LAB_AMB_PULL=${LAB_AMB_PULL:-10}
LAB_CUT=${LAB_CUT:-$((RECLAIM_S + 10))}
LAB_SHARE_DOWN=${LAB_SHARE_DOWN:-20}
LAB_LOSS=${LAB_LOSS:-20}
LAB_CLOCK_STEP=${LAB_CLOCK_STEP:--10m}
LAB_VICTIM=n1

# fault_spec NAME: "<nodes it hits> <reclaim expected: yes|no|n/a>
# <when: start|mid>" ("-" for no node; "all" for every one).
fault_spec() {
    case $1 in
    baseline) echo "- no mid" ;;
    node-cable-short) echo "$LAB_VICTIM no mid" ;;
    node-cable-long) echo "$LAB_VICTIM yes mid" ;;
    amb-cable) echo "- no mid" ;;
    node-share-cut) echo "$LAB_VICTIM yes mid" ;;
    node-amb-cut) echo "$LAB_VICTIM no mid" ;;
    loss) echo "all n/a start" ;;
    share-down) echo "- no mid" ;;
    node-unmount) echo "$LAB_VICTIM yes mid" ;;
    amb-kill) echo "- no mid" ;;
    node-clock-step) echo "$LAB_VICTIM yes mid" ;;
    *) return 1 ;;
    esac
}

# One line for the table's legend.
fault_what() {
    case $1 in
    baseline) echo "no fault: the job time every other row is compared with" ;;
    node-cable-short) echo "$LAB_VICTIM's cable pulled ${LAB_PULL_SHORT} s (under fence_ms, ${FENCE_S} s): nothing should be reclaimed" ;;
    node-cable-long) echo "$LAB_VICTIM's cable pulled ${LAB_PULL_LONG} s (over reclaim_ms, ${RECLAIM_S} s): its sets are reclaimed ~reclaim_ms after its lease stopped" ;;
    amb-cable) echo "the ambassador's cable pulled ${LAB_AMB_PULL} s: its share and every node lost; nothing should be reclaimed" ;;
    node-share-cut) echo "nftables on $LAB_VICTIM drops the share server's traffic ${LAB_CUT} s (control link up): it fences, its sets are reclaimed" ;;
    node-amb-cut) echo "nftables on $LAB_VICTIM drops the ambassador's traffic ${LAB_CUT} s (share up): its lease advances, nothing should be reclaimed" ;;
    loss) echo "nftables drops ${LAB_LOSS} % of the packets each host sends, the whole job" ;;
    share-down) echo "the share's host down ${LAB_SHARE_DOWN} s (cable out, sshd and its sessions killed, then back): nothing should be reclaimed" ;;
    node-unmount) echo "fusermount -u -z of $LAB_VICTIM's share (the empty directory shows through): it must stop taking work" ;;
    amb-kill) echo "SIGKILL of the ambassador, restarted 1 s later with the same command: it resumes from its journal" ;;
    node-clock-step) echo "$LAB_VICTIM SIGKILLed and restarted at once with its wall clock ${LAB_CLOCK_STEP} (faketime)" ;;
    esac
}

fault_mark() { # start|end text
    echo "$(date +%T.%3N) $*" >>"$RD/fault.log"
}

fault_baseline() { :; }

fault_node-cable-short() {
    fault_mark start "cable of $LAB_VICTIM out"
    cable "$LAB_VICTIM" down
    sleep "$LAB_PULL_SHORT"
    cable "$LAB_VICTIM" up
    fault_mark end "cable of $LAB_VICTIM in"
}

fault_node-cable-long() {
    fault_mark start "cable of $LAB_VICTIM out"
    cable "$LAB_VICTIM" down
    sleep "$LAB_PULL_LONG"
    cable "$LAB_VICTIM" up
    fault_mark end "cable of $LAB_VICTIM in"
}

fault_amb-cable() {
    fault_mark start "cable of amb out"
    cable amb down
    sleep "$LAB_AMB_PULL"
    cable amb up
    fault_mark end "cable of amb in"
}

fault_node-share-cut() {
    fault_mark start "$LAB_VICTIM <-> share cut"
    nft_rule "$LAB_VICTIM" out ip daddr "$SRV_IP" drop
    nft_rule "$LAB_VICTIM" in ip saddr "$SRV_IP" drop
    sleep "$LAB_CUT"
    nft_clear "$LAB_VICTIM"
    fault_mark end "$LAB_VICTIM <-> share restored"
}

fault_node-amb-cut() {
    fault_mark start "$LAB_VICTIM <-> ambassador cut"
    nft_rule "$LAB_VICTIM" out ip daddr "$AMB_IP" drop
    nft_rule "$LAB_VICTIM" in ip saddr "$AMB_IP" drop
    sleep "$LAB_CUT"
    nft_clear "$LAB_VICTIM"
    fault_mark end "$LAB_VICTIM <-> ambassador restored"
}

# Before the ambassador starts; lasts the whole run.
fault_loss() {
    for h in srv amb $(lab_nodes); do
        nft_rule "$h" out oifname eth0 numgen random mod 100 \< "$LAB_LOSS" drop
    done
    fault_mark start "${LAB_LOSS} % loss on every host's eth0"
}

fault_share-down() {
    fault_mark start "share host down"
    cable srv down
    sshd_stop
    sleep "$LAB_SHARE_DOWN"
    cable srv up
    sshd_start
    fault_mark end "share host up"
}

fault_node-unmount() {
    fault_mark start "share of $LAB_VICTIM unmounted"
    share_unmount "$LAB_VICTIM"
}

fault_amb-kill() {
    n=$(cat "$RD/amb.cur")
    p=$(amb_pid)
    [ -n "$p" ] || return 0
    fault_mark start "ambassador SIGKILLed"
    kill -9 "$p"
    while [ ! -s "$RD/amb-$n.rc" ]; do sleep 0.05; done
    sleep 1
    amb_start $((n + 1))
    fault_mark end "ambassador restarted"
}

# faketime moves the process's monotonic clock by the same constant, which
# it cannot see; --exclude-monotonic would keep it, but then libfaketime's
# timed waits go wrong (the node's probe watchdog fires at once).
fault_node-clock-step() {
    p=$(node_pid "$LAB_VICTIM")
    [ -n "$p" ] || return 0
    fault_mark start "$LAB_VICTIM SIGKILLed"
    kill -9 "$p"
    while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
    FAKE_CLOCK=$LAB_CLOCK_STEP node_start "$LAB_VICTIM"
    fault_mark end "$LAB_VICTIM restarted with its clock ${LAB_CLOCK_STEP}"
}
