import CSyscall
import Glibc
import Kernel
import XZ

/// Loads kernel modules with the kernel's own calls, as `insmod` does, no kmod needed.
///
/// Image modules are `.ko.xz`. `finit_module(fd, "", MODULE_INIT_COMPRESSED_FILE)` (Linux 6.2+
/// with CONFIG_MODULE_DECOMPRESS) lets the kernel decompress; Debian 12's kernel has neither,
/// and answers EINVAL (flag unknown) or EOPNOTSUPP (no decompressor). Then the module is
/// decompressed here with liblzma and handed over with `init_module(image, len, "")`. The first
/// answer is remembered, so the failing call is made once per boot, not once per module.
public final class ModuleLoader {
    /// `MODULE_INIT_COMPRESSED_FILE` (include/uapi/linux/module.h).
    static let compressedFileFlag: Int32 = 4

    /// What loading one module did.
    public enum Outcome: Equatable, Sendable {
        case loaded
        /// EEXIST: it was there already (loaded by a dependency race or built in).
        case alreadyLoaded
    }

    let index: ModuleIndex
    /// nil until the first compressed module tells.
    public private(set) var kernelDecompresses: Bool?

    public init(index: ModuleIndex) {
        self.index = index
    }

    /// Loads one module (its dependencies must be in already: `DriverPlan` orders them).
    public func load(_ module: KernelModule) throws -> Outcome {
        let path = index.hostPath(of: module)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DHCPError(
                .system(call: "open \(path)", errno: errno), hint: "the image's modules.dep names a missing file")
        }
        defer { close(fd) }
        let compressed = path.hasSuffix(".xz")
        if !compressed || kernelDecompresses != false {
            let result = clump_finit_module(fd, "", compressed ? Self.compressedFileFlag : 0)
            let code = errno
            if result == 0 {
                if compressed { kernelDecompresses = true }
                return .loaded
            }
            if code == EEXIST { return .alreadyLoaded }
            guard compressed && (code == EINVAL || code == EOPNOTSUPP) && kernelDecompresses == nil else {
                throw failure("finit_module", module, code)
            }
            kernelDecompresses = false
        }
        let image: [UInt8]
        do {
            image = try XZ.decompress(try Files.readAll(path), file: path)
        } catch {
            throw DHCPError(.invalid("cannot decompress module \(module.name): \(error)"))
        }
        let result = image.withUnsafeBytes { clump_init_module($0.baseAddress, $0.count, "") }
        let code = errno
        if result == 0 { return .loaded }
        if code == EEXIST { return .alreadyLoaded }
        throw failure("init_module", module, code)
    }

    private func failure(_ call: String, _ module: KernelModule, _ code: Int32) -> DHCPError {
        let hint: String?
        switch code {
        case EPERM: hint = "needs root (CAP_SYS_MODULE), and modules not disabled by sysctl"
        case ENOEXEC: hint = "the module is not for this kernel (version magic or format)"
        case ENOENT: hint = "an unknown symbol: a dependency is missing; see dmesg"
        case ENODEV: hint = "no device for it"
        default: hint = nil
        }
        return DHCPError(.system(call: "\(call) \(module.name)", errno: code), hint: hint)
    }
}
