import AgentSupport
import Glibc

@testable import NodeAgent

/// A fixture directory tree under /tmp, removed when the value goes away.
final class TemporaryTree {
    let path: String

    init(files: [String: String] = [:]) throws {
        var template = Array("/tmp/nodeagent-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw AgentError(operation: "mkdtemp", code: errno)
        }
        path = String(cString: created)
        for (name, content) in files { try write(name, content) }
    }

    func write(_ name: String, _ content: String) throws {
        let file = path + "/" + name
        if let slash = file.lastIndex(of: "/") { try SystemFile.makeDirectories(String(file[..<slash])) }
        let fd = try syscall("open", path: file) { open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try SystemFile.writeAll(fd, content, path: file)
    }

    deinit { Self.remove(path) }

    /// `rm -r` with opendir/readdir (nftw is not in Swift's Glibc module).
    private static func remove(_ path: String) {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                remove(path + "/" + name)
            }
            closedir(directory)
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
