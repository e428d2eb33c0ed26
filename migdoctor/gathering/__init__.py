"""Reading the facts: gather them once for a run (``gather``), and read back what a run that
stopped left behind (``aftermath``). The facts themselves, frozen data, are in ``facts/``."""
