"""Customer-satisfaction records: surveys, complaints & praise, committee meetings, caring services."""
