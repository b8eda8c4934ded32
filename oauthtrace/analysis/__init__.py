"""Analysis: classify hops, join them into exchanges, run the rules. Pure functions over the model."""
