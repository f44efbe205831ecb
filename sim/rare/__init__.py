"""Rare-event estimation: loss probabilities at real failure rates, with intervals (docs/rare-events.md).

- processes.py: the configuration's Poisson fault processes (the chaos kinds and their rates);
- importance.py: importance sampling by failure biasing (biased chaos rates, likelihood ratios);
- windows.py: conditional Monte Carlo over fault windows (one fault at a time, from the steady state);
- weighted.py: estimates from weighted replications;
- choose.py: which method `auto` picks, and why.
"""
