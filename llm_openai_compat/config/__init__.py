"""Settings file, key references, default params and vendor profiles."""
