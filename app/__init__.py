"""minutekeeper's shell: settings, storage, the CLI and (later) the HTTP API."""
