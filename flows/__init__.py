"""medprep Prefect flows and the `medprep` command line."""
