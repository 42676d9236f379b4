"""Text analysis shared by the matcher and the clusterer: folding, tokens, quantities."""
