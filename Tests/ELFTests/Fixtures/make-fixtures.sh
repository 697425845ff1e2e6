#!/bin/sh
# Rebuilds the tiny ELF fixtures in this directory (checked in; run only to change them).
# Needs clang and ld.lld (both ship with the Swift toolchain). No libc is linked: the files
# are never run, only parsed, and stay a few hundred bytes to a few KiB.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc="clang -fuse-ld=lld -nostdlib -Os -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-z,norelro -s"

echo 'void _start(void) { for (;;) ; }' > "$tmp/start.c"
echo 'int foo(void) { return 1; }' > "$tmp/foo.c"
echo 'int bar(void) { return 2; }' > "$tmp/bar.c"
echo 'int baz(void) { return 3; }' > "$tmp/baz.c"

# A stand-in dynamic linker: a shared object with a SONAME, like ld-linux-x86-64.so.2.
$cc -shared -fPIC -Wl,-soname,ld-linux-x86-64.so.2 -o ld.so "$tmp/start.c"
# libbaz.so.3: old-style DT_RPATH (no --enable-new-dtags), no DT_NEEDED.
$cc -shared -fPIC -Wl,-soname,libbaz.so.3 -Wl,--disable-new-dtags -Wl,-rpath,/nonexistent/rpath \
    -o libbaz.so.3 "$tmp/baz.c"
# libfoo.so.1.0 (SONAME libfoo.so.1) needs libbaz.so.3, found through ld.so.conf.
$cc -shared -fPIC -Wl,-soname,libfoo.so.1 -o libfoo.so.1.0 "$tmp/foo.c" ./libbaz.so.3
# libbar.so.2 needs libfoo.so.1, which prog already loaded.
cp libfoo.so.1.0 "$tmp/libfoo.so.1"
$cc -shared -fPIC -Wl,-soname,libbar.so.2 -o libbar.so.2 "$tmp/bar.c" "$tmp/libfoo.so.1"
# prog: PT_INTERP, DT_NEEDED libfoo.so.1 libbar.so.2, DT_RUNPATH $ORIGIN/../lib.
$cc -fPIE -pie -Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2 -Wl,--enable-new-dtags \
    -Wl,-rpath,'$ORIGIN/../lib' -o prog "$tmp/start.c" "$tmp/libfoo.so.1" ./libbar.so.2
# static: no PT_INTERP, no PT_DYNAMIC.
$cc -static -o static "$tmp/start.c"
# libbaz32.so.3: a 32-bit (ELFCLASS32) shared object named like a 64-bit one, to be skipped.
$cc -m32 -shared -fPIC -Wl,-soname,libbaz.so.3 -o libbaz32.so.3 "$tmp/baz.c"
# tiny.ko: a relocatable object with a .modinfo section, like a kernel module.
printf '%s\n' \
  'static const char m[] __attribute__((section(".modinfo"), used, aligned(1))) =' \
  '  "license=GPL\0firmware=tiny/one.bin\0firmware=tiny/two.bin\0alias=pci:v00001234d00005678sv*sd*bc*sc*i*\0depends=\0name=tiny\0vermagic=6.1.0-test SMP mod_unload ";' \
  > "$tmp/tiny.c"
clang -c -Os -o tiny.ko "$tmp/tiny.c"
ls -l
