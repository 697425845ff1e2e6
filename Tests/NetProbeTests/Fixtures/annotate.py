#!/usr/bin/env python3
"""Turns the packets of a pcap (Ethernet) into annotated hex fixtures: one field per line,
`hex  # comment`. Usage: annotate.py capture.pcap NAME... (one name per packet; '-' skips).
A NAME ending in .frame.hex keeps the whole Ethernet frame; .hex keeps the DHCP payload."""
import struct, sys

OPTION_NAMES = {1: "subnet mask", 3: "router", 6: "DNS", 12: "host name", 15: "domain name",
    17: "root path", 28: "broadcast", 50: "requested IP", 51: "lease time", 52: "overload",
    53: "message type", 54: "server id", 56: "message", 55: "parameter request list", 57: "max message size",
    58: "T1 renewal", 59: "T2 rebinding", 60: "vendor class", 61: "client id", 66: "TFTP server",
    67: "bootfile", 80: "rapid commit"}
TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE"}

def hx(b): return " ".join("%02x" % x for x in b)

def ip(b): return ".".join(str(x) for x in b)

def text(b): return b.rstrip(b"\0").decode("ascii", "replace")

def dhcp(p, out):
    f = [(1, "op (1 request, 2 reply)"), (1, "htype: Ethernet"), (1, "hlen"), (1, "hops"), (4, "xid"),
         (2, "secs"), (2, "flags (0x8000 broadcast)"), (4, "ciaddr"), (4, "yiaddr"), (4, "siaddr (next server)"),
         (4, "giaddr")]
    o = 0
    for n, name in f:
        v = p[o:o + n]
        extra = " = " + ip(v) if n == 4 and name != "xid" else ""
        out.append("%-48s # %s%s" % (hx(v), name, extra)); o += n
    out.append("%-48s # chaddr (6 used)" % hx(p[o:o + 16])); o += 16
    for size, name in ((64, "sname"), (128, "file")):
        field = p[o:o + size]
        used = len(field.rstrip(b"\0"))
        label = '"%s"' % text(field) if used else "empty"
        for i in range(0, size, 16):
            out.append("%-48s # %s%s" % (hx(field[i:i + 16]), name, (": " + label) if i == 0 else ""))
        o += size
    out.append("%-48s # magic cookie 99.130.83.99" % hx(p[o:o + 4])); o += 4
    while o < len(p):
        c = p[o]
        if c == 0:
            n = len(p) - o
            if all(x == 0 for x in p[o:]):
                for i in range(o, len(p), 16):
                    out.append("%-48s # padding" % hx(p[i:min(i + 16, len(p))]))
                break
            out.append("%-48s # pad" % "00"); o += 1; continue
        if c == 255:
            out.append("%-48s # end" % "ff"); o += 1; continue
        l = p[o + 1]; v = p[o + 2:o + 2 + l]
        desc = OPTION_NAMES.get(c, "option")
        if c == 53: desc += ": " + TYPES.get(v[0], "?")
        elif c in (1, 3, 6, 28, 50, 54) and l % 4 == 0: desc += ": " + ", ".join(ip(v[i:i + 4]) for i in range(0, l, 4))
        elif c in (51, 58, 59) and l == 4: desc += ": %d s" % struct.unpack(">I", v)[0]
        elif c in (12, 15, 17, 56, 66, 67): desc += ': "%s"' % text(v)
        elif c == 57: desc += ": %d" % struct.unpack(">H", v)[0]
        out.append("%-48s # option %d, length %d, %s" % (hx(p[o:o + 2 + l]), c, l, desc))
        o += 2 + l

def frame(fr, out):
    out.append("%-48s # Ethernet destination" % hx(fr[0:6]))
    out.append("%-48s # Ethernet source" % hx(fr[6:12]))
    out.append("%-48s # EtherType IPv4" % hx(fr[12:14]))
    ipf = [(1, "version 4, IHL 5"), (1, "TOS"), (2, "total length"), (2, "identification"), (2, "flags, fragment offset"),
           (1, "TTL"), (1, "protocol UDP"), (2, "header checksum"), (4, "source"), (4, "destination")]
    o = 14
    for n, name in ipf:
        v = fr[o:o + n]
        out.append("%-48s # IPv4 %s%s" % (hx(v), name, (" = " + ip(v)) if n == 4 else "")); o += n
    for n, name in ((2, "source port"), (2, "destination port"), (2, "length"), (2, "checksum (as captured)")):
        out.append("%-48s # UDP %s" % (hx(fr[o:o + n]), name)); o += n
    dhcp(fr[o:], out)

def packets(path):
    data = open(path, "rb").read()
    o = 24
    while o + 16 <= len(data):
        incl = struct.unpack("<I", data[o + 8:o + 12])[0]
        yield data[o + 16:o + 16 + incl]
        o += 16 + incl

if __name__ == "__main__":
    names = sys.argv[2:]
    for name, fr in zip(names, packets(sys.argv[1])):
        if name == "-": continue
        out = ["# %s: captured with tcpdump from dnsmasq on a veth pair (capture.sh), annotated by annotate.py" % name]
        if name.endswith(".frame.hex"): frame(fr, out)
        else:
            ihl = (fr[14] & 15) * 4
            dhcp(fr[14 + ihl + 8:], out)
        open(name, "w").write("\n".join(out) + "\n")
