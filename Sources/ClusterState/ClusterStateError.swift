import AgentSupport

/// Why ClusterState could not do something: the step, the file or address, the errno, a hint
/// (ClusterState's name for AgentSupport's `OperationError`, which its `syscall`s throw).
public typealias ClusterStateError = OperationError
