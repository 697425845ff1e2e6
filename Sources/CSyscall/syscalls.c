#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/mii.h>
#include <linux/usbdevice_fs.h>
#include <fcntl.h>
#include <net/if.h>
#include <errno.h>
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

int clump_phy_link(const char *name) {
    struct ifreq request;
    if (strlen(name) >= sizeof(request.ifr_name)) {
        errno = EINVAL;
        return -1;
    }
    memset(&request, 0, sizeof(request));
    strcpy(request.ifr_name, name);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct mii_ioctl_data *mii = (struct mii_ioctl_data *)&request.ifr_data;
    int result = ioctl(fd, SIOCGMIIPHY, &request);
    // The link bit latches low (IEEE 802.3 22.2.4.2.13): the first read reports a drop since the
    // last one, the second the state now.
    for (int read = 0; result == 0 && read < 2; read++) {
        mii->reg_num = MII_BMSR;
        result = ioctl(fd, SIOCGMIIREG, &request);
    }
    int saved = errno;
    close(fd);
    if (result < 0) {
        errno = saved;
        return -1;
    }
    return (mii->val_out & BMSR_LSTATUS) ? 1 : 0;
}

int clump_usb_port_connected(const char *device, int port) {
    int fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    unsigned char status[4] = {0};
    // GET_STATUS to a hub port (USB 2.0 11.24.2.7): class request, recipient "other".
    struct usbdevfs_ctrltransfer transfer = {
        .bRequestType = 0xa3, .bRequest = 0, .wValue = 0, .wIndex = (unsigned short)port,
        .wLength = sizeof(status), .timeout = 1000, .data = status,
    };
    int result = ioctl(fd, USBDEVFS_CONTROL, &transfer);
    int saved = errno;
    close(fd);
    if (result < 0) {
        errno = saved;
        return -1;
    }
    return (status[0] & 1) ? 1 : 0; // wPortStatus bit 0: PORT_CONNECTION
}
