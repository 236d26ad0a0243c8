# subunit.awk — reduce smbtorture's subunit v1 output (--format=subunit --fullname) to one
# line per subtest:  NAME <TAB> STATUS <TAB> REASON
# STATUS is pass, fail, error, skip, or hung (a "test:" with no result: the run was killed).
# REASON is the first line of the result's detail block, if any.
# Lines that are not subunit (smbtorture's own chatter, "time:", "progress:") are ignored,
# and so is everything inside a "[ ... ]" detail block, whatever it starts with.
function flush_reason() { if (cur != "") { reason[cur] = r; cur = "" } }
BEGIN { n = 0; indet = 0; cur = "" }
indet {
    if ($0 ~ /^\][ \t]*$/ || $0 ~ /^\]/) { indet = 0; flush_reason(); next }
    if (r == "" && $0 !~ /^[ \t]*$/) { r = $0; gsub(/\t/, " ", r) }
    next
}
# A name runs from after "KEYWORD: " to the end of the line or to a " [" that opens a
# detail block: names may hold spaces (smb2.ioctl."copy-chunk streams").
function name_of(line) {
    line = substr(line, index(line, ": ") + 2)
    sub(/[ \t]*\[[ \t]*(multipart)?[ \t]*$/, "", line)
    sub(/[ \t]+$/, "", line)
    return line
}
/^(test|testing): / {
    name = name_of($0)
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    next
}
/^(success|successful|failure|fail|error|skip|xfail|uxsuccess): / {
    st = $1; sub(/:$/, "", st); name = name_of($0)
    if (st == "success" || st == "successful" || st == "uxsuccess") st = "pass"
    else if (st == "failure" || st == "fail" || st == "xfail") st = "fail"
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    res[name] = st
    if ($0 ~ /\[[ \t]*(multipart)?[ \t]*$/) { indet = 1; cur = name; r = "" }
    next
}
END {
    if (indet) flush_reason()
    for (i = 1; i <= n; i++) {
        nm = order[i]
        printf "%s\t%s\t%s\n", nm, (nm in res) ? res[nm] : "hung", (nm in reason) ? reason[nm] : ""
    }
}
