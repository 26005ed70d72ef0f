"""Compiled TensorFlow ops of rsmlib (hand-written): the sampler of chapter 3."""
