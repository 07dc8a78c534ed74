"""The pairwatch web dashboard: a Dash Pages app plus a JSON/CSV API on the same Flask server.

``create_app(settings)`` in :mod:`dashboard.app` is the only entry point; the pages live in
``dashboard/pages/`` and read data exclusively through :mod:`dashboard.services`.
"""
