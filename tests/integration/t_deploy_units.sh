# shellcheck shell=sh
# The systemd units pass `systemd-analyze verify` (no warning either):
# framefarm-coordinator.service and an instance of framefarm-node@.service.
# verify wants the commands to exist, so ExecStart is pointed at this
# build's binaries (/usr/local/bin/ -> $BUILD/bin/); nothing else changes.
# Also: both run as the unprivileged framefarm user, wait for the share
# (RequiresMountsFor=, After=remote-fs.target), restart, and take their
# settings from /etc/framefarm/*.conf, whose examples set every variable
# the units use.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null 2>&1 ||
    skip "systemd-analyze is not installed (sh scripts/deps.sh deploy installs systemd)"
units=$top/nfs-setup/systemd
[ -x "$RELEASE_BIN/framefarm-node" ] || fail "build first: no $RELEASE_BIN/framefarm-node"
mkdir -p "$T/units"
sed "s|/usr/local/bin/|$RELEASE_BIN/|" "$units/framefarm-coordinator.service" \
    >"$T/units/framefarm-coordinator.service"
sed "s|/usr/local/bin/|$RELEASE_BIN/|" "$units/framefarm-node@.service" \
    >"$T/units/framefarm-node@lab-n1.service"
systemd-analyze verify --man=no "$T/units/framefarm-coordinator.service" \
    "$T/units/framefarm-node@lab-n1.service" >"$T/verify.out" 2>&1 || {
    cat "$T/verify.out"; fail "systemd-analyze verify failed"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify warned"; }
echo "systemd-analyze verify: both units clean"

# Each unit: the user, the ordering, the restart policy, the settings.
for u in framefarm-coordinator.service framefarm-node@.service; do
    for want in '^User=framefarm$' '^Group=framefarm$' '^RequiresMountsFor=/' \
        '^After=.*remote-fs.target' '^Restart=' '^RestartPreventExitStatus=.*2' \
        '^EnvironmentFile=/etc/framefarm/' '^LoadCredential=secret:/etc/framefarm/secret$' \
        '^ExecStart=/usr/local/bin/framefarm-' '^NoNewPrivileges=yes$'; do
        grep -q "$want" "$units/$u" || fail "$u: no line /$want/"
    done
done
grep -q -- '--name %i' "$units/framefarm-node@.service" || fail "the node's name is not its instance"
# Every ${VAR} and $VAR a unit uses is set by its example settings.
check_vars() { # unit conf
    # shellcheck disable=SC2016 # a pattern for a literal $
    for v in $(grep '^ExecStart=' "$units/$1" | grep -o '\$[{]\?FRAMEFARM_[A-Z_]*' | tr -d '${' | sort -u); do
        grep -q "^$v=" "$units/$2" || fail "$1 uses $v; $2 does not set it"
    done
}
check_vars framefarm-coordinator.service coordinator.conf
check_vars framefarm-node@.service node.conf
echo "units: user framefarm, RequiresMountsFor, restart policy, settings: ok"
