"""How MediTrack is served: gunicorn's settings and the worker that reads requests."""
