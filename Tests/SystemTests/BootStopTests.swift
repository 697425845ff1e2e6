import Foundation
import Testing
import TestSupport

/// `clumpbuild boot` must never leave QEMU running once it stops itself, whatever stops it.
/// A stand-in `qemu-system-x86_64` on PATH prints console lines for ever and leaves its PID,
/// so each way of stopping is checked in well under a second of QEMU time.
@Suite("clumpbuild boot stops QEMU")
struct BootStopTests {
    struct FakeQEMU {
        let directory: String
        var pidFile: String { directory + "/qemu.pid" }
        var path: String { directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") }

        /// `ignoreTerm`: it shrugs SIGTERM off, as a wedged QEMU can.
        init(ignoreTerm: Bool = false) throws {
            directory = try Harness.scratch("fake-qemu")
            let script = """
                #!/bin/bash
                # QEMU ignores SIGPIPE: with its console gone it runs on.
                trap '' PIPE
                \(ignoreTerm ? "trap '' TERM" : "")
                echo $$ > \(directory)/qemu.pid
                while :; do echo "[    1.000000] console line from the guest" 2>/dev/null; sleep 0.01; done
                """
            // Written by a child process: a file this process has open for writing can leak into
            // a child another test forks meanwhile, and exec'ing the file then fails (ETXTBSY).
            try script.write(toFile: directory + "/qemu.txt", atomically: true, encoding: .utf8)
            try Spawn.run(["install", "-m", "755", directory + "/qemu.txt", directory + "/qemu-system-x86_64"])
            try "".write(toFile: directory + "/x.iso", atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        /// The stand-in's PID once it has started.
        func pid(within seconds: Double = 10) throws -> pid_t {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                    let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
                {
                    return pid
                }
                usleep(10_000)
            }
            throw HarnessError("the stand-in QEMU never started")
        }

        func isRunning(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }
    }

    private func boot(_ fake: FakeQEMU, _ extra: [String] = []) throws -> [String] {
        ["/usr/bin/env", "PATH=" + fake.path, try Harness.clumpbuild, "boot", fake.directory + "/x.iso"] + extra
    }

    @Test("the reader of its output going away (| head) stops QEMU; exit 141 as for SIGPIPE")
    func closedOutput() throws {
        let fake = try FakeQEMU()
        defer { fake.remove() }
        let line = try boot(fake).map { "'\($0)'" }.joined(separator: " ")
        let (status, output) = try Spawn.capture(
            ["/bin/bash", "-c", "set -o pipefail; \(line) | head -c 300 >/dev/null; echo status=${PIPESTATUS[0]}"],
            timeout: 30)
        #expect(status == 0, "\(output)")
        #expect(output.contains("status=141"), "\(output)")
        let pid = try fake.pid()
        #expect(!fake.isRunning(pid), "the stand-in QEMU (pid \(pid)) outlived clumpbuild boot")
    }

    @Test("SIGTERM stops QEMU; exit 143")
    func terminated() throws {
        let fake = try FakeQEMU()
        defer { fake.remove() }
        let log = fake.directory + "/console.log"
        let boot = try Spawn.start(try boot(fake), output: log)
        let pid = try fake.pid()
        kill(boot, SIGTERM)
        #expect(Spawn.wait(boot, timeout: 10) == 143)
        #expect(!fake.isRunning(pid), "the stand-in QEMU (pid \(pid)) outlived clumpbuild boot")
    }

    @Test("the time limit stops a QEMU that ignores SIGTERM with SIGKILL; exit 124")
    func timeLimit() throws {
        let fake = try FakeQEMU(ignoreTerm: true)
        defer { fake.remove() }
        let (status, output) = try Spawn.capture(try boot(fake, ["--timeout", "1"]), timeout: 30)
        #expect(status == 124, "\(output.suffix(500))")
        let pid = try fake.pid()
        #expect(!fake.isRunning(pid), "the stand-in QEMU (pid \(pid)) outlived clumpbuild boot")
    }
}
