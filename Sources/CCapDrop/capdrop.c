// Loaded into dnsmasq by `clumpbuild serve` (LD_PRELOAD): once dnsmasq has become its unprivileged
// user, every capset(2) it makes sets no capability at all.
//
// dnsmasq 2.90 keeps CAP_NET_ADMIN (and CAP_NET_RAW for its ping) after dropping root whenever it
// serves DHCP, and refuses to start without it in its permitted set (src/dnsmasq.c: need_cap_net_admin,
// "process is missing required capability"). It uses the capability only to put a client's
// address into the ARP cache before a unicast reply; the generated configuration has it broadcast
// its replies instead (dhcp-broadcast), so the capability would only be a gift to whoever takes
// dnsmasq over from the LAN. Every socket it needs (DHCP on 67, TFTP on 69) is open before it
// drops root; TFTP transfers use new sockets on unprivileged ports.
#define _GNU_SOURCE
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int capset(cap_user_header_t header, const cap_user_data_t data) {
    if (data != NULL && getuid() != 0 && geteuid() != 0) {
        int words = header->version == _LINUX_CAPABILITY_VERSION_1 ? _LINUX_CAPABILITY_U32S_1 : _LINUX_CAPABILITY_U32S_3;
        memset(data, 0, sizeof(*data) * (size_t)words);
    }
    return (int)syscall(SYS_capset, header, data);
}
