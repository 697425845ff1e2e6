import ClumpVersion
import ClusterView
import Glibc

// The live cluster view; all logic is in ClusterView (the drone agent runs the same code).
exit(ViewCommand.main(arguments: CommandLine.arguments, version: ClumpVersion.string))
