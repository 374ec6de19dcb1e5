"""Interpret: the chosen segmentation in business words: profiles, names, rules, personas, maps,
and how customers moved since the previous period."""
