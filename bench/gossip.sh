#!/usr/bin/env bash
# The announcements, simulated with the drones' own Membership code (bench/gossipbench):
# N nodes and one view on one LAN, a simulated clock, random loss. For each size it prints the
# average and maximum age of the information every node (and the view) holds about every other,
# how long until a booting node is known to 99 % of the nodes and to the view, how long until a
# dead node is marked down, false "down"s while every node is alive, and UDP payload bytes
# sent per node per second. Usage: bench/gossip.sh [sizes...] (default 254 1000).
# Bigger clusters get longer cycles (the byte budget is fixed), so the warm-up grows with N:
# 4096 nodes take about 10 minutes per row here; 65535 nodes need N^2 table entries
# (65535 tables of 65535: ~130 GB): run them where that fits.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product gossipbench >/dev/null
bin="$(swift build -c release --show-bin-path)/gossipbench"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(254 1000)
echo "| nodes | loss | avg age | max age | new -> 99 % | new -> view | dead -> 99 % down | dead -> view | false downs | bytes/node/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
    for loss in 0 5; do
        "$bin" "$n" "$loss" 20
    done
done
echo
echo "peers: gossimon (MOSIX) defaults ~7.7 s average / 39 s maximum age; Ganglia sends load every 20-90 s."
echo "targets at 256 nodes: average age <= 2 s, maximum <= 6 s, <= 1.5 KB/s per node."
