"""Reference solutions, one module per lesson (``SOLUTIONS``, by exercise class name), and the capstone's hidden
cases: everything a classroom build leaves out of what students get."""
