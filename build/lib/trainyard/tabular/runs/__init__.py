"""A run on disk: saved atomically with a file list, loaded with trusted types only, and used to predict."""
