import Kernel
import Testing

@testable import KernelBuild

@Suite struct KconfigTests {
    /// Shaped like fs/Kconfig and fs/nfs/Kconfig: a menuconfig, an `if` block, a menu with
    /// its own dependency, help text that looks like keywords, and a continued line.
    static let text = """
        menuconfig NETWORK_FILESYSTEMS
        \tbool "Network File Systems"
        \tdefault y
        \tdepends on NET

        if NETWORK_FILESYSTEMS

        config NFS_FS
        \ttristate "NFS client support"
        \tdepends on INET && FILE_LOCKING && \\
        \t\tMULTIUSER
        \thelp
        \t  config NOT_A_SYMBOL
        \t  depends on SOMETHING_ELSE

        \t  if unsure, say N.

        config ROOT_NFS
        \tbool "Root file system on NFS"
        \tdepends on NFS_FS=y && IP_PNP

        endif # NETWORK_FILESYSTEMS

        menu "Ethernet"
        \tdepends on PCI

        config E1000
        \ttristate "Intel PRO/1000"
        \tdepends on !UML # a comment

        endmenu

        config ALWAYS
        \tbool "no conditions"
        \tdepends on $(cc-option,-mfoo)
        """

    func kconfig() -> Kconfig {
        var kconfig = Kconfig()
        kconfig.parse(Self.text, file: "fs/Kconfig")
        return kconfig
    }

    @Test("conditions of an entry include its if blocks and menus, not its help text")
    func conditions() {
        let kconfig = kconfig()
        #expect(
            kconfig.definitions["NFS_FS"]?.first?.conditions == [
                "NETWORK_FILESYSTEMS", "INET && FILE_LOCKING && MULTIUSER",
            ])
        #expect(kconfig.definitions["NOT_A_SYMBOL"] == nil)
        #expect(kconfig.definitions["E1000"]?.first?.conditions == ["PCI", "!UML"])
        #expect(kconfig.definitions["ALWAYS"]?.first?.conditions == ["$(cc-option,-mfoo)"])
        #expect(kconfig.definitions["NFS_FS"]?.first?.line == 8)
    }

    @Test("conditions around a source line hold for the sourced file; arch files are x86's")
    func sourced() {
        let files = [
            "Kconfig": "source \"fs/Kconfig\"\nsource \"arch/$(SRCARCH)/Kconfig\"\n",
            "fs/Kconfig": "menuconfig NETWORK_FILESYSTEMS\n\tbool \"x\"\nif NETWORK_FILESYSTEMS\nsource \"fs/nfs/Kconfig\"\nendif\n",
            "fs/nfs/Kconfig": "config NFS_FS\n\ttristate \"nfs\"\n\tdepends on INET\n",
            "arch/x86/Kconfig": "config X86\n\tdef_bool y\n",
        ]
        let kconfig = Kconfig.load { files[$0] }
        #expect(kconfig.definitions["NFS_FS"]?.first?.conditions == ["NETWORK_FILESYSTEMS", "INET"])
        #expect(kconfig.definitions["NFS_FS"]?.first?.file == "fs/nfs/Kconfig")
        #expect(kconfig.definitions["X86"]?.first?.conditions == [])
    }

    @Test(
        "the missing dependency is named",
        arguments: [
            ("NFS_FS", "CONFIG_INET=y\nCONFIG_FILE_LOCKING=y\nCONFIG_MULTIUSER=y", ["NETWORK_FILESYSTEMS is not set"]),
            ("NFS_FS", "CONFIG_NETWORK_FILESYSTEMS=y\nCONFIG_INET=y\nCONFIG_MULTIUSER=y", ["FILE_LOCKING is not set"]),
            ("NFS_FS", "CONFIG_NETWORK_FILESYSTEMS=y\nCONFIG_INET=y\nCONFIG_FILE_LOCKING=y\nCONFIG_MULTIUSER=y", []),
            ("ROOT_NFS", "CONFIG_NETWORK_FILESYSTEMS=y\nCONFIG_NFS_FS=m\nCONFIG_IP_PNP=y", ["NFS_FS = y (NFS_FS is m)"]),
            ("E1000", "CONFIG_UML=y", ["PCI is not set", "UML is set"]),
            ("ALWAYS", "", []),
            ("UNKNOWN", "", []),
        ])
    func unmet(option: String, config: String, culprits: [String]) throws {
        let found = kconfig().unmet("CONFIG_" + option, in: try KernelConfig(parsing: config))
        #expect(found.flatMap(\.culprits) == culprits)
    }

    @Test(
        "expressions evaluate as tristate",
        arguments: [
            ("A && B", 1), ("A || B", 2), ("!B", 0), ("!A", 1), ("(A || C) && !C", 1), ("A = m", 2),
            ("A != y", 2), ("N > 3", 2), ("N < 3", 0), ("S = \"x y\"", 2), ("y", 2), ("n", 0),
        ])
    func evaluate(expression: String, value: Int) throws {
        let config = try KernelConfig(parsing: "CONFIG_A=m\nCONFIG_B=y\nCONFIG_N=5\nCONFIG_S=\"x y\"\n")
        #expect(try KconfigExpression.parse(expression).value(in: config) == value)
    }
}
