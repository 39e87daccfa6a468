"""The catalog of models, their early stopping, the torch MLP and the ensemble estimator."""
