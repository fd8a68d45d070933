"""Flask-free helpers every layer may use (``repo_store`` included): the standard library and
small third-party packages only, never the app."""
