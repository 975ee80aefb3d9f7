#!/bin/sh
# Runs every test: the check of the house (check_floors.py: no #include climbs a floor, no source
# file over 800 lines), each unit test binary (cmocka, TAP output) and the integration suite
# against the real binary. Prints each result and ends with the closing line "N passed, N failed".
# Env: PORTICO (the binary), BUILD (the build folder with tests/), PYTHON.
set -u
: "${PORTICO:?}" "${BUILD:?}" "${PYTHON:=/usr/bin/python3}"
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if "$PYTHON" tests/check_floors.py; then
    echo "floors: 1 passed, 0 failed"
    passed=1
else
    echo "FAIL floors: an #include climbs a floor or a file outgrew the house (DESIGN.md)"
    failed=1
fi

for t in "$BUILD"/tests/test_*; do
    case "$t" in *.d|*.o) continue ;; esac
    [ -x "$t" ] || continue
    name=$(basename "$t")
    CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or aborted outside a test
        echo "FAIL $name: exited with status $rc"
    fi
    grep -E '^(not ok|#)' "$out" | sed "s/^/$name: /"
    echo "unit $name: $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
done

if [ -f tests/integration/run.py ]; then
    PORTICO="$PORTICO" BUILD="$BUILD" "$PYTHON" tests/integration/run.py 2>&1 | tee "$out"
    last=$(tail -n 1 "$out")
    p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "FAIL integration: no closing line"
        p=0
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
