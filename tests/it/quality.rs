// Topic quality tests: written separately.
