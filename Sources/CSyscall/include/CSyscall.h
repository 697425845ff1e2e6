#ifndef CLUMP_CSYSCALL_H
#define CLUMP_CSYSCALL_H

#include <stddef.h>

/// finit_module(2): loads the module in the open file `fd`. Swift cannot call the variadic
/// syscall(2), and glibc has no wrapper for the module calls. Returns -1 and sets errno on failure.
long clump_finit_module(int fd, const char *parameters, int flags);

/// init_module(2): loads a module image already in memory (what we decompressed ourselves).
long clump_init_module(const void *image, size_t length, const char *parameters);

/// Whether the interface `name` has carrier, asked in the calling thread's network namespace
/// (sysfs shows the mounter's): the driver's ethtool link state (ETHTOOL_GLINK), else, for a
/// driver without one, IFF_RUNNING from SIOCGIFFLAGS (carrier and the kernel's link watch has
/// caught up, which it batches up to a second). Returns 1 or 0, or -1 with errno set.
/// ioctl(2) is variadic, hence C.
int clump_interface_carrier(const char *name);

/// Whether the PHY of interface `name` reports link (MII status register, through SIOCGMIIREG),
/// which drivers answer while the interface is still down: ETHTOOL_GLINK says 0 then.
/// Returns 1 or 0, or -1 with errno set (EOPNOTSUPP: no MII access).
int clump_phy_link(const char *name);

/// Whether something is plugged into port `port` (1-based) of the USB hub whose usbfs node is
/// `device` (`/dev/bus/usb/001/001`): the hub's own answer to GET_STATUS, so a device the
/// kernel has not finished enumerating already counts. Returns 1 or 0, or -1 with errno set.
int clump_usb_port_connected(const char *device, int port);

#endif
