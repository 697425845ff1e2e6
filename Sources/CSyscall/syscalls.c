#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "CSyscall.h"

long clump_finit_module(int fd, const char *parameters, int flags) {
    return syscall(SYS_finit_module, fd, parameters, flags);
}

long clump_init_module(const void *image, size_t length, const char *parameters) {
    return syscall(SYS_init_module, image, length, parameters);
}

int clump_interface_carrier(const char *name) {
    struct ifreq request;
    if (strlen(name) >= sizeof(request.ifr_name)) return -1;
    memset(&request, 0, sizeof(request));
    strcpy(request.ifr_name, name);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ethtool_value link = {.cmd = ETHTOOL_GLINK};
    request.ifr_data = (char *)&link;
    int result = ioctl(fd, SIOCETHTOOL, &request);
    if (result == 0) {
        close(fd);
        return link.data ? 1 : 0;
    }
    result = ioctl(fd, SIOCGIFFLAGS, &request);
    close(fd);
    if (result < 0) return -1;
    return (request.ifr_flags & IFF_RUNNING) ? 1 : 0;
}
