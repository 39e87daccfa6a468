"""Preprocessors: numbers hidden in text, encoders, features, and recipes built from the Schema."""
