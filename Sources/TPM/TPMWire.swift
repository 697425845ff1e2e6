/// TPM 2.0's wire format (TCG TPM 2.0 Library, Part 1 §18 and Part 2): big-endian integers,
/// `TPM2B` byte strings with a 16-bit length, and commands with a header, handles, an
/// authorisation area when they have sessions, and parameters.
struct TPMCommand {
    /// `TPM_ST_NO_SESSIONS` and `TPM_ST_SESSIONS`.
    static let noSessions: UInt16 = 0x8001
    static let sessions: UInt16 = 0x8002

    private(set) var handles: [UInt8] = []
    private(set) var authorisations: [UInt8] = []
    private(set) var parameters: [UInt8] = []
    private var sessionCount = 0
    let code: UInt32

    init(_ code: UInt32) { self.code = code }

    mutating func handle(_ value: UInt32) { handles.append32(value) }

    /// The password session (`TPM_RS_PW`) with an empty password: what the hierarchies and keys
    /// made without an auth value take.
    mutating func passwordSession() { session(TPMHandle.passwordSession) }

    /// A session's authorisation: no nonce, `continueSession`, no HMAC (a policy session whose policy needs none).
    mutating func session(_ handle: UInt32) {
        authorisations.append32(handle)
        authorisations.append16(0)
        authorisations.append(0x01)
        authorisations.append16(0)
        sessionCount += 1
    }

    mutating func parameter(_ build: (inout [UInt8]) -> Void) { build(&parameters) }

    var bytes: [UInt8] {
        var body = handles
        if sessionCount > 0 {
            body.append32(UInt32(authorisations.count))
            body += authorisations
        }
        body += parameters
        var out: [UInt8] = []
        out.append16(sessionCount > 0 ? Self.sessions : Self.noSessions)
        out.append32(UInt32(10 + body.count))
        out.append32(code)
        return out + body
    }
}

/// TPM 2.0 structures read front to back, every read checked against the bytes there are: a
/// response's body, or a public area a drone sent the master.
public struct TPMReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], from offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func u16() throws -> UInt16 {
        let part = Array(try take(2))
        return UInt16(part[0]) << 8 | UInt16(part[1])
    }

    public mutating func u32() throws -> UInt32 {
        Array(try take(4)).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A `TPM2B`'s contents.
    public mutating func sized() throws -> [UInt8] { Array(try take(Int(try u16()))) }

    /// A `TPM2B` as it is on the wire, its length included (how tools keep a public area in a file).
    public mutating func sizedWithLength() throws -> [UInt8] {
        let start = offset
        _ = try sized()
        return Array(bytes[start..<offset])
    }

    public mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, offset + count <= bytes.count else {
            throw TPMError("a TPM structure cut short (\(bytes.count) bytes, \(offset + count) wanted)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}

/// A response: its code, and its body (handles, then parameters) to read.
struct TPMResponse {
    let code: UInt32
    /// Whether the command had sessions, so the parameters are preceded by their size.
    let withSessions: Bool
    var body: TPMReader

    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 10 else { throw TPMError("a TPM response of \(bytes.count) bytes, shorter than its header") }
        withSessions = (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) == TPMCommand.sessions
        code = UInt32(bytes[6]) << 24 | UInt32(bytes[7]) << 16 | UInt32(bytes[8]) << 8 | UInt32(bytes[9])
        body = TPMReader(bytes, from: 10)
    }

    /// The parameter size that follows the handles of a response to a command with sessions.
    mutating func skipParameterSize() throws { if withSessions { _ = try body.u32() } }
}

extension Array where Element == UInt8 {
    public mutating func append16(_ value: UInt16) { append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)]) }
    public mutating func append32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
    /// A `TPM2B`: the length, then the bytes.
    public mutating func appendSized(_ bytes: [UInt8]) {
        append16(UInt16(bytes.count))
        append(contentsOf: bytes)
    }
}

/// The constants of TPM 2.0 Part 2 this module uses.
enum TPMHandle {
    static let passwordSession: UInt32 = 0x4000_0009
    static let null: UInt32 = 0x4000_0007
    static let endorsement: UInt32 = 0x4000_000B
}

enum TPMCode {
    static let createPrimary: UInt32 = 0x131
    static let activateCredential: UInt32 = 0x147
    static let policySecret: UInt32 = 0x151
    static let flushContext: UInt32 = 0x165
    static let startAuthSession: UInt32 = 0x176
}

enum TPMAlgorithm {
    static let rsa: UInt16 = 0x0001
    static let sha256: UInt16 = 0x000B
    static let aes: UInt16 = 0x0006
    static let null: UInt16 = 0x0010
    static let ecdsa: UInt16 = 0x0018
    static let ecc: UInt16 = 0x0023
    static let cfb: UInt16 = 0x0043
}
