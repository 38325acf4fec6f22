"""The exercise engine: the ``____`` placeholder, checks with hints and solutions, feedback on a raise, grading
per behaviour, the learner's progress, and text tables. Nothing here knows any lesson."""
