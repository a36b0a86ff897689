# Every program and every `framefarm` command says all its flags in its
# --help, and every program answers --version (issue 9, what the user
# sees). The flags are read from the programs' own getopt tables in the
# sources (`{"name", ...}` up to the table's `{NULL, 0, NULL, 0}`), so a
# flag added to a table and not to its help fails here.
. "$(dirname "$0")/lib.sh"

# The long option names of the first table after the first line of FILE
# matching START.
flags() { # file start-regex
    awk -v start="$2" '
        !on && $0 ~ start { on = 1 }
        on && /\{NULL, 0, NULL, 0\}/ { exit }
        on && match($0, /\{"[a-z0-9-]+",/) {
            print substr($0, RSTART + 2, RLENGTH - 4)
        }' "$top/$1"
}

# Each --NAME of the table (but --help, which printed it) in the help.
check_help() { # what file start-regex command...
    what=$1 file=$2 start=$3
    shift 3
    names=$(flags "$file" "$start")
    [ "$(echo "$names" | wc -w)" -ge 2 ] ||
        fail "$what: no option table found in $file after /$start/"
    "$@" --help >"$T/help.out" 2>"$T/help.err" ||
        fail "$what --help exit $?: $(cat "$T/help.err")"
    missing=""
    for n in $names; do
        [ "$n" = help ] && continue
        grep -q -- "--$n\([^a-z0-9-]\|$\)" "$T/help.out" || missing="$missing --$n"
    done
    [ -z "$missing" ] || {
        cat "$T/help.out"
        fail "$what --help does not say:$missing"
    }
    echo "$what --help: all $(echo "$names" | wc -w) flags"
}

check_help framefarm-coordinator coordinator/main.c 'long_opts\[\] = \{' \
    "$BIN/framefarm-coordinator"
check_help framefarm-node gpu-node/main.c 'long_opts\[\] = \{' \
    "$BIN/framefarm-node"
check_help "framefarm render" cli/render.c '^render_parse' "$BIN/framefarm" render
check_help "framefarm sample" cli/media_cmds.c '^cli_sample' "$BIN/framefarm" sample
check_help "framefarm verify" cli/media_cmds.c '^cli_verify' "$BIN/framefarm" verify
check_help "framefarm bench" cli/bench.c '^bench_parse' "$BIN/framefarm" bench
check_help "framefarm submit" cli/ctl.c 'submit_opts\[\] = \{' "$BIN/framefarm" submit
check_help "framefarm check-share" cli/checkshare.c '^cli_check_share' "$BIN/framefarm" check-share
check_help "framefarm status" cli/ctl.c '^ctl_simple_args' "$BIN/framefarm" status
for c in cancel wait; do
    check_help "framefarm $c" cli/ctl.c 'ctl_common_opts\[\] = \{' "$BIN/framefarm" "$c"
done

# The coordinator says how it runs without a job.
"$BIN/framefarm-coordinator" --help >"$T/help.out"
grep -q 'Without --input and --output it runs as a service' "$T/help.out" &&
    grep -q 'framefarm submit' "$T/help.out" ||
    fail "framefarm-coordinator --help does not say it runs as a service without --input/--output"

# --version: the one version of common/version.h, the commit, the FFmpeg.
v=$(sed -n 's/^#define FF_VERSION "\(.*\)"$/\1/p' "$top/common/version.h")
[ -n "$v" ] || fail "no FF_VERSION in common/version.h"
check_version() { # program-name command...
    name=$1
    shift
    out=$("$@" --version) || fail "$* --version: exit $?"
    echo "$out" | grep -qE "^$name $v \(git ([0-9a-f]{4,}|unknown)\), FFmpeg [^ ]+ \(libavcodec [0-9]+\.[0-9]+\.[0-9]+\)$" ||
        fail "$* --version said \"$out\""
    echo "$*: $out"
}
check_version framefarm "$BIN/framefarm"
check_version framefarm "$BIN/framefarm" status
check_version framefarm "$BIN/framefarm" render
check_version framefarm-coordinator "$BIN/framefarm-coordinator"
check_version framefarm-node "$BIN/framefarm-node"
check_version framefarm-node "$RELEASE_BIN/framefarm-node"
echo "ok"
