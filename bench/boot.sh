#!/usr/bin/env bash
# Boot to a configured network: our image vs Debian's initramfs, same kernel, same QEMU.
# QEMU TCG, one e1000 card on QEMU's user network (restrict=on), the kernel and initramfs
# booted directly (-kernel/-initrd: no boot loader in the measurement), serial console
# stamped line by line on the host.
#   ours:   "Run /init as init process" -> "clump: node ..."
#   Debian: "Run /init as init process" -> "IP-Config: eth0 complete" (mkinitramfs
#           MODULES=netboot, ip=dhcp: klibc ipconfig after udev loaded the driver)
# Target: ours <= 1/4 of Debian's. Median of N runs (default 3).
# Usage: bench/boot.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
clump_install_deps
clump_build >/dev/null
runs=${1:-3}
work=$(mktemp -d /tmp/clump-bench-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT
kver=$(ls /lib/modules | sort -V | tail -1)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One boot: prints seconds from the /init line to the first line matching $3.
boot() { # kernel initrd pattern append
    local log="$work/serial.$RANDOM"
    timeout 300 qemu-system-x86_64 -nographic -no-reboot -accel tcg -m 256 \
        -kernel "$1" -initrd "$2" -append "console=ttyS0,115200 $4" \
        -netdev user,id=net0,restrict=on -device e1000,netdev=net0 </dev/null 2>&1 \
        > >(while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log") &
    local qemu=$!
    local start="" end=""
    for _ in $(seq 3000); do
        start=$(grep -a -m1 'Run /init as init process' "$log" | cut -d' ' -f1 || true)
        end=$(grep -a -m1 -E "$3" "$log" | cut -d' ' -f1 || true)
        [ -n "$start" ] && [ -n "$end" ] && break
        sleep 0.1
    done
    kill "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
    if [ -z "$start" ] || [ -z "$end" ]; then
        echo "bench/boot.sh: /$3/ never appeared; serial log:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    echo "$end - $start" | bc
}

# Debian's initramfs for a network-booting client.
conf="$work/mki"; mkdir -p "$conf"
cp -r /etc/initramfs-tools/. "$conf/"
sed -i -e 's/^MODULES=.*/MODULES=netboot/' -e 's/^COMPRESS=.*/COMPRESS=zstd/' "$conf/initramfs.conf"
mkinitramfs -d "$conf" -o "$work/debian.img" "$kver" 2>/dev/null

SOURCE_DATE_EPOCH=1700000000 .build/release/clumpbuild build --out "$work/out" >/dev/null
tree="$work/out/tftpboot"

ours=(); debian=()
for _ in $(seq "$runs"); do
    ours+=("$(boot "$tree/vmlinuz" "$tree/initrd.img" 'clump: node ' 'clump.mode=auto')")
    debian+=("$(boot "/boot/vmlinuz-$kver" "$work/debian.img" 'IP-Config: eth0 complete' 'ip=dhcp')")
done
o=$(printf '%s\n' "${ours[@]}" | median)
d=$(printf '%s\n' "${debian[@]}" | median)
printf '\n%-28s %10s   %s\n' "boot (QEMU TCG, e1000)" "median s" "runs"
printf '%-28s %10.2f   %s\n' "clump: /init -> node line" "$o" "${ours[*]}"
printf '%-28s %10.2f   %s\n' "Debian: /init -> IP-Config" "$d" "${debian[*]}"
ratio=$(echo "scale=3; $o / $d" | bc)
printf 'ratio %s (target <= 0.25)\n' "$ratio"
