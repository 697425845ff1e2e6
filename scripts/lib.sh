# Shared by the scripts: what clump needs from Debian, and how it is built.
# Sourced, not run.

# Every Debian package a build, a boot or a test needs.
CLUMP_APT_PACKAGES=(
    # the drone's kernel, shipped in every image
    linux-image-amd64
    # C libraries behind ImageBuilder and the agent's module decompression
    libarchive-dev libblkid-dev liblzma-dev pkg-config
    # the join's Noise session (X25519, ChaCha20-Poly1305), linked into the static agent
    libsodium-dev
    # the master's side of TPM credential activation (RSA-OAEP and AES-CFB from libcrypto); the
    # software TPM the tests give QEMU drones, and tpm2-tools that tests and admins read EKs with
    libssl-dev tpm2-tools swtpm swtpm-tools
    # boot loaders and the expert-mode shell
    isolinux pxelinux syslinux-common busybox-static
    # UEFI: GRUB's modules and grub-mkimage, Debian's signed shim and GRUB (Secure Boot, PXE),
    # and the tools that make the FAT EFI system partition image
    grub-efi-amd64-bin grub-common shim-signed grub-efi-amd64-signed dosfstools mtools
    # try-out boots and QEMU tests (TCG), with SeaBIOS and iPXE ROMs
    qemu-system-x86 ipxe-qemu seabios ovmf
    # namespace tests: a real DHCP server on veth pairs
    dnsmasq-base iproute2
    # the master's side: the other DHCP servers check the configs we generate for them
    # (dhcpd -t, kea-dhcp4 -t); UEFI PXE clients get shim and GRUB from the built tree
    isc-dhcp-server kea-dhcp4-server
    # independent checkers the tests compare our images against
    xorriso genisoimage cpio zstd xz-utils fdisk util-linux file binutils
    # the benchmark's peer (mkinitramfs)
    initramfs-tools
    # clumpview's real-terminal tests: keys in with send-keys, the screen out with capture-pane
    tmux
    # engine.slurm: slurmd, munged and scontrol go into the image; the tests run slurmctld
    slurmd slurmctld slurm-client munge
    # NFS-root nodes' tests: the user-space NFS server (this kernel may have no nfsd)
    nfs-ganesha nfs-ganesha-vfs
    # ... and a user-space NFS client for its attacks (the host kernel may have none)
    libnfs-utils
    # ... whose SSH host keys serve makes; the tests read them back with ssh-keygen
    openssh-client
    # clumpbuild kernel: Debian's kernel source and what building it needs
    linux-source make gcc bc flex bison libelf-dev libssl-dev patch kmod
)

# Installs only what is missing, so a second run costs one dpkg query.
clump_install_deps() {
    local missing=()
    for pkg in "${CLUMP_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "clump: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Host tools (release) and the drone agent: one fully static binary, no Foundation,
# stripped, with its own scratch path because its link flags differ from the host tools'.
clump_build() {
    swift build -c release --product clumpbuild
    swift build -c release --product clumpview
    swift build -c release --product clump-capdrop
    # The agent is /init: fully static, and every byte of it sits in the RAM disk. Not
    # importing _StringProcessing implicitly keeps the regex engine and the Unicode name
    # tables out (~1.3 MB); a section per function lets the linker drop what the agent
    # never calls, and identical-code folding trims the rest: all of it (--icf=all, 150 KB
    # less than --icf=safe), since nothing in the agent compares function addresses (no C
    # function-pointer identity, no key path equality), and the join's libsodium has to fit too.
    swift build -c release --product clumpnode --scratch-path .build-agent \
        -Xswiftc -static-executable -Xswiftc -Osize \
        -Xswiftc -Xfrontend -Xswiftc -disable-implicit-string-processing-module-import \
        -Xswiftc -Xfrontend -Xswiftc -function-sections \
        -Xlinker --gc-sections -Xlinker --icf=all -Xlinker -s
}

export CLUMP_AGENT="${CLUMP_AGENT:-$PWD/.build-agent/release/clumpnode}"
