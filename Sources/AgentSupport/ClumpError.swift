/// Every module's error type: a description written as a person would write it (what failed,
/// the file:line or interface it was about, and a hint on its own line), and the exit status a
/// command ends with. Each executable catches it once, at its edge (`ErrorEdge`).
public protocol ClumpError: Error, CustomStringConvertible {
    /// 2 for input the user must fix (a spec, an inventory, a command line), 130 for an
    /// interruption, 1 for everything else.
    var exitCode: Int32 { get }
}

extension ClumpError {
    public var exitCode: Int32 { 1 }
}

/// How an executable reports the error that ends it: one line `PROGRAM: DESCRIPTION` (the
/// description may go on with hint lines) and an exit status. An error of no module of ours
/// (a library's, the system's) still gets its own words and status 1, never a bare type name.
public enum ErrorEdge {
    public static func report(_ error: any Error, program: String) -> (text: String, exitCode: Int32) {
        if let error = error as? any ClumpError { return ("\(program): \(error.description)", error.exitCode) }
        return ("\(program): \(String(describing: error))", 1)
    }
}
