# The lab in a box, short (tests/lab/lab.sh short; `make lab` runs the
# whole campaign): the share served over SFTP from a namespace of its own,
# the ambassador and three nodes in theirs, each mounting it with sshfs; a
# baseline job, then one with a node's cable pulled past the reclaim time,
# then one with a node's share silently unmounted. Each must end with a
# verified video, no set counted twice and no reclaim from a healthy node.
# Needs root, FUSE, network namespaces and `sh scripts/deps.sh lab`;
# skips (77) with the reason otherwise. About a minute.
# The sanitizer builds skip it (CI time: the plain build runs it, and CI
# runs the medium profile on the plain build too).
case "${BUILD:-build}" in
*asan* | *tsan*)
    echo "SKIP: the lab runs on the plain build (CI time); this is ${BUILD}"
    exit 77
    ;;
esac
exec bash "$(dirname "$0")/../lab/lab.sh" short
