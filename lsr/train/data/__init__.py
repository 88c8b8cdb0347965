"""Where training examples come from: mined hard negatives, teacher scores, and pseudo-queries made
from a corpus alone. Every producer here returns :class:`~lsr.train.examples.TrainingExample`."""
