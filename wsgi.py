"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""
import gc

from webapp import create_app

app = create_app()
# Everything built so far (app, routes, templates, caches' scaffolding) lives as long as the
# worker: keep it out of the cyclic collector so full collections stay short (they caused
# ~100 ms pauses in the list benchmarks).
gc.freeze()
