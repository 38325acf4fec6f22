"""The exercise engine: the ``____`` placeholder, checks with hints and solutions, feedback on a raise, grading
per behaviour, the learner's progress, text tables, and classroom grading in sealed processes outside the
learner's kernel (grader, seal, sealed_run, nbgrader_step). Nothing here knows any lesson."""
