#!/usr/bin/env bash
# clumpbuild generate at 10, 1,000 and 10,000 nodes: time from nothing, bytes per node, and time and
# files written when one node is added. The peer row in the same run is the same generator made to
# rewrite everything (its manifest removed), which is what a sync that does not track changes does;
# Cobbler's published figure for `cobbler sync` (minutes to tens of minutes at about 1,200 systems)
# is printed under the table for scale.
# Targets: 10,000 nodes from nothing <= 2 s; adding one <= 50 ms with a constant number of files.
# Usage: bench/nodes.sh [runs]   (median of runs, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
clump_install_deps
clump_build >/dev/null
runs=${1:-3}
repo=$PWD
work=$(mktemp -d /tmp/clump-bench-nodes.XXXXXX)
trap 'rm -rf "$work"' EXIT
clumpbuild="$repo/.build/release/clumpbuild"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
# The time clumpbuild itself reports ("... in 0.123 s"), and the files it wrote.
reported() { sed -n 's/.* \([0-9]*\) files\{0,1\} written.* in \([0-9.]*\) s$/\2 \1/p'; }

# One image, built once: every size below shares it.
(cd "$work" && SOURCE_DATE_EPOCH=1700000000 "$clumpbuild" build --out "$work/image" >/dev/null)

inventory() { # N nodes, one card each, addresses derived; a second argument is a line of keys for each
    awk -v n="$1" -v keys="${2:-}" 'BEGIN { for (i = 0; i < n; i++) {
        printf "- mac: 52:54:00:%02x:%02x:%02x\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256
        if (keys != "") print "  " keys } }'
}

mixed() { # N nodes in every form the README shows, a quarter each: a plain item with a comment, a
    # flow mapping with a quoted MAC, an address, a name and kernel arguments, two cards (one with
    # dashes) with a boot key, and a flow mapping with a dash MAC and a quoted name
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) {
        m = sprintf("%02x:%02x:%02x", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
        d = m; gsub(":", "-", d)
        f = i % 4
        if (f == 0) printf "- mac: 52:54:00:%s                       # the address and name follow\n", m
        else if (f == 1) printf "- {mac: \"52:54:01:%s\", address: 10.0.%d.%d, name: r%d, kernel-args: [clump.debug=1]}\n", m, 100 + int(i / 256), i % 256, i
        else if (f == 2) printf "- mac: [52:54:02:%s, 52-54-03-%s]  # two cards, either may boot it\n  boot: drone\n", m, d
        else printf "- {mac: 52-54-04-%s, name: \"q%d\"}\n", d, i } }'
}

