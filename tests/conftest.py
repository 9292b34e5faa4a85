pytest_plugins = ["support.cluster_plugin"]
