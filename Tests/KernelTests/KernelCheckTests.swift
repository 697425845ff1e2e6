import Testing

@testable import Kernel

@Suite struct KernelCheckTests {
    static let required = """
        # clump: required

        # the drone lives in it
        CONFIG_BLK_DEV_INITRD=y

        # NIC drivers
        CONFIG_MODULES=y

        # raw frames for DHCP
        CONFIG_PACKET=y

        # sysfs, module or not
        CONFIG_SYSFS=m
        """
    static let mosix = """
        # clump: optional
        CONFIG_MOSIX=y

        # no topology
        # CONFIG_MOSIX_TOPOLOGY is not set
        CONFIG_MOSIX_DISCLOSURE=3
        """

    func fragments() throws -> [ConfigFragment] {
        [
            try ConfigFragment(name: "required", text: Self.required, file: "kernel-config/required.config"),
            try ConfigFragment(name: "mosix", text: Self.mosix, file: "kernel-config/mosix.config"),
        ]
    }

    @Test func reportsPerGroup() throws {
        let config = try KernelConfig(
            parsing: """
                CONFIG_BLK_DEV_INITRD=y
                CONFIG_PACKET=m
                CONFIG_SYSFS=y
                CONFIG_RD_GZIP=y
                CONFIG_MOSIX=y
                CONFIG_MOSIX_TOPOLOGY=y
                CONFIG_MOSIX_DISCLOSURE=2
                """, file: "node.config")
        let report = KernelCheck.check(config: config, fragments: try fragments(), compression: .xz)
        #expect(report.groups.map(\.name) == ["required", "mosix"])
        let required = report.groups[0]
        #expect(
            required.findings.map(\.option) == [
                "CONFIG_BLK_DEV_INITRD", "CONFIG_MODULES", "CONFIG_PACKET", "CONFIG_SYSFS", "CONFIG_RD_XZ",
            ])
        #expect(required.findings.map(\.status) == [.ok, .missing, .wrongValue, .ok, .missing])
        #expect(required.findings[2].why == "raw frames for DHCP")
        #expect(required.findings[2].source == "kernel-config/required.config:10")
        let mosix = report.groups[1]
        #expect(mosix.isOptional)
        #expect(mosix.problems.map(\.option) == ["CONFIG_MOSIX_TOPOLOGY", "CONFIG_MOSIX_DISCLOSURE"])
        #expect(!report.isBootable)

