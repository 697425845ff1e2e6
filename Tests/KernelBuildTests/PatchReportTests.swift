import Testing

@testable import KernelBuild

@Suite struct PatchReportTests {
    static let patch = """
        From: clump
        Subject: banner

        --- a/init/main.c
        +++ b/init/main.c
        @@ -10,3 +10,4 @@ first
         a
        +b
         c
        @@ -900,6 +901,7 @@ void start_kernel(void)
         x
        +y
         z
        --- a/init/version.c\t2024-01-01
        +++ b/init/version.c\t2024-01-01
        @@ -1,1 +1,2 @@
         q
        +r
        """

    @Test("a failing hunk is named by file, number and its @@ header")
    func failingHunk() {
        let output = """
            checking file init/main.c
            Hunk #2 FAILED at 900.
            1 out of 2 hunks FAILED
            checking file init/version.c
            """
        let report = PatchReport(output: output, patch: Self.patch)
        #expect(!report.applies)
        #expect(
            report.failures == [
                .init(file: "init/main.c", hunk: 2, line: 900, header: "@@ -900,6 +901,7 @@ void start_kernel(void)")
            ])
        #expect(report.summary == "init/main.c hunk #2 (@@ -900,6 +901,7 @@ void start_kernel(void)) FAILED at line 900")
    }

    @Test("the second file's hunks are counted from 1 again")
    func secondFile() {
        let report = PatchReport(output: "patching file init/version.c\nHunk #1 FAILED at 1.\n", patch: Self.patch)
        #expect(report.failures.first?.header == "@@ -1,1 +1,2 @@")
    }

    @Test("a file the tree does not have is named")
    func missingFile() {
        let output = "can't find file to patch at input line 5\nPerhaps you used the wrong -p or --strip option?\n"
        let report = PatchReport(output: output, patch: Self.patch)
        #expect(report.missingFiles == ["init/main.c", "init/version.c"])
        #expect(!report.applies)
    }

    @Test("clean output applies")
    func clean() {
        #expect(PatchReport(output: "checking file init/main.c\n", patch: Self.patch).applies)
    }
}
