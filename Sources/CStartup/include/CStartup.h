#ifndef CLUMP_STARTUP_H
#define CLUMP_STARTUP_H

/// Always 1: lets Swift code assert that the start-up constructor is linked in.
int clump_startup_linked(void);

#endif
