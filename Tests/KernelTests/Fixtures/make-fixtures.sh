#!/bin/sh
# Rebuilds the tiny kernel-module fixtures (checked in; run only to change them): ELF
# relocatable objects with a .modinfo section, like real .ko files, a few hundred bytes each.
# Needs clang (ships with the Swift toolchain) and xz. The modules.* index files and the
# config samples are written by hand.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mods=root/lib/modules/6.1.0-test/kernel

module() { # module OUTPUT MODINFO-STRING
    printf 'static const char m[] __attribute__((section(".modinfo"), used, aligned(1))) = "%s";\n' "$2" > "$tmp/m.c"
    mkdir -p "$(dirname "$1")"
    clang -c -Os -o "$1" "$tmp/m.c"
}

module $mods/drivers/net/ethernet/realtek/r8169.ko \
    'license=GPL\0firmware=rtl_nic/rtl8168d-1.fw\0firmware=rtl_nic/rtl8168e-3.fw\0alias=pci:v000010ECd00008168sv*sd*bc*sc*i*\0depends=mdio_devres,libphy\0name=r8169\0vermagic=6.1.0-test SMP mod_unload modversions '
module $tmp/tg3.ko \
    'license=GPL\0firmware=tigon/tg3_tso5.bin\0firmware=rtl_nic/rtl8168d-1.fw\0alias=pci:v000014E4d00001644sv*sd*bc*sc*i*\0depends=ptp\0name=tg3\0vermagic=6.1.0-test SMP mod_unload modversions '
mkdir -p $mods/drivers/net/ethernet/broadcom
xz --check=crc32 -c $tmp/tg3.ko > $mods/drivers/net/ethernet/broadcom/tg3.ko.xz
module $mods/drivers/net/ethernet/intel/e1000e/e1000e.ko \
    'license=GPL v2\0alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0depends=ptp\0name=e1000e\0vermagic=6.1.0-test SMP mod_unload modversions '
# A module compressed with zstd, which clump does not read.
mkdir -p $mods/drivers/net/ethernet/intel/igb
zstd -q -c $mods/drivers/net/ethernet/intel/e1000e/e1000e.ko > $mods/drivers/net/ethernet/intel/igb/igb.ko.zst

mkdir -p root/lib/firmware/rtl_nic
printf 'rtl8168d-1 firmware\n' > root/lib/firmware/rtl_nic/rtl8168d-1.fw
printf 'rtl8168e-3 firmware\n' | xz --check=crc32 > root/lib/firmware/rtl_nic/rtl8168e-3.fw.xz
find root -type f | sort
