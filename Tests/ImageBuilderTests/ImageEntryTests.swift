import Testing

@testable import ImageBuilder

@Suite struct ImageEntryPlanTests {
    @Test func synthesisesMissingParentsAndSorts() throws {
        let plan = try ImageEntryPlan.normalise(
            [
                .file("usr/lib/modules/net/e1000.ko", [1, 2, 3]),
                .file("init", text: "x", mode: 0o755),
                .directory("usr", mode: 0o700),
                .file("usr-local", text: "sorts after usr and before usr/"),
            ], operation: "test")
        #expect(
            plan.map(\.path) == [
                "init", "usr", "usr-local", "usr/lib", "usr/lib/modules", "usr/lib/modules/net",
                "usr/lib/modules/net/e1000.ko",
            ])
        // Synthesised parents: 0755 root-owned directories; given ones keep their mode.
        for entry in plan where entry.path.hasPrefix("usr/lib") && entry.isDirectory {
            #expect(entry.mode == 0o755 && entry.uid == 0 && entry.gid == 0)
        }
        #expect(plan.first { $0.path == "usr" }?.mode == 0o700)
    }

    @Test func duplicatePathNamesBothEntries() throws {
        let error = #expect(throws: ImageBuilderError.self) {
            try ImageEntryPlan.normalise(
                [.file("etc/hosts", text: "a"), .directory("etc"), .directory("etc/hosts")], operation: "test")
        }
        #expect(error?.path == "etc/hosts")
        #expect(error?.reason.contains("entry #0 (file)") == true)
        #expect(error?.reason.contains("entry #2 (directory)") == true)
    }

    @Test(arguments: [
        ("", "empty path"),
        ("/etc/hosts", "starts with"),
        ("etc//hosts", "empty component"),
        ("etc/", "empty component"),
        ("./init", "\".\" component"),
        ("etc/../init", "\"..\" component"),
    ])
    func rejectsBadPaths(path: String, expected: String) throws {
        let error = #expect(throws: ImageBuilderError.self) {
            try ImageEntryPlan.normalise([.file(path, text: "x")], operation: "test")
        }
        #expect(error?.reason.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func parentMustBeADirectory() throws {
        let error = #expect(throws: ImageBuilderError.self) {
            try ImageEntryPlan.normalise([.file("bin", text: "x"), .file("bin/sh", text: "y")], operation: "test")
        }
        #expect(error?.reason.contains("'bin' is a file") == true)
    }

    @Test func modeMustBePermissionBitsOnly() throws {
        #expect(throws: ImageBuilderError.self) {
            try ImageEntryPlan.normalise([ImageEntry(path: "x", content: .directory, mode: 0o40755)], operation: "test")
        }
    }

    @Test func errorsReadLikeSentences() {
        let error = ImageBuilderError(
            operation: "write initramfs", path: "/tmp/x", reason: "cannot open host file", errno: 2, function: "open",
            hint: "check the spec")
        let expected = """
            write initramfs '/tmp/x': cannot open host file [open: No such file or directory (errno 2)]
              hint: check the spec
            """
        #expect(error.description == expected)
    }

    @Test func builderFactoriesReadWell() {
        #expect(
            ImageBuilderError.io("refusing to overwrite", path: "/srv/clump.iso", hint: "pass --force").description
                == "refusing to overwrite '/srv/clump.iso'\n  hint: pass --force")
        #expect(
            ImageBuilderError.tool("qemu-system-x86_64", "not found on PATH").description
                == "run qemu-system-x86_64: not found on PATH")
        #expect(ImageBuilderError.io("read", path: "/x", errno: 2).description.contains("No such file or directory"))
    }
}
