"""Cluster entries into stories: one story per event, however many outlets and wordings.

The package imports nothing itself; each name is imported from the module that defines it, so
that static tools see every import and the configuration (which reads only `config`) does not
load the engine:

- `config`: `ClusterConfig`, the clustering settings;
- `item`: `ClusterItem`, one report to place, and `ItemReading`, a report read once;
- `engine`: `StoryClusterer`, the steps of placing a report (`add`);
- `index`, `scoring`, `anchors`, `checks`, `merging`: candidate lookup, the learned join
  decision, the figures and vetoes, merging story fragments;
- `story`, `presentation`: a story's state and how it presents itself;
- `features`, `facts/`: what a report says (terms, names, places, figures, parties);
- `semantic`: sentence embeddings, the optional [semantic] extra.
"""
