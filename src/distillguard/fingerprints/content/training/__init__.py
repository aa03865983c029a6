"""Build the capability corpus, train the classifier, measure it; run as ``python -m`` on this package."""
