"""Architecture search for LightSpeech on the user's data and CPU (GBDT-NAS over a one-shot supernet).

* :mod:`~speechtools.nas.evaluate`: validation loss of a candidate with the supernet's shared weights;
* :mod:`~speechtools.nas.cost`: parameters, MACs and measured CPU latency of a candidate (cached);
* :mod:`~speechtools.nas.model_cost`: the same measurement of trained model directories side by side (``speechtools score cost``);
* :mod:`~speechtools.nas.predictor`: the gradient-boosted-tree predictor and Kendall's tau;
* :mod:`~speechtools.nas.search`: the search loop (``speechtools nas search``).
"""