        let rendered = report.render()
        #expect(rendered.contains("  required: 3 of 5 not met\n"))
        #expect(
            rendered.contains(
                "    CONFIG_PACKET is m, want y (built in): raw frames for DHCP [kernel-config/required.config:10]\n"))
        #expect(rendered.contains("    CONFIG_MODULES not set, want y (built in): NIC drivers"))
        #expect(rendered.contains("    CONFIG_MOSIX_TOPOLOGY is y, want not set: no topology"))
        #expect(rendered.contains("    CONFIG_MOSIX_DISCLOSURE is 2, want 3"))
        #expect(rendered.contains("CONFIG_RD_XZ not set, want y (built in): the initramfs is xz-compressed"))
        #expect(rendered.hasSuffix("  => a drone cannot boot this kernel\n"))
    }

    @Test func optionalGroupsDoNotBlockBooting() throws {
        let config = try KernelConfig(
            parsing: "CONFIG_BLK_DEV_INITRD=y\nCONFIG_MODULES=y\nCONFIG_PACKET=y\nCONFIG_SYSFS=m\nCONFIG_RD_GZIP=y\n")
        let report = KernelCheck.check(config: config, fragments: try fragments(), compression: .gzip)
        #expect(report.isBootable)
        #expect(!report.groups[1].isSatisfied)
        #expect(report.render().contains("  required: ok, 5 options\n"))
        #expect(report.render().contains("  mosix (optional): 2 of 3 not met\n"))
    }

    @Test(arguments: InitramfsCompression.allCases)
    func compressionOptionGoesIntoAGroup(_ compression: InitramfsCompression) throws {
        let report = KernelCheck.check(config: try KernelConfig(parsing: ""), fragments: [], compression: compression)
        if let option = compression.option {
            #expect(report.groups.map(\.name) == ["initramfs"])
            #expect(report.groups[0].findings.map(\.option) == [option])
            #expect(!report.isBootable)
        } else {
            #expect(report.groups.isEmpty)
            #expect(report.isBootable)
        }
    }

    @Test func fragmentsMustSayWhetherTheyAreRequired() {
        expectKernelError(.syntax) { _ = try ConfigFragment(name: "x", text: "CONFIG_A=y", file: "x.config") }
        let error = expectKernelError(.syntax) {
            _ = try ConfigFragment(name: "x", text: "# clump: sometimes\nCONFIG_A=y", file: "x.config")
        }
        #expect(error?.message == "unknown directive '# clump: sometimes'")
    }

    // MARK: - Master against node

    @Test func compareFindsMigrationBreakers() throws {
        let master = try KernelConfig(
            parsing: """
                CONFIG_MOSIX=y
                CONFIG_MOSIX_TOPOLOGY=y
                CONFIG_MOSIX_FS=y
                CONFIG_MOSIX_DISCLOSURE=3
                CONFIG_QOS_JID=y
                CONFIG_SMP=y
                CONFIG_HZ=1000
                CONFIG_E1000=m
                """, file: "master.config")
        let node = try KernelConfig(
            parsing: """
                CONFIG_MOSIX=y
                # CONFIG_MOSIX_TOPOLOGY is not set
                # CONFIG_MOSIX_FS is not set
                CONFIG_MOSIX_DISCLOSURE=3
                CONFIG_SMP=y
                CONFIG_HZ=250
                CONFIG_E1000=y
                """, file: "node.config")
        let differences = KernelCheck.compare(master: master, node: node)
        #expect(
            differences.map(\.option) == ["CONFIG_MOSIX_TOPOLOGY", "CONFIG_MOSIX_FS", "CONFIG_QOS_JID", "CONFIG_HZ"])
        #expect(differences[0].reason.contains("incompatible topology"))
        #expect(differences[1].reason.contains("Network Unreachable"))
        #expect(differences[3].master == .number("1000"))
        let text = KernelCheck.render(differences, master: master, node: node)
        #expect(
            text.hasPrefix(
                "master master.config vs node node.config\n  CONFIG_MOSIX_TOPOLOGY: master y, node not set\n"))
        #expect(text.hasSuffix("  => 4 differences that break process migration\n"))
    }

    @Test func absentEqualsNotSet() throws {
        let a = try KernelConfig(parsing: "# CONFIG_MOSIX is not set\nCONFIG_64BIT=y\n")
        let b = try KernelConfig(parsing: "CONFIG_64BIT=y\n")
        #expect(KernelCheck.compare(master: a, node: b).isEmpty)
        #expect(KernelCheck.render([], master: a, node: b).hasSuffix("  no differences that break process migration\n"))
    }

    @Test(arguments: [
        "CONFIG_64BIT", "CONFIG_X86_5LEVEL", "CONFIG_HIGHMEM64G", "CONFIG_VMSPLIT_2G", "CONFIG_IA32_EMULATION",
    ])
    func abiOptionsCount(_ option: String) throws {
        let on = try KernelConfig(parsing: "\(option)=y\n")
        let off = try KernelConfig(parsing: "")
        #expect(KernelCheck.compare(master: on, node: off).map(\.option) == [option])
    }

    // MARK: - The shipped fragments

    @Test func shippedFragmentsParse() throws {
        let fragments = try ConfigFragment.load(directory: fragmentDirectory())
        #expect(fragments.map(\.name) == ["required", "mosix", "nfsroot", "nic"])
        #expect(fragments.map(\.isOptional) == [false, true, true, true])
        for fragment in fragments {
            for requirement in fragment.requirements {
                #expect(requirement.why != nil, "\(fragment.name): \(requirement.name) has no why-comment")
            }
        }
        let required = try #require(fragments.first)
        for option in [
            "BLK_DEV_INITRD", "DEVTMPFS", "PROC_FS", "SYSFS", "TMPFS", "UNIX", "INET", "PACKET", "SERIAL_8250",
            "SERIAL_8250_CONSOLE", "VT", "VT_CONSOLE", "MODULES", "BINFMT_ELF",
        ] {
            #expect(required.config["CONFIG_" + option] == .builtin, "required.config lacks \(option)")
        }
        let mosix = try #require(fragments.first { $0.name == "mosix" })
        #expect(mosix.config["CONFIG_MOSIX_TOPOLOGY"] == .notSet)
        #expect(mosix.config.entry("CONFIG_MOSIX_TOPOLOGY") != nil)
        for option in ["CONFIG_MOSIX", "CONFIG_MOSIX_FS", "CONFIG_MOSIX_DFSA", "CONFIG_QKERNEL_EXT", "CONFIG_QOS_JID"] {
            #expect(mosix.config[option] == .builtin)
        }
    }
}

@Suite struct NFSRootSupportTests {
    static let nfsroot = """
        # clump: optional
        CONFIG_IP_PNP_DHCP=y
        CONFIG_ROOT_NFS=y
        """

    @Test(arguments: [
        ("CONFIG_NFS_FS=m\nCONFIG_NFS_V4=m\nCONFIG_OVERLAY_FS=m\n", true, false),
        ("CONFIG_NFS_FS=y\nCONFIG_NFS_V4=y\nCONFIG_OVERLAY_FS=y\nCONFIG_IP_PNP_DHCP=y\nCONFIG_ROOT_NFS=y\n", true, true),
        ("CONFIG_NFS_FS=m\nCONFIG_OVERLAY_FS=m\n", false, false),
    ])
    func checkKernelSaysWhichWayANodeCanBoot(_ text: String, _ initramfs: Bool, _ kernelOnly: Bool) throws {
        let fragment = try ConfigFragment(name: "nfsroot", text: Self.nfsroot, file: "nfsroot.config")
        let report = KernelCheck.check(config: try KernelConfig(parsing: text), fragments: [fragment], compression: .none)
        #expect(report.nfsroot.initramfs == initramfs)
        #expect(report.nfsroot.kernelOnly == kernelOnly)
        let line = report.render().split(separator: "\n").first { $0.contains("nfsroot ways") }.map(String.init) ?? ""
        #expect(line.contains("agent in the initramfs (NFS_FS=") && line.contains(": \(initramfs ? "yes" : "no");"), "\(line)")
        #expect(line.hasSuffix(kernelOnly ? "yes" : "no, see the nfsroot group"), "\(line)")
    }
}