# One row (and with `peer`, the peer's row under it): generate N nodes from GENERATOR's inventory.
measure() { # LABEL GENERATOR N [peer]
    local label=$1 generator=$2 n=$3 peer=${4:-}
    local dir="$work/$generator$n" cold=() add=() full=() files="" out bytes
    mkdir -p "$dir/out"
    ln -s "$work/image/tftpboot" "$dir/out/tftpboot"
    printf 'cluster:\n  network: 10.0.0.0/16\n' >"$dir/clump.yaml"
    for run in $(seq "$runs"); do
        # From nothing: a new output directory each run (deleting the last one just before would
        # measure the file system's clean-up of 40,000 files as well).
        mkdir -p "$dir/fresh$run"
        ln -s "$work/image/tftpboot" "$dir/fresh$run/tftpboot"
        "$generator" "$n" >"$dir/nodes.yaml"
        t0=$(now); (cd "$dir" && "$clumpbuild" generate --out "$dir/fresh$run" >/dev/null); t1=$(now)
        cold+=("$(echo "$t1 - $t0" | bc)")
        rm -rf "$dir/out/master"
        (cd "$dir" && "$clumpbuild" generate >/dev/null)
        echo "- mac: 02:00:00:00:00:$(printf %02x "$run")" >>"$dir/nodes.yaml"
        t0=$(now); out=$(cd "$dir" && "$clumpbuild" generate); t1=$(now)
        add+=("$(echo "$t1 - $t0" | bc)")
        files=$(echo "$out" | reported | awk '{print $2}')
        if [ -n "$peer" ]; then
            # The peer: the same inventory, everything rewritten.
            rm -f "$dir/out/master/.generated"
            t0=$(now); (cd "$dir" && "$clumpbuild" generate >/dev/null); t1=$(now)
            full+=("$(echo "$t1 - $t0" | bc)")
        fi
    done
    # Generated configuration only: boot loaders and images are the same for every size.
    bytes=$(find "$dir/out/master" -type f ! -path '*/images/*' ! -name '*.0' ! -name '*.c32' ! -name '*.efi' \
        -printf '%s\n' | awk '{s += $1} END {print s}')
    printf '%-8s %-26s %10.3f s %12d %12.3f s %12s\n' "$n" "$label" \
        "$(printf '%s\n' "${cold[@]}" | median)" "$((bytes / n))" "$(printf '%s\n' "${add[@]}" | median)" "$files"
    if [ -n "$peer" ]; then
        printf '%-8s %-26s %10s   %12s %12.3f s %12s\n' "" "rewrite everything (peer)" "" "" \
            "$(printf '%s\n' "${full[@]}" | median)" "$(find "$dir/out/master" -type f ! -path '*/images/*' | wc -l)"
    fi
}

printf '\n%-8s %-26s %12s %12s %14s %12s\n' "nodes" "" "from nothing" "bytes/node" "add one node" "files"
for n in 10 1000 10000; do measure "clumpbuild generate" inventory "$n" peer; done
# The same sizes with the inventory in the README's forms (flow mappings, quoted and dash MACs,
# several cards, explicit addresses, kernel arguments): the targets hold for these too.
for n in 1000 10000; do measure "the README's mixed forms" mixed "$n"; done

# NFS-root nodes (HOWTO 10.2 copied the master's root per node: 300-500 MB each). Per node here: its
# tree (host name, hosts, fstab, network, cluster map, writable list) and its share of the exports and
# the ganesha configuration, which list every node. Target: <= 64 KB per node; adding one node to
# 10,000 writes a constant number of files.
printf '\n%-8s %-26s %12s %12s %14s %12s\n' "nodes" "" "from nothing" "bytes/node" "add one node" "files"
for n in 10 1000 10000; do
    dir="$work/nfs$n"
    mkdir -p "$dir/out"
    ln -s "$work/image/tftpboot" "$dir/out/tftpboot"
    printf 'cluster:\n  network: 10.0.0.0/16\nnfsroot:\n  root: /srv/clump/root\n' >"$dir/clump.yaml"
    inventory "$n" "boot: nfsroot" >"$dir/nodes.yaml"
    t0=$(now); (cd "$dir" && "$clumpbuild" generate >/dev/null); t1=$(now)
    cold=$(echo "$t1 - $t0" | bc)
    tree=$(find "$dir/out/master/nfsroot" "$dir/out/master/nfs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
    printf -- '- mac: 02:00:00:00:01:01\n  boot: nfsroot\n' >>"$dir/nodes.yaml"
    t0=$(now); out=$(cd "$dir" && "$clumpbuild" generate); t1=$(now)
    files=$(echo "$out" | reported | awk '{print $2}')
    printf '%-8s %-26s %10.3f s %12d %12.3f s %12s\n' "$n" "nfsroot: tree + exports" "$cold" "$((tree / n))" \
        "$(echo "$t1 - $t0" | bc)" "$files"
done
echo "HOWTO 10.2 for scale: a copy of the master's root per node, 300-500 MB (314,572,800-524,288,000 bytes) each."
echo
echo "Times are wall-clock, whole command (spec, inventory, render, write), median of $runs runs on $(nproc) cores."
echo "Published for scale: cobbler sync, minutes to tens of minutes at about 1,200 systems."
