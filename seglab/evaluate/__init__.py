"""Evaluate: internal indices, the choice of k and of a solution, stability, agreement between
labelings, and the comparison of the chosen clusters with the heuristic schemes."""
