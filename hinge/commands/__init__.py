"""Subcommands of ``hinge``: name -> the one line ``hinge --help`` shows, in its order.

Each name is a module here whose ``register(subparsers)`` adds the command's parser and
sets ``func(args) -> int``. ``hinge.cli`` imports only the module of the command being run,
so ``hinge --help`` and ``hinge --version`` load none of them (numpy, pandas, bleak, Qt).
"""

COMMANDS: dict[str, str] = {
    "demo": "two virtual sensors carry a simulated set through the whole live path",
    "stream": "live session from the thigh and lumbar sensors (or --virtual ones)",
    "scan": "list sensors in range (name, address, driver, RSSI)",
    "replay": "replay a recording through the live pipeline (window, or --headless lines)",
    "analyze": "analyse recordings: one row per rep (knees or hips first) and the set summary",
    "log": "the training log: every session kept; trend across weeks, export",
    "report": "write one HTML file of a recording's analysis, to send to a coach (opens offline)",
    "fuse": "orientation quaternions of one sensor CSV (vqf)",
    "simulate": "write a recording of the virtual lifter plus its truth",
}
