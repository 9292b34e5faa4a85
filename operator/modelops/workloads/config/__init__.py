"""Reading a stage's config file strictly: every problem names the key's full path."""
