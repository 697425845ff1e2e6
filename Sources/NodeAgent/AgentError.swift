import AgentSupport

/// Why the agent could not do something: the call that failed, the file or device it was about,
/// the errno and a hint (the agent's name for AgentSupport's `OperationError`, which every
/// `syscall` here throws).
public typealias AgentError = OperationError
