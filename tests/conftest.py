from hypothesis import settings

pytest_plugins = ["support.cluster_plugin"]

# Property tests draw the same examples on every run: a red CI is a real failure, never a lucky draw.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")
