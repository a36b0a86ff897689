# shellcheck shell=sh disable=SC2034 # sourced: the scripts read these variables
# Shared by server.sh and client.sh (sourced, POSIX sh): the plan/apply
# machinery that makes both idempotent and gives them --dry-run and --root.
#   DRY=1   print every change, make none
#   ROOT=D  write files under D instead of /, run no command (images, tests)
# A file is written only when its content differs, a user made only when
# missing, so running a script twice changes nothing the second time.

DRY=${DRY:-0}
ROOT=${ROOT:-}
CHANGED=0
LAST_CHANGED=0
HERE=$(cd "$(dirname "$0")" && pwd)
FF_UID=${FF_UID:-7700}
FF_GID=${FF_GID:-7700}

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 2; }

# Runs a command that changes the system (printed; skipped when dry or
# under --root).
run() {
    if [ "$DRY" = 1 ] || [ -n "$ROOT" ]; then
        printf '  would run: %s\n' "$*"
        return 0
    fi
    printf '  + %s\n' "$*"
    "$@"
}

# put_file PATH MODE [OWNER]: PATH gets stdin's content when it differs
# (then LAST_CHANGED=1).
put_file() {
    _dst=$ROOT$1
    _new=$(mktemp)
    cat >"$_new"
    LAST_CHANGED=0
    if [ -f "$_dst" ] && cmp -s "$_new" "$_dst"; then
        say "unchanged: $1"
        rm -f "$_new"
        return 0
    fi
    CHANGED=1 LAST_CHANGED=1
    if [ "$DRY" = 1 ]; then
        say "would write $1 (mode $2):"
        sed 's/^/  | /' "$_new"
        rm -f "$_new"
        return 0
    fi
    mkdir -p "$(dirname "$_dst")"
    chmod "$2" "$_new"
    if [ -n "${3:-}" ] && [ -z "$ROOT" ]; then chown "$3" "$_new"; fi
    mv -f "$_new" "$_dst"
    say "wrote $1"
}

# A directory with an owner and a mode.
put_dir() { # path mode owner
    if [ -d "$ROOT$1" ] && { [ -n "$ROOT" ] ||
        [ "$(stat -c '%U:%G %a' "$1")" = "$3 ${2#0}" ]; }; then
        say "unchanged: $1/"
        return 0
    fi
    CHANGED=1
    if [ "$DRY" = 1 ]; then
        say "would make $1/ (owner $3, mode $2)"
        return 0
    fi
    mkdir -p "$ROOT$1"
    chmod "$2" "$ROOT$1"
    [ -n "$ROOT" ] || chown "$3" "$1"
    say "made $1/ (owner $3, mode $2)"
}

# Installs Debian packages that are missing.
need_packages() {
    if [ -n "$ROOT" ]; then
        say "--root: packages are not handled (the image needs:$(printf ' %s' "$@"))"
        return 0
    fi
    _missing=""
    for _p in "$@"; do
        dpkg-query -W -f='${Status}' "$_p" 2>/dev/null |
            grep -q 'install ok installed' || _missing="$_missing $_p"
    done
    if [ -z "$_missing" ]; then
        say "installed already:$(printf ' %s' "$@")"
        return 0
    fi
    CHANGED=1
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -qq
    # shellcheck disable=SC2086 # a list of package names
    run apt-get install -y -qq --no-install-recommends $_missing
}

# The framefarm user and group, with the same ids on every machine of the
# lab: files on the share then have one owner whatever machine wrote them.
ensure_user() {
    if [ -n "$ROOT" ]; then
        say "--root: users are not handled (the image needs framefarm, $FF_UID:$FF_GID)"
        return 0
    fi
    _g=$(getent group framefarm | cut -d: -f3)
    _u=$(getent passwd framefarm | cut -d: -f3)
    if [ -n "$_g" ] && [ "$_g" != "$FF_GID" ]; then
        die "group framefarm exists with gid $_g, not $FF_GID: pass --gid $_g (on every machine) or change it"
    fi
    if [ -n "$_u" ] && [ "$_u" != "$FF_UID" ]; then
        die "user framefarm exists with uid $_u, not $FF_UID: pass --uid $_u (on every machine) or change it"
    fi
    if [ -z "$_g" ]; then
        if getent group "$FF_GID" >/dev/null; then
            die "gid $FF_GID belongs to group $(getent group "$FF_GID" | cut -d: -f1): pick another with --gid (the same on every machine)"
        fi
        CHANGED=1
        run groupadd --system --gid "$FF_GID" framefarm
    fi
    if [ -z "$_u" ]; then
        if getent passwd "$FF_UID" >/dev/null; then
            die "uid $FF_UID belongs to user $(getent passwd "$FF_UID" | cut -d: -f1): pick another with --uid (the same on every machine)"
        fi
        CHANGED=1
        run useradd --system --uid "$FF_UID" --gid "$FF_GID" \
            --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin --comment "framefarm services" framefarm
    fi
    [ -n "$_g" ] && [ -n "$_u" ] && say "user framefarm: uid $FF_UID, gid $FF_GID"
    return 0
}

# install_unit UNIT SHARE DEFAULT CONF SED: the unit from
# nfs-setup/systemd/, a drop-in naming the share when it is not at the
# unit's DEFAULT path, and its settings /etc/framefarm/CONF made from the
# example with the sed script SED (kept once there: they are the admin's).
# RELOAD=1 when a unit file changed.
install_unit() {
    RELOAD=0
    put_file "/etc/systemd/system/$1" 0644 <"$HERE/systemd/$1"
    [ "$LAST_CHANGED" = 0 ] || RELOAD=1
    if [ "$2" != "$3" ]; then
        put_file "/etc/systemd/system/$1.d/share.conf" 0644 <<EOF
# Written by framefarm's nfs-setup/$PROG: the share is at $2.
[Unit]
RequiresMountsFor=$2
EOF
        [ "$LAST_CHANGED" = 0 ] || RELOAD=1
    fi
    if [ -f "$ROOT/etc/framefarm/$4" ]; then
        say "kept: /etc/framefarm/$4 (yours)"
    else
        sed "$5" "$HERE/systemd/$4" | put_file "/etc/framefarm/$4" 0644
    fi
}

# Is systemd the init here (a container or a chroot may have none)?
have_systemd() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

# Parses the flags both scripts share; sets SHIFT to how many it took.
common_flag() { # flag [value]
    SHIFT=1
    case $1 in
    --dry-run) DRY=1 ;;
    --root)
        [ $# -ge 2 ] || die "--root needs a directory"
        ROOT=${2%/}; SHIFT=2 ;;
    --uid)
        [ $# -ge 2 ] || die "--uid needs a number"
        FF_UID=$2; SHIFT=2 ;;
    --gid)
        [ $# -ge 2 ] || die "--gid needs a number"
        FF_GID=$2; SHIFT=2 ;;
    *) SHIFT=0 ;;
    esac
    case $FF_UID$FF_GID in *[!0-9]*) die "--uid and --gid are numbers" ;; esac
}

# Before any change: root unless only printing or writing under --root.
check_root() {
    if [ "$DRY" != 1 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
        die "run as root (or --dry-run to see what it would do)"
    fi
    [ "$DRY" = 1 ] && say "dry run: nothing is changed"
    return 0
}
