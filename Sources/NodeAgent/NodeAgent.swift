// NodeAgent
