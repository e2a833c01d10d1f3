"""Figures of training and of the network's insides (optional ``plot`` extra: matplotlib).

matplotlib is imported inside each function, on the Agg backend, so ``import deltaprop.plots``
works without it; every function takes the objects to draw and an optional ``path``, saves the
image there when given, and returns the matplotlib ``Figure``.

- :func:`plot_history`: loss and metric curves, train and validation;
- :func:`plot_decision_boundary`: the 2-D decision regions with the data;
- :func:`plot_layer_stats`: gradient norms, dead ReLUs and saturated sigmoids per layer across
  epochs, from a :class:`LayerStats` callback;
- :func:`plot_weight_histograms`, :func:`plot_confusion_matrix`;
- :func:`plot_predicted_vs_actual`: a regression model's predictions against the targets.
"""

from .boundary import class_probabilities, plot_decision_boundary
from .curves import plot_history
from .diagnostics import plot_confusion_matrix, plot_layer_stats, plot_weight_histograms
from .regression import plot_predicted_vs_actual
from .stats import LayerStats

__all__ = ["LayerStats", "class_probabilities", "plot_confusion_matrix",
           "plot_decision_boundary", "plot_history", "plot_layer_stats",
           "plot_predicted_vs_actual", "plot_weight_histograms"]
