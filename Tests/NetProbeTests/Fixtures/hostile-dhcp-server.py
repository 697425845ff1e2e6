#!/usr/bin/env python3
"""A scripted broken or hostile DHCP server for the namespace tests (standard library only).

It answers every DISCOVER with an OFFER of POOL and every REQUEST according to --mode, and logs
each message it receives from a client, one line each: "<monotonic seconds> <type> <xid>", so the
test can count what the client sent and when. The first line is "ready".

Modes:
  lease0     OFFER and ACK with a lease time of 0
  leaseinf   lease time 0xFFFFFFFF (infinite)
  offsubnet  router 10.99.99.1, off the leased /24
  nomask     no subnet mask option at all
  nak        a DHCPNAK for every REQUEST
  otheraddr  ACK for POOL+1, not the address offered
  tzero      lease 120 s with T1 = 0 and T2 = 0
"""
import argparse
import ipaddress
import socket
import struct
import time

DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
NAMES = {1: "DISCOVER", 3: "REQUEST", 4: "DECLINE", 7: "RELEASE", 8: "INFORM"}
COOKIE = bytes([99, 130, 83, 99])


def options_of(payload):
    """Code -> bytes from the options field (no overload: our client never sends it)."""
    found, i = {}, 240
    while i < len(payload):
        code = payload[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(payload):
            break
        length = payload[i + 1]
        found[code] = payload[i + 2:i + 2 + length]
        i += 2 + length
    return found


def option(code, data):
    return bytes([code, len(data)]) + data


def reply(request, kind, yiaddr, server, mode):
    xid, flags, chaddr = request[4:8], request[10:12], request[28:44]
    header = bytes([2, 1, 6, 0]) + xid + b"\0\0" + flags + b"\0" * 4
    header += (yiaddr.packed if kind != NAK else b"\0" * 4) + b"\0" * 8 + chaddr + b"\0" * 192
    opts = option(53, bytes([kind])) + option(54, server.packed)
    if kind != NAK:
        lease = {"lease0": 0, "leaseinf": 0xFFFFFFFF, "tzero": 120}.get(mode, 3600)
        opts += option(51, struct.pack("!I", lease))
        if mode != "nomask":
            opts += option(1, bytes([255, 255, 255, 0]))
        router = ipaddress.IPv4Address("10.99.99.1") if mode == "offsubnet" else server
        opts += option(3, router.packed)
        if mode == "tzero":
            opts += option(58, struct.pack("!I", 0)) + option(59, struct.pack("!I", 0))
    packet = header + COOKIE + opts + bytes([255])
    return packet + b"\0" * max(0, 300 - len(packet))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = ipaddress.IPv4Address(args.server)
    pool = ipaddress.IPv4Address(args.pool)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.interface.encode())
    sock.bind(("", 67))
    with open(args.log, "w", buffering=1) as log:
        log.write("ready\n")
        while True:
            payload, _ = sock.recvfrom(4096)
            if len(payload) < 240 or payload[0] != 1 or payload[236:240] != COOKIE:
                continue
            kind = options_of(payload).get(53, b"\0")[0]
            log.write("%.3f %s %s\n" % (time.monotonic(), NAMES.get(kind, str(kind)), payload[4:8].hex()))
            if kind == DISCOVER:
                answer = reply(payload, OFFER, pool, server, args.mode)
            elif kind == REQUEST:
                if args.mode == "nak":
                    answer = reply(payload, NAK, pool, server, args.mode)
                else:
                    address = pool + 1 if args.mode == "otheraddr" else pool
                    answer = reply(payload, ACK, address, server, args.mode)
            else:
                continue
            sock.sendto(answer, ("255.255.255.255", 68))


if __name__ == "__main__":
    main()
