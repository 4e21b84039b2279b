"""Similarity evidence for an instructor to review: never a grade, never a verdict.

Four kinds of evidence, each ranked within the class it comes from:

- :mod:`.normalise` and :mod:`.fingerprint`: each submission's code as grading
  loads it, tokenised with names and literals normalised and comments dropped,
  then fingerprinted by winnowing (Schleimer, Wilkerson and Aiken, 2003, the
  method of MOSS and copydetect). :mod:`.index` subtracts the template, keeps
  an inverted index of fingerprints and scores only the pairs that share rare
  ones.
- :mod:`.wrong_answers`: the same rare wrong reply on the same hidden case.
- :mod:`.exam_variants`: an exam answer wrong for the student's own paper but
  right for a classmate's.
- :mod:`.recurring`: pairs that come back across assignments, with times.

:mod:`.report` writes the pages an instructor reads.
"""
