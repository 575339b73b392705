"""Version numbers of what hinge computes, in a module that imports nothing.

``ANALYSIS_VERSION`` is bumped whenever a change to the analysis (angles, rep detection,
measures, set summary) changes its results. The training log stores it with every session,
and ``hinge log reanalyse`` re-runs the sessions an older one produced; reading it costs no
numpy or pandas (``hinge log`` marks such sessions).
"""

ANALYSIS_VERSION = 1
