import Glibc

/// The one loop every module runs around libc calls: retry while a signal interrupts the call
/// (EINTR: PID 1 and the view get SIGCHLD and SIGWINCH at any time), else hand back the
/// result or the errno of the failure. Each module turns the errno into its own error type.
public enum SystemCall {
    /// `body`'s result, or the errno it failed with (-1 from the call).
    public static func retrying<Result: BinaryInteger>(_ body: () -> Result) -> Swift.Result<Result, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let code = errno
            if code != EINTR { return .failure(Errno(code)) }
        }
    }

    /// An errno value, as an Error so it fits `Result`.
    public struct Errno: Error, Equatable, Sendable {
        public let code: Int32
        public init(_ code: Int32) { self.code = code }
    }
}
