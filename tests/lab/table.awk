# tests/lab/table.awk - the lab's table: one markdown row per fault and
# mount from runs.tsv (one line per run, tab-separated: fault mount run
# assigned counted reclaimed rejected failed twice latency_ms false
# jobtime_s exits verified notes), in the order the rows were run.

function join(key, col, n, i, s, v, all_same) {
    all_same = 1
    for (i = 1; i <= n; i++)
        if (val[key, i, col] != val[key, 1, col]) all_same = 0
    if (all_same) return val[key, 1, col]
    s = val[key, 1, col]
    for (i = 2; i <= n; i++) s = s "/" val[key, i, col]
    return s
}
# Sorts a[1..n] (numbers) in place.
function sort_n(a, n, i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
}
function median(a, n) {
    if (n == 0) return ""
    sort_n(a, n)
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

{
    key = $1 SUBSEP $2
    if (!(key in runs)) order[++nkeys] = key
    i = ++runs[key]
    for (c = 4; c <= 15; c++) val[key, i, c] = $c
}
END {
    for (k = 1; k <= nkeys; k++) {
        key = order[k]; split(key, kf, SUBSEP)
        if (kf[1] != "baseline") continue
        n = runs[key]; delete a
        for (i = 1; i <= n; i++) a[i] = val[key, i, 12]
        base[kf[2]] = median(a, n)
    }
    for (k = 1; k <= nkeys; k++) {
        key = order[k]; split(key, kf, SUBSEP); n = runs[key]
        twice = 0; falses = 0; fna = 0; nl = 0; delete lat; delete jt
        ok = 0; verdicts = ""; notes = ""
        for (i = 1; i <= n; i++) {
            twice += val[key, i, 9]
            if (val[key, i, 11] == "n/a") fna = 1; else falses += val[key, i, 11]
            if (val[key, i, 10] >= 0) lat[++nl] = val[key, i, 10] / 1000
            jt[i] = val[key, i, 12]
            if (val[key, i, 14] == "yes") ok++
            else verdicts = verdicts (verdicts == "" ? "" : ", ") "run " i ": " val[key, i, 14]
            if (val[key, i, 15] != "") {
                nt = val[key, i, 15]
                notes = notes (notes == "" ? "" : "<br>") (n > 1 ? "run " i ": " : "") nt
            }
        }
        if (nl == 0) latency = "-"
        else {
            worst = 0
            for (i = 1; i <= nl; i++) if (lat[i] > worst) worst = lat[i]
            latency = sprintf("%.1f / %.1f", median(lat, nl), worst)
            if (nl < n) latency = latency " (" nl "/" n ")"
        }
        m = median(jt, n)
        if (kf[1] == "baseline" || base[kf[2]] == "") jtime = sprintf("%.1f", m)
        else jtime = sprintf("%.1f (%+.1f, x%.1f)", m, m - base[kf[2]],
            base[kf[2]] > 0 ? m / base[kf[2]] : 0)
        verified = (ok == n ? "yes" : ok "/" n " (" verdicts ")")
        if (n == 1 && ok == 0) verified = "**" val[key, 1, 14] "**"
        if (twice > 0) twice = "**" twice "**"
        fr = fna ? "n/a" : (falses > 0 ? "**" falses "**" : falses)
        printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
            kf[1], kf[2], n, join(key, 4, n), join(key, 5, n), join(key, 6, n),
            join(key, 7, n), join(key, 8, n), twice, latency, fr, jtime,
            join(key, 13, n), verified, notes
    }
}
