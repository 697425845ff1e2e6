#!/usr/bin/env bash
# Recaptures dnsmasq-{discover-udhcpc,offer,ack}.hex and dnsmasq-offer.frame.hex: dnsmasq in one
# namespace, busybox udhcpc (-B: broadcast flag) in another, tcpdump on the client's veth.
# Root, dnsmasq, busybox and tcpdump needed. The other fixtures come from DHCPNamespaceTests run
# with CLUMP_CAPTURE_DIR=<dir> (see annotate.py for the names used). xids and IP ids change with
# every capture; the tests pin the values of the committed one.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; ip netns del capS 2>/dev/null || true; ip netns del capC 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add capS; ip netns add capC
ip link add capvs netns capS type veth peer name capvc netns capC address 52:54:00:12:34:56
ip -n capS addr add 10.77.0.1/24 dev capvs; ip -n capS link set capvs up; ip -n capC link set capvc up
ip netns exec capS dnsmasq --no-daemon --conf-file=/dev/null --interface=capvs --bind-interfaces --port=0 \
  --dhcp-range=10.77.0.50,10.77.0.150,255.255.255.0,1h --dhcp-leasefile="$tmp/leases" --pid-file="$tmp/pid" \
  --dhcp-option=3,10.77.0.1 --dhcp-option=6,10.77.0.1 --domain=cluster.lan --dhcp-host=52:54:00:12:34:56,drone7,10.77.0.7 \
  --dhcp-boot=pxelinux.0,,10.77.0.1 --dhcp-option-force=17,/srv/nfsroot/drone7 --log-dhcp >"$tmp/dnsmasq.log" 2>&1 &
ip netns exec capC tcpdump -i capvc -w "$tmp/cap.pcap" -U udp port 67 or udp port 68 >/dev/null 2>&1 &
sleep 1
ip netns exec capC timeout 10 busybox udhcpc -i capvc -f -q -n -B -s /bin/true
sleep 1
kill %2; wait %2 2>/dev/null || true
python3 annotate.py "$tmp/cap.pcap" dnsmasq-discover-udhcpc.hex dnsmasq-offer.hex - dnsmasq-ack.hex
python3 annotate.py "$tmp/cap.pcap" - dnsmasq-offer.frame.hex
