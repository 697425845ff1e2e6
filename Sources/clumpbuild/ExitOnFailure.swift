import AgentSupport
import ArgumentParser
import Foundation

/// The one place clumpbuild's errors reach the user: every module's error (`ClumpError`) as its
/// own sentence with its hint, and the exit status it asks for (2 for a spec or inventory to
/// fix, 130 for an interrupted kernel build, 1 otherwise). ArgumentParser's own outcomes
/// (`--help`, exit codes, validation) go back to it untouched.
func exitOnFailure(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as any ClumpError {
        let (text, code) = ErrorEdge.report(error, program: "clumpbuild")
        FileHandle.standardError.write(Data((text + "\n").utf8))
        throw ExitCode(code)
    } catch {
        // A library's or the system's error: its own localised words where it has them, as
        // ArgumentParser would print them, under our prefix.
        let words = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        let (text, code) = ErrorEdge.report(ForeignError(description: words), program: "clumpbuild")
        FileHandle.standardError.write(Data((text + "\n").utf8))
        throw ExitCode(code)
    }
}

/// An error of no module of ours, in its own words.
private struct ForeignError: ClumpError {
    var description: String
}
