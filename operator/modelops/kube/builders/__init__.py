"""Pure functions turning (owner, spec, action) into Kubernetes manifest dicts; no API calls here."""
