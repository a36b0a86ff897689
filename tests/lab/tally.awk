# tests/lab/tally.awk - one run's figures from the ambassador's log (every
# ambassador of the run, in order). Variables: t0 (the fault's start,
# HH:MM:SS.mmm; or the ambassador's start for a run without a fault), t1
# (the fault's end, or empty: to the end), hit (the nodes the fault hit,
# space-separated; "all"; or "-"), expect (yes|no|n/a: a reclaim from a
# node it hit is legitimate).
# falses: a file that gets "node set epoch" for each false reclaim.
# Prints: assigned counted reclaimed rejected failed twice latency_ms false
# (latency -1: no legitimate reclaim; false "n/a" when every node was hit).

function ms(t, a) {
    split(t, a, /[:.]/)
    return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4]
}
# Milliseconds from the fault's start, across midnight.
function rel(t, d) {
    d = ms(t) - base
    if (d < -43200000) d += 86400000
    if (d >= 43200000) d -= 86400000
    return d
}
function word_after(s, w, i, n, f) {
    n = split(s, f, " ")
    for (i = 1; i < n; i++)
        if (f[i] == w) return f[i + 1]
    return ""
}

BEGIN {
    base = ms(t0)
    end_rel = (t1 == "" ? 1e15 : rel(t1))
    n = split(hit, h, " ")
    for (i = 1; i <= n; i++) victim[h[i]] = 1
    lat = -1
}
$1 !~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]+$/ { next }
/: assigned to node / {
    assigned++
    set = word_after($0, "set"); node = $NF
    holder[set] = node; when[set] = rel($1)
}
/: counted \(/ {
    counted++
    set = word_after($0, "set")
    if (++cnt[set] == 2) twice++
}
/: reclaimed from node / {
    reclaimed++
    set = word_after($0, "set"); node = word_after($0, "node")
    epoch = word_after($0, "epoch"); sub(/:$/, "", epoch)
    t = rel($1)
    legit = (expect == "yes" || expect == "n/a") && (("all" in victim) || (node in victim)) && \
        t >= 0 && (set in when) && when[set] <= end_rel
    if (legit) {
        if (lat < 0) lat = t
    } else {
        false_n++
        if (falses != "") print node, set, epoch > falses
    }
}
/rejected/ && !/: done; assigned / { rejected++ }
/: failed on node / { failed++ }
END {
    printf "%d %d %d %d %d %d %d %s\n", assigned, counted, reclaimed, rejected,
        failed, twice, lat, (expect == "n/a" ? "n/a" : false_n + 0)
}
