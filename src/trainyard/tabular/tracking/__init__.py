"""Where runs go beyond trainyard: MLflow tracking (``mlflow.py``) and the best model as an MLflow pyfunc model
(``pyfunc_model.py``)."""
