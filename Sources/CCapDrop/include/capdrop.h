// The shim has no interface of its own: it replaces capset(2) in the process it is preloaded into.
