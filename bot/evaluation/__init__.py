"""Evaluation of story quality on labelled items: reading them, serving them as feeds and
polling them as the daemon does (`newsbot eval`), and the scores (B-cubed, pairwise)."""
