#!/usr/bin/env bash
# subunit_test.sh — checks subunit.awk on recorded smbtorture output in testdata/: every
# FILE.subunit must reduce to FILE.want. Prints "N passed, N failed"; exits 1 on a mismatch.
set -uo pipefail
cd "$(dirname "$0")"
pass=0 fail=0
for in in testdata/*.subunit; do
    want=${in%.subunit}.want
    if diff -u "$want" <(awk -f subunit.awk "$in") >/tmp/subunit_test.$$ 2>&1; then
        pass=$((pass + 1))
    else
        echo "FAIL $in:"; cat /tmp/subunit_test.$$; fail=$((fail + 1))
    fi
done
rm -f /tmp/subunit_test.$$
echo "subunit.awk: $pass passed, $fail failed"
[ $fail = 0 ]
