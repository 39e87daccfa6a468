"""Training: the trainer over the catalog, one model's job, tuning, blending, choices and the engines."""
