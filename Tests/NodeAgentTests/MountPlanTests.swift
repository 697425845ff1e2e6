import Glibc
import Testing

@testable import NodeAgent

@Suite struct MountPlanTests {
    @Test func standardPlanAsTyped() {
        #expect(
            MountPlan.standard.map(\.description) == [
                "mount -t proc -o nosuid,nodev,noexec proc /proc",
                "mount -t sysfs -o nosuid,nodev,noexec sysfs /sys",
                "mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev",
                "mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts",
                "mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm",
                "mount -t tmpfs -o nosuid,nodev,mode=0755 run /run",
                "mount -t tmpfs -o nosuid,nodev,mode=1777 tmp /tmp",
            ])
    }

    @Test func parentsAreMountedBeforeChildren() {
        let targets = MountPlan.standard.map(\.target)
        for (index, target) in targets.enumerated() {
            for parent in targets where target.hasPrefix(parent + "/") {
                #expect(targets.firstIndex(of: parent)! < index, "\(parent) before \(target)")
            }
        }
        #expect(targets.first == "/proc")  // the mount table is read from /proc for the rest
    }

    @Test func pendingSkipsWhatIsMounted() {
        let pending = MountPlan.pending(MountPlan.standard, mounted: ["/", "/proc", "/dev"])
        #expect(pending.map(\.target) == ["/sys", "/dev/pts", "/dev/shm", "/run", "/tmp"])
        #expect(MountPlan.pending(MountPlan.standard, mounted: []).count == MountPlan.standard.count)
    }

    @Test func mountTableTargets() {
        let text = """
            rootfs / rootfs rw,size=52348k,nr_inodes=13087 0 0
            proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
            none /mnt/with\\040space tmpfs rw 0 0
            none /mnt/back\\134slash tmpfs rw 0 0

            """
        #expect(MountTable.targets(parsing: text) == ["/", "/proc", "/mnt/with space", "/mnt/back\\slash"])
    }

    @Test func mounterReportsFailuresAndCreatesMountPoints() throws {
        let tree = try TemporaryTree()
        // No such filesystem type: mount fails with ENODEV, the mount point is still created.
        let plan = [MountOperation(source: "x", target: "/a/b", type: "clumpfs-does-not-exist")]
        let (mounted, errors) = Mounter.apply(plan, root: tree.path)
        #expect(mounted.isEmpty)
        #expect(errors.count == 1)
        #expect(errors.first?.path == tree.path + "/a/b")
        #expect(errors.first?.code == ENODEV || errors.first?.code == EPERM)
        #expect(access(tree.path + "/a/b", F_OK) == 0)
    }
}
