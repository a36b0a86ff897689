# shellcheck shell=sh
# Every deployment script (nfs-setup/) and every test of it passes
# the shellcheck linter, as POSIX sh, following what each sources.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v shellcheck >/dev/null 2>&1 ||
    skip "shellcheck is not installed (sh scripts/deps.sh deploy installs it)"
cd "$top"
files="nfs-setup/*.sh nfs-setup/*.sbatch tests/integration/t_deploy_*.sh tests/integration/t_check_share*.sh"
n=0
# shellcheck disable=SC2086 # globs
for f in $files; do
    [ -f "$f" ] || fail "no file matches $f"
    shellcheck -s sh -x -P SCRIPTDIR "$f" >"$T/sc.out" 2>&1 || {
        cat "$T/sc.out"; fail "shellcheck: $f"; }
    n=$((n + 1))
done
echo "shellcheck: $n scripts clean"
