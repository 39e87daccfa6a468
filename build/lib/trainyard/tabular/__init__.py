"""The tabular wing: from a table and a target to a ranked, validated, saved and served model.

    recipe, split, metrics, leaderboard   what to do, which rows score, how, and the ranking
    prep/        the preprocessing steps a recipe turns into one scikit-learn pipeline per model
    models/      the catalog of estimators, and the ensemble of fitted pipelines
    training/    the trainer, the one-model job, tuning, blending, choices, the engines
    runs/        a run on disk: save, load (safe types only), check rows, predict
    report/      the HTML and Markdown report of a run
    serve/       a run behind an HTTP API

The public names are re-exported by ``trainyard``; everything here is internal.
"""
