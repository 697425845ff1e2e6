import ArgumentParser
import Foundation
import MasterSide

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Let a drone that waits for approval join, by the code on its console.",
        discussion: """
            A drone whose image does not carry the cluster's keys (cluster.join: approve) shows \
            `clump: waiting for approval by MASTER, code 482-913` on its console, and the running \
            `clumpbuild serve` prints the same code with the machine's MACs. Approving the code you read \
            on the console approves that very session: nobody listening on the LAN can compute it, and \
            a MAC is only what a machine claims, so approval takes the code. The machine is \
            added to the inventory if it is not there. Talks to serve over OUT/join/control.sock (root only).
            """
    )

    @Argument(help: "The code (482-913) on the machine's console.")
    var which: String?

    @Flag(name: .long, help: "List the machines that wait, with their codes.")
    var pending = false

    @Option(name: .long, help: "The output directory of the running serve.")
    var out: String = "out"

    func validate() throws {
        guard pending != (which != nil) else { throw ValidationError("name the code, or pass --pending") }
    }

    func run() throws {
        try exitOnFailure {
            print(try JoinControl.send(pending ? "pending" : "approve \(which ?? "")", outDir: out), terminator: "")
        }
    }
}

struct Deny: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refuse a drone that waits for approval (by its code or a MAC): it is told so and gets nothing.")

    @Argument(help: "The code (482-913) or a MAC of the machine.")
    var which: String

    @Option(name: .long, help: "The output directory of the running serve.")
    var out: String = "out"

    func run() throws {
        try exitOnFailure { print(try JoinControl.send("deny \(which)", outDir: out), terminator: "") }
    }
}

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shut a node out of the cluster: no more keys for it, a new key epoch for the others at once.",
        discussion: """
            Names the node by its inventory name (or a MAC). The running `clumpbuild serve` ends the node's \
            session, refuses its cards and its TPM from then on, and starts a new key epoch within seconds, \
            handed to every other joined drone over its session: about 30 s later nothing the revoked node \
            sends is accepted, and it drops out of every view. With the engine on, serve also removes it from \
            the Slurm controller (`scontrol delete`). The MUNGE key is not changed by this (see the README, \
            `Rotating keys`). `--undo` lets the machine ask to join again. Talks to serve over \
            OUT/join/control.sock (root only).
            """
    )

    @Argument(help: "The node's name in the inventory (node12), or a MAC.")
    var which: String

    @Flag(name: .long, help: "Lift the revocation: the machine may ask to join again, and is approved like any other.")
    var undo = false

    @Option(name: .long, help: "The output directory of the running serve.")
    var out: String = "out"

    func run() throws {
        try exitOnFailure { print(try JoinControl.send("\(undo ? "unrevoke" : "revoke") \(which)", outDir: out), terminator: "") }
    }
}

struct RotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Begin a new announcement-key epoch now (a key that may have leaked), without waiting for the next one.",
        discussion: """
            The running `clumpbuild serve` hands the new key to every joined drone over its session and uses it \
            3 s later; the old one is refused 30 s after that. Talks to serve over OUT/join/control.sock (root only).
            """
    )

    @Option(name: .long, help: "The output directory of the running serve.")
    var out: String = "out"

    func run() throws {
        try exitOnFailure { print(try JoinControl.send("rotate", outDir: out), terminator: "") }
    }
}
