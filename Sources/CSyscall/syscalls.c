#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "CSyscall.h"

long clump_finit_module(int fd, const char *parameters, int flags) {
    return syscall(SYS_finit_module, fd, parameters, flags);
}

long clump_init_module(const void *image, size_t length, const char *parameters) {
    return syscall(SYS_init_module, image, length, parameters);
}
