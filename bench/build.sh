#!/usr/bin/env bash
# clumpbuild build vs Debian's mkinitramfs (MODULES=netboot), same kernel, same run.
# Prints build time, initramfs size and unpacked RAM-disk size for both.
# Targets: time <= 1/5 and initramfs size <= 1/2 of mkinitramfs's; unpacked <= 16 MiB.
# Usage: bench/build.sh [runs]   (median of runs, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
clump_install_deps
clump_build >/dev/null
runs=${1:-3}
work=$(mktemp -d /tmp/clump-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kver=$(ls /lib/modules | sort -V | tail -1)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
unpacked() { # bytes of the regular files an initramfs unpacks to (unmkinitramfs reads both
    # kinds, including Debian's early microcode archive); directories and symlinks cost no
    # data, and hard links (Debian's busybox applets) are counted once
    local dir; dir=$(mktemp -d "$work/unpack.XXXXXX")
    unmkinitramfs "$1" "$dir" 2>/dev/null
    find "$dir" -type f -printf '%i %s\n' | sort -u -k1,1 | awk '{s += $2} END {printf "%d\n", s}'
    rm -rf "$dir"
}

# mkinitramfs with netboot modules, zstd, as Debian would build it for an NFS-root client.
conf="$work/mki"; mkdir -p "$conf"
cp -r /etc/initramfs-tools/. "$conf/"
sed -i -e 's/^MODULES=.*/MODULES=netboot/' -e 's/^COMPRESS=.*/COMPRESS=zstd/' "$conf/initramfs.conf"
mki_times=()
for _ in $(seq "$runs"); do
    t0=$(now); mkinitramfs -d "$conf" -o "$work/mki.img" "$kver" 2>/dev/null; t1=$(now)
    mki_times+=("$(echo "$t1 - $t0" | bc)")
done
mki_time=$(printf '%s\n' "${mki_times[@]}" | median)
mki_size=$(stat -c %s "$work/mki.img")
mki_unpacked=$(unpacked "$work/mki.img")

# clumpbuild: cold (empty module cache) once, then warm runs (cache kept, as on a master).
export CLUMP_CACHE="$work/cache" SOURCE_DATE_EPOCH=1700000000
cd "$work"
t0=$(now); "$OLDPWD/.build/release/clumpbuild" build --out "$work/out" >/dev/null; t1=$(now)
cold=$(echo "$t1 - $t0" | bc)
warm_times=()
for _ in $(seq "$runs"); do
    t0=$(now); "$OLDPWD/.build/release/clumpbuild" build --out "$work/out" >/dev/null; t1=$(now)
    warm_times+=("$(echo "$t1 - $t0" | bc)")
done
cd "$OLDPWD"
warm=$(printf '%s\n' "${warm_times[@]}" | median)
ours_size=$(stat -c %s "$work/out/tftpboot/initrd.img")
ours_unpacked=$(unpacked "$work/out/tftpboot/initrd.img")

mib() { echo "scale=1; $1 / 1048576" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
echo
echo "kernel $kver, median of $runs runs"
printf '%-34s %12s %12s %14s\n' "" "build (s)" "initramfs" "unpacked"
printf '%-34s %12.2f %9s MiB %11s MiB\n' "mkinitramfs MODULES=netboot zstd" "$mki_time" "$(mib "$mki_size")" "$(mib "$mki_unpacked")"
printf '%-34s %12.2f %9s MiB %11s MiB\n' "clumpbuild build (cold cache)" "$cold" "$(mib "$ours_size")" "$(mib "$ours_unpacked")"
printf '%-34s %12.2f %9s MiB %11s MiB\n' "clumpbuild build (warm cache)" "$warm" "$(mib "$ours_size")" "$(mib "$ours_unpacked")"
echo
echo "time, warm / mkinitramfs:  $(ratio "$warm" "$mki_time")   (target <= 0.20)"
echo "time, cold / mkinitramfs:  $(ratio "$cold" "$mki_time")"
echo "size / mkinitramfs:        $(ratio "$ours_size" "$mki_size")   (target <= 0.50)"
echo "unpacked RAM disk:         $(mib "$ours_unpacked") MiB   (target <= 16 MiB; ours ships every ethernet driver, mkinitramfs netboot a subset)"
