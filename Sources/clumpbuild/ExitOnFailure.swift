import ArgumentParser
import Foundation
import ImageBuilder
import ImageSpec
import KernelBuild
import MasterSide

/// Prints our errors the way a person would write them and maps them to exit codes:
/// 2 for a bad spec (the user's input), 1 for everything else.
func exitOnFailure(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as SpecError {
        FileHandle.standardError.write(Data("clumpbuild: \(error)\n".utf8))
        throw ExitCode(2)
    } catch let error as ImageBuilderError {
        FileHandle.standardError.write(Data("clumpbuild: \(error)\n".utf8))
        throw ExitCode(1)
    } catch let error as KernelBuildError {
        FileHandle.standardError.write(Data("clumpbuild: \(error)\n".utf8))
        throw ExitCode(error.step == "interrupted" ? 130 : 1)
    } catch let error as MasterSideError {
        FileHandle.standardError.write(Data("clumpbuild: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
