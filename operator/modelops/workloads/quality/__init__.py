"""Quality metrics and the paired test that compares two versions on the same rows."""
