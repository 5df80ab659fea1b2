"""The demonstration on the embedded default: a generated edition driven through every stage."""
