pytest_plugins = ["perf.pytest_plugin.plugin"]
