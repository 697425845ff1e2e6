#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

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

int clump_interface_running(const char *name) {
    struct ifreq request;
    if (strlen(name) >= sizeof(request.ifr_name)) return -1;
    memset(&request, 0, sizeof(request));
    strcpy(request.ifr_name, name);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    close(fd);
    if (result < 0) return -1;
    return (request.ifr_flags & IFF_RUNNING) ? 1 : 0;
}
