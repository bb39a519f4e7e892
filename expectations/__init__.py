"""Great Expectations suites, declared as lists of GE expectation objects."""
