#!/usr/bin/env bash
# Our DHCP client vs ISC dhclient and busybox udhcpc, one veth pair, one dnsmasq, one run.
# Measures process start -> address and default route configured, median of N per client.
# Target: clumpnode dhcp no slower than dhclient.
# Usage: bench/dhcp.sh [runs]   (default 15). Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
clump_install_deps
clump_build >/dev/null
command -v dhclient >/dev/null || apt-get install -y -qq --no-install-recommends isc-dhcp-client >/dev/null
runs=${1:-15}
agent="$PWD/.build-agent/release/clumpnode"
busybox=/bin/busybox

tag="cb$$"
srv="$tag-s" cli="$tag-c"
work=$(mktemp -d /tmp/clump-dhcp-bench.XXXXXX)
cleanup() {
    [ -f "$work/dnsmasq.pid" ] && kill "$(cat "$work/dnsmasq.pid")" 2>/dev/null || true
    ip netns pids "$cli" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    ip netns del "$cli" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip link add srv0 netns "$srv" type veth peer name eth0 netns "$cli"
ip -n "$srv" addr add 192.168.77.1/24 dev srv0
ip -n "$srv" link set srv0 up
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
# No ping check: dnsmasq's probe of a fresh address would add the same seconds to every
# client and hide the difference being measured.
ip netns exec "$srv" dnsmasq --conf-file=/dev/null --keep-in-foreground --bind-interfaces --interface=srv0 \
    --except-interface=lo --port=0 --no-ping --dhcp-authoritative \
    --dhcp-range=192.168.77.10,192.168.77.200,255.255.255.0,1h --dhcp-option=option:router,192.168.77.1 \
    --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" --log-facility="$work/dnsmasq.log" &
sleep 0.5

# udhcpc and dhclient configure the interface through a script; these do what Debian's do.
cat >"$work/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        ;;
esac
exit 0
EOF
chmod +x "$work/udhcpc.script"

reset_client() {
    ip netns exec "$cli" pkill -f "dhclient.*eth0" 2>/dev/null || true
    ip -n "$cli" addr flush dev eth0
    ip -n "$cli" link set eth0 down
    rm -f "$work"/dhclient.*
}

now() { date +%s%N; }
# Runs "$@" in the client namespace; prints milliseconds until an address and a default
# route are both on eth0 (checked every 2 ms), then stops the client.
measure() {
    reset_client
    local t0 t1
    t0=$(now)
    ip netns exec "$cli" "$@" >"$work/client.log" 2>&1 &
    local pid=$!
    while :; do
        if ip -n "$cli" -4 -o addr show dev eth0 | grep -q inet && ip -n "$cli" route show default | grep -q eth0; then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null && ! ip netns exec "$cli" pgrep -f "dhclient.*eth0" >/dev/null; then
            wait "$pid" || { echo "client failed: $*" >&2; cat "$work/client.log" >&2; exit 1; }
            # exited cleanly: check once more below
            ip -n "$cli" -4 -o addr show dev eth0 | grep -q inet || { echo "no address from: $*" >&2; cat "$work/client.log" >&2; exit 1; }
            break
        fi
        sleep 0.002
    done
    t1=$(now)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A results
clients=(clumpnode dhclient udhcpc)
for _ in $(seq "$runs"); do
    # interleaved, so drift on a busy machine hits every client alike
    results[clumpnode]+="$(measure "$agent" dhcp eth0 --timeout 30) "
    results[dhclient]+="$(measure sh -c "ip link set eth0 up && exec dhclient -1 -d -pf $work/dhclient.pid -lf $work/dhclient.leases eth0") "
    results[udhcpc]+="$(measure sh -c "ip link set eth0 up && exec $busybox udhcpc -i eth0 -f -q -n -t 10 -T 1 -s $work/udhcpc.script") "
done

echo
echo "DHCP on a veth pair with dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), median of $runs runs"
printf '%-22s %12s %10s %10s\n' "client" "median (ms)" "min" "max"
for c in "${clients[@]}"; do
    vals=$(printf '%s\n' ${results[$c]})
    printf '%-22s %12s %10s %10s\n' "$c" "$(median <<<"$vals")" "$(sort -n <<<"$vals" | head -1)" "$(sort -n <<<"$vals" | tail -1)"
done
ours=$(printf '%s\n' ${results[clumpnode]} | median)
theirs=$(printf '%s\n' ${results[dhclient]} | median)
echo
echo "clumpnode / dhclient: $(echo "scale=2; $ours / $theirs" | bc)   (target <= 1.00)"
