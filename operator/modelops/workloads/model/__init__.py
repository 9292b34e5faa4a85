"""The Keras model: building it, exporting it as a SavedModel, and reading a published version back."""
