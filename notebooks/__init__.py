"""The parameterised notebooks, shipped with the package as ``seglab.notebooks`` (data only)."""
