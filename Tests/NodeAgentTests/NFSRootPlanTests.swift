import Glibc
import Testing

@testable import NodeAgent

@Suite struct NFSRootPlanTests {
    @Test func theCommandLineNamesTheRootAndTheNodeTree() throws {
        let plan = try NFSRootPlan.parse(options: [
            "root": "10.0.2.1:/srv/clump/root", "node": "10.0.2.1:/srv/master/nfsroot/nodes/node11",
        ]).get()
        #expect(plan.root.description == "10.0.2.1:/srv/clump/root")
        #expect(plan.node?.path == "/srv/master/nfsroot/nodes/node11")
        // The command line wins over the lease's root path.
        let both = try NFSRootPlan.parse(options: ["root": "10.0.2.1:/a"], rootPath: "/b", dhcpServer: "10.0.2.9").get()
        #expect(both.root.description == "10.0.2.1:/a")
    }

    @Test func aLeaseRootPathIsOnTheDHCPServerWhenItNamesNone() throws {
        #expect(try NFSRootPlan.parse(options: [:], rootPath: "/srv/root", dhcpServer: "10.0.2.1").get().root.description
            == "10.0.2.1:/srv/root")
        #expect(try NFSRootPlan.parse(options: [:], rootPath: "10.0.2.7:/r", dhcpServer: "10.0.2.1").get().root.server
            == "10.0.2.7")
    }

    @Test(arguments: [
        ([String: String](), "no clump.root=SERVER:PATH"),
        (["root": "master:/srv/root"], "is not SERVER:PATH"),
        (["root": "10.0.2.1:srv/root"], "is not SERVER:PATH"),
        (["root": "10.0.2.1:/srv/root", "node": "10.0.2.1"], "clump.node=10.0.2.1 is not SERVER:PATH"),
    ])
    func badOptionsSayWhatIsWrong(_ options: [String: String], _ message: String) {
        guard case .failure(let problem) = NFSRootPlan.parse(options: options) else {
            Issue.record("\(options) was accepted")
            return
        }
        #expect(problem.message.contains(message), "\(problem)")
    }

    @Test func theMountsAsTyped() throws {
        let root = try #require(NFSLocation(parsing: "10.0.2.1:/srv/root"))
        let mount = NFSRootPlan.nfsMount(root, at: NFSRootPlan.lower, client: "10.0.2.11", version: "4.2", readOnly: true)
        #expect(
            mount.description
                == "mount -t nfs4 -o ro,vers=4.2,proto=tcp,port=2049,addr=10.0.2.1,clientaddr=10.0.2.11,hard,timeo=600,"
                + "retrans=2 10.0.2.1:/srv/root /mnt/clump/lower")
        #expect(
            NFSRootPlan.layerMounts.map(\.description) == [
                "mount -t tmpfs -o mode=0755 clump-layer /mnt/clump/layer",
                "mount -t overlay -o lowerdir=/mnt/clump/lower,upperdir=/mnt/clump/layer/upper,"
                    + "workdir=/mnt/clump/layer/work clump-root /mnt/clump/root",
            ])
    }

    @Test func writableDirectoriesAreBindsFromTheDataTreeRemountedNosuidNodev() {
        let (mounts, ignored) = NFSRootPlan.writableMounts(list: "/var/log\n  /home \n\n/scratch/jobs\n")
        #expect(ignored.isEmpty)
        #expect(
            mounts.map(\.source) == [
                "/mnt/clump/data/var/log", "/mnt/clump/data/var/log", "/mnt/clump/data/home", "/mnt/clump/data/home",
                "/mnt/clump/data/scratch/jobs", "/mnt/clump/data/scratch/jobs",
            ])
        #expect(mounts.map(\.target).enumerated().allSatisfy { $0.element == mounts[$0.offset / 2 * 2].target })
        #expect(mounts.enumerated().allSatisfy { index, mount in
            mount.flags == (index % 2 == 0 ? UInt(MS_BIND) : UInt(MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV))
        })
    }

    /// A list the agent could be handed by someone who wrote the node's tree: nothing outside the
    /// data areas is bound over the root.
    @Test(arguments: ["/", "/sbin", "/etc", "/usr/bin", "/lib", "/lib64", "/root", "/var", "/var/lib/dpkg", "relative",
        "/var/log/../../sbin", "/home//x", "/var/log/./x", "/bin\u{1b}[2J"])
    func writableDirectoriesOutsideTheDataAreasAreIgnored(_ directory: String) {
        let (mounts, ignored) = NFSRootPlan.writableMounts(list: directory + "\n/var/log\n")
        #expect(mounts.map(\.target) == ["/mnt/clump/root/var/log", "/mnt/clump/root/var/log"])
        #expect(ignored.count == 1, "\(ignored)")
        // What reaches the console is printable.
        #expect(ignored.allSatisfy { $0.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } })
    }

    @Test func theNodesFilesAreLaidAsPlainFilesOnly() {
        #expect(NFSRootPlan.layable(mode: S_IFREG | 0o644) == (0o644, nil))
        #expect(NFSRootPlan.layable(mode: S_IFDIR | 0o755) == (0o755, nil))
        let setuid = NFSRootPlan.layable(mode: S_IFREG | 0o4755)
        #expect(setuid.mode == 0o755 && setuid.ignored?.contains("setuid") == true)
        #expect(NFSRootPlan.layable(mode: S_IFREG | 0o2755).mode == 0o755)
        for kind in [S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK] {
            let result = NFSRootPlan.layable(mode: kind | 0o777)
            #expect(result.mode == nil && result.ignored != nil, "\(kind)")
        }
    }

    @Test func theDataTreeComesFromItsOwnArgument() throws {
        let plan = try NFSRootPlan.parse(options: [
            "root": "10.0.2.1:/r", "node": "10.0.2.1:/m/nfsroot/nodes/node11", "data": "10.0.2.1:/m/nfsroot/data/node11",
        ]).get()
        #expect(plan.data?.path == "/m/nfsroot/data/node11")
        guard case .failure(let problem) = NFSRootPlan.parse(options: ["root": "10.0.2.1:/r", "data": "x"]) else {
            Issue.record("a bad clump.data was accepted")
            return
        }
        #expect(problem.message.contains("clump.data=x is not SERVER:PATH"))
    }

    @Test(arguments: [
        (EACCES, "refused the export 10.0.2.1:/t"), (EPERM, "refused the export"), (ENOENT, "has no export 10.0.2.1:/t"),
        (ETIMEDOUT, "server 10.0.2.1 not answering"), (EIO, "cannot mount 10.0.2.1:/t"),
    ])
    func refusalsSayWhy(_ code: Int32, _ message: String) throws {
        let location = try #require(NFSLocation(parsing: "10.0.2.1:/t"))
        #expect(NFSRootPlan.refusal(location, code: code).contains(message))
    }

    @Test func theRAMDiskIsFreedOnlyWhenTheRootIsOne() {
        let initramfs = "rootfs / rootfs rw 0 0\nclump-root /mnt/clump/root overlay rw 0 0\n"
        #expect(NFSRootMode.rootType(mounts: initramfs) == "rootfs")
        #expect(NFSRootMode.rootType(mounts: "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n") == "ext4")
        #expect(NFSRootMode.rootType(mounts: "") == nil)
    }

    @Test func theInitIsFoundThroughLinksInsideTheRoot() throws {
        let root = try TemporaryTree(files: ["lib/systemd/systemd": "#!/bin/sh\n", "usr/sbin/.keep": "", "lib/systemd/plain": "text"])
        chmod(root.path + "/lib/systemd/systemd", 0o755)
        // Debian: /sbin is a relative link to usr/sbin, and init an absolute one to systemd.
        symlink("usr/sbin", root.path + "/sbin")
        symlink("/lib/systemd/systemd", root.path + "/usr/sbin/init")
        #expect(NFSRootMode.isExecutable("/sbin/init", in: root.path))
        #expect(!NFSRootMode.isExecutable("/lib/systemd/plain", in: root.path))
        #expect(!NFSRootMode.isExecutable("/sbin/missing", in: root.path))
    }
}
