// ClusterState
