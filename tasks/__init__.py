"""medprep tasks: pure, typed functions wrapped as Prefect tasks."""
