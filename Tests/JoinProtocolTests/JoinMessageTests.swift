import AgentSupport
import Testing

@testable import JoinProtocol

@Suite("join messages")
struct JoinMessageTests {
    @Test("a hello, each reply and the image's settings round-trip through their text")
    func roundTrips() throws {
        let hello = JoinHello(
            macs: ["52:54:00:12:34:56", "52:54:00:12:34:57"], uuid: "8c2f0a7e-0000-4000-8000-000000000001", serial: "ABC 123",
            address: "10.66.0.200")
        let read = try #require(JoinMessage.parse(hello.message.bytes).flatMap(JoinHello.init))
        #expect(read.macs == hello.macs)
        #expect(read.serial == "ABC123", "spaces dropped from firmware strings")
        #expect(read.address == "10.66.0.200")
        #expect(read.tpm == nil)

        // With a TPM: its endorsement key's public area and the attestation key's name, and the fingerprint of the first.
        var bound = hello
        bound.tpm = (Array(repeating: 0x11, count: 316), [0x00, 0x0B] + Array(repeating: 0x22, count: 32))
        let withTPM = try #require(JoinMessage.parse(bound.message.bytes).flatMap(JoinHello.init))
        #expect(withTPM.tpm?.endorsementKey == bound.tpm?.endorsementKey && withTPM.tpm?.attestationName == bound.tpm?.attestationName)
        #expect(withTPM.tpmFingerprint == "sha256:" + Hex.encode(SHA256.hash(Array(repeating: UInt8(0x11), count: 316))))
        // Half a TPM, or one too big, makes no hello.
        let base = "hello 1\nmac 52:54:00:00:00:01\n"
        #expect(JoinMessage.parse(Array((base + "tpm-ek 0011\n").utf8)).flatMap(JoinHello.init) == nil)
        #expect(JoinMessage.parse(Array((base + "tpm-ek zz\ntpm-ak 000b\n").utf8)).flatMap(JoinHello.init) == nil)
        let huge = String(repeating: "00", count: 1025)
        #expect(JoinMessage.parse(Array((base + "tpm-ek \(huge)\ntpm-ak 000b\n").utf8)).flatMap(JoinHello.init) == nil)

        let welcome = JoinReply.welcome(
            .init(approvedBy: "operator", clusterKey: Array(repeating: 7, count: 32), mungeKey: Array(repeating: 9, count: 128),
                  name: "node12"))
        for reply in [
            welcome, .wait(code: "482-913"), .refused(reason: "another TPM than recorded"),
            .challenge(credential: [0, 2, 1, 2], secret: [0, 1, 9]),
        ] {
            #expect(JoinMessage.parse(reply.message.bytes).flatMap(JoinReply.init) == reply)
        }
        #expect(JoinMessage.parse(JoinProof.message([1, 2, 3]).bytes).flatMap(JoinProof.recovered) == [1, 2, 3])
        let settings = JoinSettings(master: "10.66.0.1", masterKey: Array(repeating: 3, count: 32))
        #expect(JoinSettings.parse(settings.text) == settings)
        #expect(JoinSettings.parse("master 10.66.0.1\nport 7078\nkey 00\n") == nil)
    }

    @Test("binary, empty or nameless messages are not messages; a hello with no card or too long a value is no hello")
    func malformed() {
        #expect(JoinMessage.parse([0xFF, 0x00]) == nil)
        #expect(JoinMessage.parse([]) == nil)
        #expect(JoinMessage.parse(Array("hello 1\n mac x\n".utf8)) == nil)
        #expect(JoinMessage.parse(Array("hello 1\n".utf8)).flatMap(JoinHello.init) == nil)
        #expect(JoinMessage.parse(Array("hello 2\nmac 52:54:00:00:00:01\n".utf8)).flatMap(JoinHello.init) == nil)
        let long = String(repeating: "a", count: 200)
        #expect(JoinMessage.parse(Array("hello 1\nmac \(long)\n".utf8)).flatMap(JoinHello.init) == nil)
        #expect(JoinMessage.parse(Array("welcome operator\ncluster-key 00\n".utf8)).flatMap(JoinReply.init) == nil)
    }

    @Test("frames: split across reads, several in one read, and one over the maximum is an error")
    func frames() throws {
        var reader = FrameReader()
        let bytes = FrameReader.frame([1, 2, 3]) + FrameReader.frame([4])
        reader.append(bytes.prefix(2))
        #expect(try reader.next() == nil)
        reader.append(bytes.dropFirst(2))
        #expect(try reader.next() == [1, 2, 3])
        #expect(try reader.next() == [4])
        #expect(try reader.next() == nil)
        reader.append([0xFF, 0xFF])
        #expect(throws: JoinError.self) { try reader.next() }
    }

    @Test("the master's key file: 64 hex digits and a newline, read back to the same pair")
    func keyFile() throws {
        let pair = KeyPair.generate()
        #expect(JoinKeyFile.keyPair(from: JoinKeyFile.contents(of: pair)) == pair)
        #expect(JoinKeyFile.keyPair(from: Array("abc\n".utf8)) == nil)
    }
}
