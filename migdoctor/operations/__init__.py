"""What a revision's ``upgrade()`` would do, learned without doing it."""
