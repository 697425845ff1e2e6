import Glibc
import Testing

@testable import NodeAgent

@Suite struct ShutdownPlanTests {
    @Test func powerOffInOrder() {
        let steps = ShutdownPlan.steps(for: .powerOff, mounted: MountPlan.standard)
        #expect(
            steps == [
                .announce("clump: powering off"),
                .signalAll(SIGTERM),
                .reap(milliseconds: 2000),
                .signalAll(SIGKILL),
                .reap(milliseconds: 1000),
                .reopenConsoles,
                .sync,
                .unmount("/tmp"), .unmount("/run"), .unmount("/dev/shm"), .unmount("/dev/pts"),
                .unmount("/dev"), .unmount("/sys"), .unmount("/proc"),
                .reboot(.powerOff),
            ])
    }

    @Test(arguments: ShutdownKind.allCases)
    func everyKindAnnouncesFirstAndRebootsLast(kind: ShutdownKind) {
        let steps = ShutdownPlan.steps(for: kind, mounted: MountPlan.standard)
        #expect(steps.first == .announce(kind.announcement))
        #expect(steps.last == .reboot(kind))
        // TERM before KILL before sync before any unmount
        let term = steps.firstIndex(of: .signalAll(SIGTERM))!
        let kill = steps.firstIndex(of: .signalAll(SIGKILL))!
        let reopen = steps.firstIndex(of: .reopenConsoles)!
        let sync = steps.firstIndex(of: .sync)!
        let firstUnmount = steps.firstIndex { if case .unmount = $0 { true } else { false } }!
        #expect(term < kill && kill < reopen && reopen < sync && sync < firstUnmount)
    }

    @Test func unmountsOnlyWhatWasMountedInReverse() {
        let mounted = [MountPlan.standard[0], MountPlan.standard[2]]
        let unmounts = ShutdownPlan.steps(for: .reboot, mounted: mounted).compactMap { step -> String? in
            if case .unmount(let target) = step { target } else { nil }
        }
        #expect(unmounts == ["/dev", "/proc"])
    }

    @Test func haltSaysHaltedJustBeforeTheEnd() {
        let steps = ShutdownPlan.steps(for: .halt, mounted: [])
        #expect(steps.suffix(2) == [.announce("clump: halted"), .reboot(.halt)])
        #expect(ShutdownPlan.steps(for: .reboot, mounted: []).contains(.announce("clump: halted")) == false)
    }

    @Test(arguments: [
        (ShutdownKind.halt, "clump: halting", Int32(bitPattern: 0xCDEF_0123)),
        (.powerOff, "clump: powering off", 0x4321_FEDC),
        (.reboot, "clump: rebooting", 0x0123_4567),
    ])
    func kinds(kind: ShutdownKind, announcement: String, command: Int32) {
        #expect(kind.announcement == announcement)
        #expect(kind.rebootCommand == command)
    }
}

@Suite struct SignalMapTests {
    @Test(arguments: [
        (SIGCHLD, SignalAction.reapChildren),
        (SIGUSR1, .shutdown(.halt)),  // busybox halt
        (SIGUSR2, .shutdown(.powerOff)),  // busybox poweroff
        (SIGTERM, .shutdown(.reboot)),  // busybox reboot
        (SIGINT, .shutdown(.reboot)),  // ctrl-alt-del after RB_DISABLE_CAD
        (SIGPWR, .shutdown(.powerOff)),
        (SIGHUP, .ignore),
        (SIGQUIT, .ignore),
    ])
    func action(signal: Int32, expected: SignalAction) {
        #expect(SignalMap.action(for: signal) == expected)
    }

    @Test func everyActingSignalIsHandled() {
        for signal in Int32(1)...Int32(64) where SignalMap.action(for: signal) != .ignore {
            #expect(SignalMap.handled.contains(signal), "signal \(signal)")
        }
    }
}
