#!/usr/bin/env bash
# The test command: every test, as the current user and, when run as root, a second time as an
# unprivileged user (the runtime must behave the same for both).
set -euo pipefail
cd "$(dirname "$0")/.."

# The sandbox tests must run here: a kernel that cannot run them fails the suite, never skips it.
export LUACELL_SANDBOX_MUST_WORK=1

echo "== cargo test (as $(id -un))"
cargo test --locked

if [ "$(id -u)" -ne 0 ]; then
    exit 0
fi

user=luacell-test
if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
fi

# Stage the test executables, the luacell binary and the Lua cases where the user can read them.
stage=$(mktemp -d /tmp/luacell-unpriv.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
cargo test --locked --no-run --message-format=json 2>/dev/null \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])
' > "$stage/tests.list"
while read -r exe; do cp "$exe" "$stage/bin/"; done < "$stage/tests.list"
cp target/debug/luacell "$stage/luacell"
# The escape probe belongs to the test user (so writing its own running binary meets ETXTBSY, as
# it does for root), and a setuid copy owned by nobody shows what exec would grant outside.
cp target/debug/luacell-probe "$stage/luacell-probe"
chown "$user" "$stage/luacell-probe"
mkdir -p "$stage/suid"
cp target/debug/luacell-probe "$stage/suid/probe-suid"
chown 65534:65534 "$stage/suid/probe-suid"
cp -r tests/lua "$stage/lua"
cp -r examples "$stage/examples"
chmod -R a+rX "$stage"
chmod 4755 "$stage/suid/probe-suid"

echo "== test executables (as $user)"
count=0
for exe in "$stage"/bin/*; do
    (cd "$stage" && runuser -u "$user" -- env LUACELL_BIN="$stage/luacell" LUACELL_CASES_DIR="$stage/lua" LUACELL_EXAMPLES_DIR="$stage/examples" \
        LUACELL_PROBE_BIN="$stage/luacell-probe" LUACELL_SETUID_FIXTURE="$stage/suid/probe-suid" \
        LUACELL_SANDBOX_MUST_WORK=1 "$exe")
    count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
    echo "no test executable ran as $user" >&2
    exit 1
fi
