// swift-tools-version:6.0
import PackageDescription

// The drone agent (`clumpnode`) runs as /init: it is linked fully static (see
// scripts/lib.sh) and must not pull in Foundation, so every module it imports
// is Foundation-free: ClumpVersion, DroneProtocol (the master<->drone contract),
// AgentSupport (the base: OS edge, error protocol, hashes), ELF, Kernel, XZ, NetProbe,
// AutoMap, ClusterState, ClusterView, JoinProtocol (with libsodium, C only), TPM, NodeAgent. Host-side modules may use it: ImageSpec
// (the spec), BootMenus (loader menus), HostTools (running host programs), ImageBuilder
// (the build), KernelBuild, MasterSide (the master's files and serve; not the build).
let package = Package(
    name: "clump",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "clumpbuild", targets: ["clumpbuild"]),
        .executable(name: "clumpnode", targets: ["clumpnode"]),
        .executable(name: "clumpview", targets: ["clumpview"]),
        // Preloaded into dnsmasq by `clumpbuild serve`: no capabilities once it is unprivileged.
        .library(name: "clump-capdrop", type: .dynamic, targets: ["CCapDrop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .systemLibrary(name: "CLzma", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),

        .target(name: "ClumpVersion"),
        .target(name: "DroneProtocol"),
        .target(name: "CStartup"),
        // TPM2_MakeCredential's ciphers for the master (RSA-OAEP with a label, AES-CFB), over libcrypto.
        .target(name: "CCredential", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "CSyscall"),
        .target(name: "CCapDrop"),
        .target(name: "AgentSupport"),
        // The join: Noise XK over libsodium, its messages and the image's join settings (both sides).
        .target(name: "JoinProtocol", dependencies: ["CSodium", "AgentSupport"]),
        // The drone's TPM: its endorsement key and credential activation, in TPM 2.0 commands of its own.
        .target(name: "TPM", dependencies: ["AgentSupport"]),
        .target(name: "ELF", dependencies: ["AgentSupport"]),
        .target(name: "XZ", dependencies: ["CLzma", "AgentSupport"]),
        .target(name: "Kernel", dependencies: ["ELF", "XZ", "AgentSupport"]),
        .target(name: "ImageSpec", dependencies: ["Yams", "AutoMap", "DroneProtocol", "AgentSupport"]),
        // Running host programs: finding them, and the signals that stop a command and its child.
        .target(name: "HostTools"),
        // The boot loaders' menus (syslinux, iPXE, GRUB), from the spec and the contract's arguments.
        .target(name: "BootMenus", dependencies: ["ImageSpec", "DroneProtocol"]),
        .target(
            name: "ImageBuilder",
            dependencies: [
                "ImageSpec", "ELF", "Kernel", "XZ", "CArchive", "CBlkid", "CLzma", "ClumpVersion", "KernelBuild", "DroneProtocol",
                "BootMenus", "HostTools", "AgentSupport", "JoinProtocol",
            ]
        ),
        .target(name: "KernelBuild", dependencies: ["ImageSpec", "Kernel", "AgentSupport"]),
        .target(
            name: "MasterSide",
            dependencies: [
                "ImageSpec", "BootMenus", "HostTools", "AutoMap", "NetProbe", "ClumpVersion", "AgentSupport", "DroneProtocol",
                "JoinProtocol", "CCredential", "TPM", "CSodium",
            ]
        ),
        .target(name: "NetProbe", dependencies: ["Kernel", "XZ", "CSyscall", "AgentSupport"]),
        .target(name: "AutoMap", dependencies: ["DroneProtocol", "AgentSupport"]),
        .target(name: "ClusterState", dependencies: ["AutoMap", "AgentSupport", "DroneProtocol"]),
        .target(name: "ClusterView", dependencies: ["ClusterState", "AutoMap", "AgentSupport", "DroneProtocol"]),
        .target(
            name: "NodeAgent",
            dependencies: [
                "NetProbe", "AutoMap", "ClusterState", "ClusterView", "ClumpVersion", "AgentSupport", "DroneProtocol", "JoinProtocol",
                "TPM",
            ]
        ),

        .executableTarget(
            name: "clumpbuild",
            dependencies: [
                "ImageSpec", "ImageBuilder", "MasterSide", "ClumpVersion", "KernelBuild", "AgentSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "clumpnode", dependencies: ["NodeAgent", "CStartup"]),
        .executableTarget(name: "clumpview", dependencies: ["ClusterView", "ClusterState", "ClumpVersion"]),
        // bench/gossip.sh: the gossip simulation.
        .executableTarget(name: "gossipbench", dependencies: ["ClusterState"], path: "bench/gossipbench"),

        // Processes and namespaces for the tests that start daemons.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ELFTests", dependencies: ["ELF"], resources: [.copy("Fixtures")]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "XZ"], resources: [.copy("Fixtures")]),
        .testTarget(name: "XZTests", dependencies: ["XZ"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImageSpecTests", dependencies: ["ImageSpec"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MasterSideTests",
            dependencies: [
                "MasterSide", "ImageSpec", "AutoMap", "NetProbe", "TestSupport", "AgentSupport", "JoinProtocol", "NodeAgent", "TPM",
            ]
        ),
        .testTarget(
            name: "ImageBuilderTests", dependencies: ["ImageBuilder", "BootMenus", "DroneProtocol", "AgentSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "NodeAgentTests", dependencies: ["NodeAgent", "XZ", "AutoMap", "NetProbe", "AgentSupport", "DroneProtocol"]),
        .testTarget(name: "NetProbeTests", dependencies: ["NetProbe", "Kernel", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AutoMapTests", dependencies: ["AutoMap"]),
        .testTarget(name: "DroneProtocolTests", dependencies: ["DroneProtocol"]),
        .testTarget(name: "JoinProtocolTests", dependencies: ["JoinProtocol", "AgentSupport"]),
        // The TPM client against swtpm, and the master's credential (tpm2-tools) against it.
        .testTarget(name: "TPMTests", dependencies: ["TPM", "MasterSide", "AgentSupport", "TestSupport"]),
        // Every module's error type, as the executables' edge reports it.
        .testTarget(
            name: "ErrorEdgeTests",
            dependencies: [
                "AgentSupport", "ELF", "XZ", "Kernel", "AutoMap", "ImageSpec", "ImageBuilder", "KernelBuild", "MasterSide",
                "NetProbe", "ClusterState", "ClusterView", "NodeAgent",
            ]),
        .testTarget(name: "ClusterViewTests", dependencies: ["ClusterView"], exclude: ["Snapshots"]),
        .testTarget(
            name: "ClusterStateTests", dependencies: ["ClusterState", "TestSupport", "AgentSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "KernelBuildTests", dependencies: ["KernelBuild", "Kernel"]),
        .testTarget(name: "SystemTests", dependencies: ["ImageBuilder", "NetProbe", "TestSupport", "JoinProtocol", "TPM", "AgentSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
