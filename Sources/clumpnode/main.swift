import CStartup
import NodeAgent
import XZ
_ = clump_startup_linked()
print("hello \(XZ.version)")
