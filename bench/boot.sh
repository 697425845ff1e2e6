#!/usr/bin/env bash
# Boot to a configured network: our RAM disk vs Debian's (mkinitramfs MODULES=netboot,
# ip=dhcp), same kernel, same QEMU (TCG, user network with restrict=on), same card, same run.
# Measures, on the serial console, from the kernel's "Run /init as init process" to the
# line that says the network is configured:
#   ours:   "clump: node ..."
#   Debian: "IP-Config: <iface> complete (dhcp from ...)" (klibc ipconfig, after udev loaded
#           the driver; Debian's /init configures the network only for boot=nfs)
# and the whole boot from QEMU's start to that line. Target: ours <= 1/4 of Debian's.
# Then the firmware rows: clump.iso as a CD through the whole boot path (firmware, boot loader,
# kernel, /init) from QEMU's start to "clump: node", SeaBIOS + isolinux vs OVMF + GRUB (UEFI)
# vs OVMF with Secure Boot + shim + signed GRUB (an image built with boot.secure-boot), e1000,
# 512 MiB (GRUB under OVMF needs about 320).
# Usage: bench/boot.sh [runs [card...]]   (median of runs, default 3; cards default
#        e1000, virtio-net-pci and usb-net (behind an xHCI), one table row each; every
#        run's /init -> network times are listed below the table)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
clump_install_deps
clump_build >/dev/null
runs=${1:-3}
shift || true
cards=("$@")
[ ${#cards[@]} -gt 0 ] || cards=(e1000 virtio-net-pci usb-net)
work=$(mktemp -d /tmp/clump-boot-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver

( cd "$work" && "$OLDPWD/.build/release/clumpbuild" build --out "$work/out" >/dev/null )
conf="$work/mki"; mkdir -p "$conf"
cp -r /etc/initramfs-tools/. "$conf/"
sed -i -e 's/^MODULES=.*/MODULES=netboot/' -e 's/^COMPRESS=.*/COMPRESS=zstd/' "$conf/initramfs.conf"
mkinitramfs -d "$conf" -o "$work/debian.img" "$kver" 2>/dev/null

# Runs a command (QEMU, or clumpbuild boot) and prints "<from start-marker> <from its start>" in
# seconds when its console shows end-marker (an empty start-marker counts from the start), or
# fails after 240 s.
timed() { # start-marker end-marker argv...
    python3 - "$@" <<'EOF'
import subprocess, sys, time, select, os
start_marker, end_marker, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
buf, started, log = b"", (t0 if not start_marker else None), []
try:
    while time.monotonic() - t0 < 240:
        r, _, _ = select.select([p.stdout], [], [], 1)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace")
            log.append(text)
            now = time.monotonic()
            if started is None and start_marker in text:
                started = now
            if started is not None and end_marker in text:
                print(f"{now - started:.2f} {now - t0:.2f}")
                sys.exit(0)
    sys.stderr.write("no '%s' within 240 s; console:\n%s\n" % (end_marker, "\n".join(log[-30:])))
    sys.exit(1)
finally:
    p.terminate()
    p.wait()
EOF
}

# One boot of a kernel and RAM disk straight from QEMU (no firmware, no boot loader).
boot() { # card initrd append start-marker end-marker
    local argv=(qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -kernel "$kernel" -initrd "$2"
        -append "$3" -netdev user,id=n0,restrict=on)
    # A USB card needs a host controller.
    [[ $1 == usb-* ]] && argv+=(-device qemu-xhci)
    timed "$4" "$5" "${argv[@]}" -device "$1,netdev=n0"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m() { printf '%s\n' "$@" | median; }

# A namespace's LAN for a drone on a tap: br0 at <prefix>.1/24, tap1 on it, and dnsmasq giving
# the drone its address (dhcp-host MAC,ADDRESS), its lease file and pid file in DIR.
bench_lan() { # namespace prefix host dir
    ip -n "$1" link set lo up
    ip -n "$1" link add br0 type bridge
    ip -n "$1" addr add "$2.1/24" dev br0
    ip -n "$1" link set br0 up
    ip -n "$1" tuntap add dev tap1 mode tap
    ip -n "$1" link set tap1 master br0 up
    ip netns exec "$1" dnsmasq --conf-file=/dev/null --interface=br0 --bind-interfaces --port=0 \
        --dhcp-range="$2.100,$2.150,255.255.255.0,1h" --dhcp-host="$3" \
        --dhcp-leasefile="$4/leases" --pid-file="$4/dnsmasq.pid"
}

# --- The join of a TPM-bound drone (own block): a namespace (10.70.0.0/24) with a bridge, dnsmasq
# for DHCP and `clumpbuild serve --join-only`; the inventory binds the drone's MAC to its software
# TPM's endorsement key (swtpm, its fingerprint read first with tpm2-tools), so it joins with nobody
# approving. Measured on the drone's console: "clump: node" -> "clump: joined ... (approved by tpm)".
# Target: median <= 0.5 s under TCG. `CLUMP_BENCH_ONLY=join bench/boot.sh [runs]` runs this block alone.
join_bench() {
    local dir="$work/join" times=() ns="clumpjoin$$" mac=52:54:00:00:70:11
    join_ns=$ns
    mkdir -p "$dir/tpm"
    swtpm socket --tpm2 --tpmstate dir="$dir/tpm" --server type=unixio,path="$dir/tpm.sock" \
        --ctrl type=unixio,path="$dir/tpm.sock.ctrl" --flags not-need-init,startup-clear &
    local swtpm=$!
    for _ in $(seq 50); do [ -S "$dir/tpm.sock" ] && break; sleep 0.1; done
    TPM2TOOLS_TCTI="swtpm:path=$dir/tpm.sock" tpm2 createek -G rsa -c "$dir/ek.ctx" -u "$dir/ek.pub" >/dev/null
    kill "$swtpm" 2>/dev/null || true
    wait "$swtpm" 2>/dev/null || true
    printf 'cluster:\n  network: 10.70.0.0/24\nboot:\n  timeout: 0\n' > "$dir/clump.yaml"
    printf -- '- {mac: "%s", address: 10.70.0.11, tpm: "sha256:%s"}\n' "$mac" "$(sha256sum "$dir/ek.pub" | cut -d' ' -f1)" \
        > "$dir/nodes.yaml"
    (cd "$dir" && "$OLDPWD/.build/release/clumpbuild" build --spec "$dir/clump.yaml" --out "$dir/out" >/dev/null)
    ip netns add "$ns"
    # The slurm block's namespace too, if it ran: its cleanup is this trap's now.
    trap 'for n in "$join_ns" "${slurm_ns:-}"; do [ -n "$n" ] || continue; { ip netns pids "$n" 2>/dev/null | xargs -r kill; } || true; sleep 1; ip netns del "$n" 2>/dev/null || true; done; rm -rf "$work"' EXIT
    bench_lan "$ns" 10.70.0 "$mac,10.70.0.11" "$dir"
    ip netns exec "$ns" "$PWD/.build/release/clumpbuild" serve --join-only --spec "$dir/clump.yaml" --out "$dir/out" \
        --interface br0 > "$dir/serve.log" 2>&1 &
    for _ in $(seq 50); do grep -q 'port 7078' "$dir/serve.log" && break; sleep 0.2; done
    for _ in $(seq "$runs"); do
        rm -f "$dir/qemu-tpm.sock"
        swtpm socket --tpm2 --tpmstate dir="$dir/tpm" --ctrl type=unixio,path="$dir/qemu-tpm.sock" &
        swtpm=$!
        for _ in $(seq 50); do [ -S "$dir/qemu-tpm.sock" ] && break; sleep 0.1; done
        times+=("$(ip netns exec "$ns" bash -c "$(declare -f timed); timed 'clump: node' '(approved by tpm)' \
            '$PWD/.build/release/clumpbuild' boot '$dir/out/clump.iso' --nic e1000,tap=tap1,mac=$mac \
            --memory 256 --timeout 240 --tpm '$dir/qemu-tpm.sock'" | awk '{print $1}')")
        kill "$swtpm" 2>/dev/null || true  # swtpm may have gone with QEMU
        wait "$swtpm" 2>/dev/null || true
    done
    echo
    echo "join of a TPM-bound drone: clump.iso, e1000, 256 MiB, swtpm; serve --join-only on the bridge"
    printf 'agent (static, with the Noise session and the TPM client): %s bytes\n' \
        "$(stat -c %s "$PWD/.build-agent/release/clumpnode")"
    printf "'clump: node' -> 'clump: joined (approved by tpm)': median %s s (%s); target <= 0.5 s\n" \
        "$(m "${times[@]}")" "${times[*]}"
    { ip netns pids "$ns" 2>/dev/null | xargs -r kill; } || true
    sleep 1
    ip netns del "$ns" 2>/dev/null || true
}
if [ "${CLUMP_BENCH_ONLY:-}" = join ]; then
    join_bench
    exit 0
fi
rows=() runs_lines=()
for card in "${cards[@]}"; do
    ours_init=() ours_total=() deb_init=() deb_total=()
    for _ in $(seq "$runs"); do
        read -r a b < <(boot "$card" "$work/out/tftpboot/initrd.img" "clump.mode=auto console=ttyS0,115200" \
            "Run /init as init process" "clump: node")
        ours_init+=("$a") ours_total+=("$b")
        read -r a b < <(boot "$card" "$work/debian.img" \
            "console=ttyS0,115200 boot=nfs ip=dhcp nfsroot=10.0.2.2:/srv/none panic=-1" \
            "Run /init as init process" "complete (dhcp from")
        deb_init+=("$a") deb_total+=("$b")
    done
    oi=$(m "${ours_init[@]}") di=$(m "${deb_init[@]}")
    runs_lines+=("$(printf '%-16s ours %s; Debian %s' "$card" "${ours_init[*]}" "${deb_init[*]}")")
    rows+=("$(printf '%-16s %9s s %9s s %9s s %9s s %7s' "$card" "$oi" "$di" \
        "$(m "${ours_total[@]}")" "$(m "${deb_total[@]}")" "$(echo "scale=2; $oi / $di" | bc)")")
done
echo
echo "kernel $kver, QEMU TCG, user network; median of $runs boots per card"
echo "ours: clumpnode (every ethernet driver); Debian: mkinitramfs MODULES=netboot, ip=dhcp"
printf '%-16s %22s %22s %7s\n' "" "/init -> network" "QEMU start -> network" "ratio"
printf '%-16s %11s %11s %11s %11s %7s\n' "card" "ours" "Debian" "ours" "Debian" "/init"
printf '%s\n' "${rows[@]}"
echo "target: ratio (ours / Debian's, /init -> network) <= 0.25"
echo
echo "every run, /init -> network (s):"
printf '%s\n' "${runs_lines[@]}"

# The firmware rows: clumpbuild boot, timed from its start (QEMU's) to "clump: node".
printf 'boot:\n  secure-boot: true\ndrivers:\n  strip: false\n' > "$work/secure.yaml"
( cd "$work" && "$OLDPWD/.build/release/clumpbuild" build --spec "$work/secure.yaml" --out "$work/secure" >/dev/null )
firmware_boot() { # iso firmware: seconds from QEMU's start
    timed "" "clump: node" "$PWD/.build/release/clumpbuild" boot "$1" --firmware "$2" --memory 512 --timeout 240 \
        | awk '{print $2}'
}
firmware_rows=()
for row in "bios $work/out/clump.iso" "uefi $work/out/clump.iso" "uefi-secure $work/secure/clump.iso"; do
    read -r firmware iso <<<"$row"
    times=()
    for _ in $(seq "$runs"); do times+=("$(firmware_boot "$iso" "$firmware")"); done
    firmware_rows+=("$(printf '%-12s %9s s   (%s)' "$firmware" "$(m "${times[@]}")" "${times[*]}")")
done
echo
echo "clump.iso as a CD, e1000, 512 MiB: QEMU start -> 'clump: node', median of $runs (every run)"
printf '%s\n' "${firmware_rows[@]}"


# --- engine.slurm (own block): the image with Slurm, its size, and a drone's time from
# "clump: node" to "clump: slurm registered" with a configless slurmctld (target <= 2 s under TCG).
# A namespace of its own (10.69.0.0/24, as SlurmTests) holds the bridge, dnsmasq, munged and
# slurmctld on the generated slurm.conf; the drone boots on a tap. Everything is removed on exit.
slurm_bench() {
    local dir="$work/slurm" times=() size
    slurm_ns="clumpbench$$"
    local ns=$slurm_ns
    mkdir -p "$dir"/{munge,state,log,etc}
    # slurmctld runs as slurm and munged checks every directory above its socket.
    chmod 755 "$work" "$dir" "$dir"/*
    chown slurm:slurm "$dir/state" "$dir/log"
    head -c 1024 /dev/urandom > "$dir/munge.key"
    chmod 400 "$dir/munge.key"
    printf 'cluster:\n  network: 10.69.0.0/24\nboot:\n  timeout: 1\nengine:\n  slurm:\n    controller: 10.69.0.1\n    munge-key-file: %s\n    munge-socket: %s\n' \
        "$dir/munge.key" "$dir/munge/munge.socket" > "$dir/clump.yaml"
    size=$(cd "$dir" && "$OLDPWD/.build/release/clumpbuild" build --spec "$dir/clump.yaml" --out "$dir/out" \
        | grep -E '^(  engine|initramfs:|engine:)')
    (cd "$dir" && "$OLDPWD/.build/release/clumpbuild" generate --spec "$dir/clump.yaml" --out "$dir/out" >/dev/null)
    cp "$dir/out/master/slurm/cgroup.conf" "$dir/etc/"
    # The bench's own state and log directories replace the generated ones (slurmctld warns
    # about a key given twice).
    { grep -vE '^(StateSaveLocation|SlurmctldLogFile|SlurmctldPidFile)=' "$dir/out/master/slurm/slurm.conf"
      printf 'StateSaveLocation=%s/state\nSlurmctldLogFile=%s/log/slurmctld.log\nSlurmctldPidFile=%s/state/pid\n' \
          "$dir" "$dir" "$dir"; } > "$dir/etc/slurm.conf"
    ip netns add "$ns"
    trap 'ip netns pids "$slurm_ns" 2>/dev/null | xargs -r kill; sleep 1; ip netns del "$slurm_ns" 2>/dev/null; rm -rf "$work"' EXIT
    bench_lan "$ns" 10.69.0 52:54:00:00:69:11,10.69.0.11 "$dir"
    ip netns exec "$ns" munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge.key" \
        --log-file="$dir/munge/log" --pid-file="$dir/munge/pid" --seed-file="$dir/munge/seed"
    ip netns exec "$ns" slurmctld -i -f "$dir/etc/slurm.conf"
    for _ in $(seq 50); do SLURM_CONF="$dir/etc/slurm.conf" ip netns exec "$ns" sinfo >/dev/null 2>&1 && break; sleep 0.2; done
    for _ in $(seq "$runs"); do
        times+=("$(ip netns exec "$ns" bash -c "$(declare -f timed); timed 'clump: node' 'clump: slurm registered' \
            '$PWD/.build/release/clumpbuild' boot '$dir/out/clump.iso' --nic e1000,tap=tap1,mac=52:54:00:00:69:11 \
            --memory 256 --timeout 240" | awk '{print $1}')")
        SLURM_CONF="$dir/etc/slurm.conf" ip netns exec "$ns" scontrol delete nodename=node11 >/dev/null 2>&1 || true
    done
    echo
    echo "engine.slurm: clump.iso, e1000, 256 MiB, configless slurmctld 22.05 on the bridge"
    printf '%s\n' "$size"
    printf "'clump: node' -> 'clump: slurm registered': median %s s (%s); target <= 2 s\n" \
        "$(m "${times[@]}")" "${times[*]}"
}
slurm_bench
# --- The drone kernel built from source (`clumpbuild kernel`): Debian's kernel vs drone-minimal
# vs drone, each with the initramfs clumpbuild builds for it, straight from QEMU (no firmware,
# no boot loader), e1000 and virtio-net, one run each, QEMU's start to "clump: node". Debian's
# kernel needs 128 MiB; the built ones get 64. The first run compiles both profiles (cached after).
# Targets: drone-minimal <= 1/3 of Debian's total; boots in 64 MiB; kernel + initramfs <= 1/2
# of today's image (Debian's vmlinuz + the default initramfs).
for profile in drone-minimal drone; do
    printf 'kernel:\n  build:\n    fragments: [%s]\n' "$profile" > "$work/$profile.yaml"
    ( cd "$work" && nice -n 10 "$OLDPWD/.build/release/clumpbuild" build --spec "$work/$profile.yaml" \
        --out "$work/$profile" >/dev/null )
done
kernel_boot() { # card kernel initrd memory: seconds from QEMU's start
    timed "" "clump: node" qemu-system-x86_64 -accel tcg -m "$4" -nographic -no-reboot -kernel "$2" -initrd "$3" \
        -append "clump.mode=auto console=ttyS0,115200 quiet" -netdev user,id=n0,restrict=on \
        -device "$1,netdev=n0" | awk '{print $2}'
}
size_of() { echo $(( $(stat -c %s "$1") + $(stat -c %s "$2") )); }
debian_size=$(size_of "$kernel" "$work/out/tftpboot/initrd.img")
kernel_rows=()
for card in e1000 virtio-net-pci; do
    debian_total=$(kernel_boot "$card" "$kernel" "$work/out/tftpboot/initrd.img" 128)
    kernel_rows+=("$(printf '%-14s %-15s %6s MiB %9s s %7s %10s B %7s' "debian" "$card" 128 "$debian_total" 1.00 \
        "$debian_size" 1.00)")
    for profile in drone-minimal drone; do
        total=$(kernel_boot "$card" "$work/$profile/tftpboot/vmlinuz" "$work/$profile/tftpboot/initrd.img" 64)
        size=$(size_of "$work/$profile/tftpboot/vmlinuz" "$work/$profile/tftpboot/initrd.img")
        kernel_rows+=("$(printf '%-14s %-15s %6s MiB %9s s %7s %10s B %7s' "$profile" "$card" 64 "$total" \
            "$(echo "scale=2; $total / $debian_total" | bc)" "$size" "$(echo "scale=2; $size / $debian_size" | bc)")")
    done
done
echo
echo "kernel built from source vs Debian's: QEMU start -> 'clump: node', one run per card; kernel + initramfs size"
printf '%-14s %-15s %10s %11s %7s %12s %7s\n' "kernel" "card" "memory" "total" "ratio" "size" "ratio"
printf '%s\n' "${kernel_rows[@]}"
echo "targets: drone-minimal total ratio <= 0.33, boots in 64 MiB, size ratio <= 0.50"
join_bench
