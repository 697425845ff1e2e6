import AgentSupport
import Glibc

/// Applies a mount plan: the thin effect layer under `MountPlan`.
public enum Mounter {
    /// Mounts every operation of `plan` under `root`, creating mount points as needed. A mount
    /// point already in use (found in the mount table, or EBUSY) counts as done. Returns what
    /// is mounted, in order, for the shutdown to unmount, and the failures to show.
    public static func apply(_ plan: [MountOperation], root: String = "/") -> (
        mounted: [MountOperation], errors: [AgentError]
    ) {
        var mounted: [MountOperation] = []
        var errors: [AgentError] = []
        for operation in plan {
            let target = rooted(root, operation.target)
            // Before /proc is mounted there is no table to read: nothing is mounted then.
            let table = (try? MountTable.read()) ?? []
            if table.contains(target) {
                mounted.append(operation)
                continue
            }
            do {
                try SystemFile.makeDirectories(target, mode: operation.directoryMode)
                try syscall("mount", path: target) {
                    mount(operation.source, target, operation.type, operation.flags, operation.data)
                }
                mounted.append(operation)
            } catch let error as AgentError where error.code == EBUSY {
                mounted.append(operation)
            } catch let error as AgentError {
                errors.append(AgentError(operation: "mount -t " + operation.type, path: target, code: error.code))
            } catch {
                errors.append(AgentError(operation: "mount -t " + operation.type, path: target, hint: "\(error)"))
            }
        }
        return (mounted, errors)
    }
}
